"""Colourize dock: controls per backend, 'keep previous results', live mode cancelling a running job."""

import threading
import time

import numpy as np
import pytest

from napari_semcolor._widgets.hints_layer import HINT_FEATURE
from napari_semcolor.backends import get_spec
from napari_semcolor.color import image_to_lab


def _dock_options(backend: str) -> set[str]:
    """The controls the dock makes for a backend's options: one per option not marked advanced."""
    return {f"{backend}.{o.name}" for o in get_spec(backend).options if not o.advanced}


DIFFUSION_OPTIONS, EECNN_OPTIONS, NST_OPTIONS = (_dock_options(b) for b in ("diffusion", "eecnn", "nst"))
OTHER_OPTIONS = EECNN_OPTIONS | NST_OPTIONS


def _shown(widget) -> bool:
    return not widget.native.isHidden()  # the viewer is not shown in tests, so ask "hidden?"


@pytest.mark.parametrize(
    "backend, shown, hidden",
    [
        ("propagate", {"live"}, {"reference", "samples", "seed", "device", *DIFFUSION_OPTIONS, *OTHER_OPTIONS}),
        ("eecnn", {"samples", "device", "live", *EECNN_OPTIONS}, {"reference", "seed", *DIFFUSION_OPTIONS, *NST_OPTIONS}),
        ("nst", {"reference", "seed", "device", "live", *NST_OPTIONS}, {"samples", *DIFFUSION_OPTIONS, *EECNN_OPTIONS}),
        ("diffusion", {"samples", "seed", "device", *DIFFUSION_OPTIONS}, {"reference", "live", *OTHER_OPTIONS}),
    ],
)
def test_backend_options_appear_only_for_their_backend(docked, backend, shown, hidden):
    viewer, image, points, widget = docked
    controls = {name: getattr(widget, name) for name in ("reference", "samples", "seed", "device", "live")}
    for name in ("propagate", "eecnn", "nst", "diffusion"):  # each backend's controls, generated from its spec
        controls.update({f"{name}.{option}": w for option, w in widget.backend_options.controls(name).items()})
    for other in ("diffusion", "nst", "propagate"):  # visibility follows every switch, not just the first
        widget.backend.value = other
        widget.backend.value = backend
        assert {n for n, w in controls.items() if _shown(w)} == shown
        assert {n for n, w in controls.items() if not _shown(w)} == hidden
    for always in (widget.image, widget.hints, widget.labels_layer, widget.run_button, widget.keep_previous):
        assert _shown(always)


def test_stack_control_only_for_images_with_planes(docked):
    viewer, image, points, widget = docked
    assert not _shown(widget.planes)  # a 2D image: nothing to choose
    stack = viewer.add_image(np.stack([image.data, image.data]), name="stack")
    widget.image.value = stack
    assert _shown(widget.planes)
    rgb = viewer.add_image(np.zeros((8, 9, 3), np.uint8), name="rgb", rgb=True)
    widget.image.value = rgb
    assert not _shown(widget.planes)  # RGB: the last axis is colour, not planes


def test_hidden_options_are_not_sent_to_the_core(docked):
    viewer, image, points, widget = docked
    widget.samples.value = 4
    diffusion = widget.backend_options.controls("diffusion")
    diffusion["steps"].value = 3
    diffusion["temperature"].value = 0.3
    widget.backend.value = "propagate"
    job = widget._collect()
    assert job["n_samples"] == 1 and job["options"] == {}  # propagate would repeat one result 4 times
    widget.backend.value = "diffusion"
    job = widget._collect()
    assert job["n_samples"] == 4
    assert job["options"] == {"steps": 3, "sampler": "dpmpp_2m", "guidance": 1.0, "temperature": pytest.approx(0.3), "explore": 0.6}


def test_auto_temperature_is_left_to_the_backend(docked):
    viewer, image, points, widget = docked
    widget.backend.value = "diffusion"
    temperature = widget.backend_options.controls()["temperature"]
    assert temperature.value is None and temperature.native.text() == "auto"
    assert "temperature" not in widget._collect()["options"]  # 0.6 with hints, 1 without: the backend decides


def test_choosing_a_slow_backend_turns_live_mode_off(docked):
    viewer, image, points, widget = docked
    assert not get_spec("diffusion").live
    widget.live.value = True
    assert widget._live_layer is points
    widget.backend.value = "diffusion"
    assert not widget.live.value and widget._live_layer is None


def test_rerun_updates_in_place_unless_keep_previous_results(docked, qtbot):
    viewer, image, points, widget = docked
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    first = viewer.layers["sem (propagate)"]
    first_data = first.data.copy()
    points.features[HINT_FEATURE] = ["#808080"] * len(points.data)  # all gray: a different result
    widget.run()
    qtbot.waitUntil(lambda: not np.array_equal(first.data, first_data) and widget.run_button.enabled, timeout=30_000)
    assert [layer.name for layer in viewer.layers] == ["sem", "hints", "sem (propagate)"]
    assert viewer.layers["sem (propagate)"] is first  # the same layer, updated

    widget.keep_previous.value = True
    kept = first.data.copy()
    points.features[HINT_FEATURE] = ["#e61a1a"] * len(points.data)  # all red now
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate) run 2" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate) run 3" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    assert [layer.name for layer in viewer.layers] == ["sem", "hints", "sem (propagate)", "sem (propagate) run 2", "sem (propagate) run 3"]
    np.testing.assert_array_equal(first.data, kept)  # the earlier result is kept as it was
    new = viewer.layers["sem (propagate) run 2"]
    assert np.median(image_to_lab(new.data)[..., 1]) > np.median(image_to_lab(kept)[..., 1]) + 5  # red, not gray
    np.testing.assert_allclose(new.scale, image.scale)
    np.testing.assert_allclose(new.translate, image.translate)
    assert len(new.metadata["semcolor"]["hints"]) == len(points.data)


def test_live_edit_during_a_run_cancels_it_and_runs_again_with_the_latest_hints(docked, qtbot, monkeypatch):
    from napari_semcolor.backends.propagate import PropagateBackend

    viewer, image, points, widget = docked
    before = image.data.copy()
    points.features[HINT_FEATURE] = ["#808080"] * len(points.data)
    original = PropagateBackend.colorize
    calls, cancelled = [], threading.Event()

    def first_run_blocks(self, job):  # the first run works until it is told to stop
        calls.append(len(job.hint_mask.nonzero()[0]))
        if len(calls) == 1:
            deadline = time.monotonic() + 30  # never hang the suite if cancelling is broken
            while time.monotonic() < deadline:
                try:
                    job.check_cancel()
                except Exception:
                    cancelled.set()
                    raise
                time.sleep(0.001)
            raise AssertionError("the running job was never cancelled")
        return original(self, job)

    monkeypatch.setattr(PropagateBackend, "colorize", first_run_blocks)
    widget.live.value = True
    n = len(points.data)
    points.feature_defaults[HINT_FEATURE] = "#808080"
    points.add(np.array([80.0, 80.0]))  # an edit: the live run starts (debounced) and blocks
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    assert not widget.run_button.enabled
    points.feature_defaults[HINT_FEATURE] = "#e61a1a"
    points.add(np.array([40.0, 40.0]))  # a red hint arrives while that run is running
    qtbot.waitUntil(lambda: cancelled.is_set(), timeout=10_000)
    # the red hint's preview comes first, then its full-resolution run replaces it
    qtbot.waitUntil(lambda: not widget.live_part.busy and viewer.layers["sem (propagate)"].metadata["semcolor"]["resolution"] == "full", timeout=30_000)
    assert len(calls) == 2  # the cancelled run, then one re-run
    out = viewer.layers["sem (propagate)"]
    assert len(out.metadata["semcolor"]["hints"]) == n + 2  # both edits, the latest included
    assert image_to_lab(out.data)[40, 40, 1] > 10  # the red hint is in the result
    assert [layer.name for layer in viewer.layers] == ["sem", "hints", "sem (propagate)"]
    np.testing.assert_array_equal(image.data, before)
    assert widget.status.value.startswith("done")
