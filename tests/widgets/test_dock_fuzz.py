"""Hypothesis over the docks' controls: any valid or edge value, then Run, never ends in a
traceback; whatever goes wrong is a message on the dock's status line.

Spin boxes are tried at their ends as often as in between, each backend's options come from its
spec, and the layers include an empty hints layer, empty regions, a data bar and a float image.
A run still going after a few seconds is cancelled (a cancelled run must end cleanly too), so the
whole test stays within about a minute.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from magicgui.widgets import CheckBox, ComboBox, FloatSlider, FloatSpinBox, LineEdit, SpinBox

from napari_semcolor.hints import to_points
from napari_semcolor.synthetic import make_sem

FUZZ = settings(max_examples=18, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PATIENCE_MS = 4_000  # then Cancel


@pytest.fixture
def layers(make_napari_viewer):
    """A viewer with gray images (one with a data bar, one float), hints, empty hints, regions."""
    from napari_semcolor._widgets.hints_layer import HINT_FEATURE
    from napari_semcolor.hints import Hint

    viewer = make_napari_viewer()
    sem = make_sem((64, 80), "particles", seed=2, databar=True)
    viewer.add_image(sem.image, name="sem")
    viewer.add_image(sem.image.astype(np.float32) / 255, name="float")
    viewer.add_image(np.full((64, 80), 7, np.uint8), name="flat")  # no contrast at all
    coords, sizes, colors = to_points([Hint(20, 20, (0.9, 0.3, 0.1), 3), Hint(40, 60, (0.1, 0.3, 0.9), 3)])
    viewer.add_points(coords, name="hints", size=sizes, face_color=colors, features={HINT_FEATURE: colors})
    viewer.add_points(np.empty((0, 2)), name="empty hints")
    viewer.add_labels(np.clip(sem.labels, 0, None).astype(np.int32), name="regions")
    viewer.add_labels(np.zeros((64, 80), np.int32), name="no regions")
    viewer.add_image(np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8), name="reference", rgb=True)
    return viewer


def _value_for(widget, data):
    """A value ``widget`` accepts: an end of a range as often as a point inside it."""
    if isinstance(widget, ComboBox):
        return data.draw(st.sampled_from([value for value in widget.choices]))
    if isinstance(widget, CheckBox):
        return data.draw(st.booleans())
    if isinstance(widget, (SpinBox, FloatSpinBox, FloatSlider)):
        inside = st.integers(widget.min, widget.max) if isinstance(widget, SpinBox) else st.floats(widget.min, widget.max)
        return data.draw(st.one_of(st.sampled_from([widget.min, widget.max]), inside))
    if isinstance(widget, LineEdit):
        return data.draw(st.text(max_size=8))
    raise AssertionError(f"no strategy for {widget!r}")


def _run_and_wait(dock, qtbot) -> None:
    """Press Run as a user does; cancel a run that takes long; wait until the dock is idle."""
    dock.run_button.native.click()
    try:
        qtbot.waitUntil(lambda: not dock.runner.running, timeout=PATIENCE_MS)
    except qtbot.TimeoutError:
        dock.cancel_button.native.click()
        qtbot.waitUntil(lambda: not dock.runner.running, timeout=120_000)


def _assert_said_something(dock, exceptions) -> None:
    assert not exceptions, "a traceback instead of a message:\n" + "\n".join(repr(e[1]) for e in exceptions)
    assert dock.status.value, "the run ended without a word on the status line"


def test_colourize_controls(layers, qtbot):
    viewer = layers
    _, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")

    @FUZZ
    @given(st.data())
    def check(data):
        with qtbot.capture_exceptions() as exceptions:
            dock.backend.value = data.draw(st.sampled_from(list(dock.backend.choices)), label="backend")
            dock.image.value = viewer.layers[data.draw(st.sampled_from(["sem", "float", "flat"]), label="image")]
            dock.hints.value = data.draw(st.sampled_from([None, viewer.layers["hints"], viewer.layers["empty hints"]]), label="hints")
            dock.labels_layer.value = data.draw(st.sampled_from([None, viewer.layers["regions"], viewer.layers["no regions"]]), label="regions")
            if not dock.reference.native.isHidden():
                dock.reference.value = data.draw(st.sampled_from([None, viewer.layers["reference"]]), label="reference")
            # a GPU this machine lacks is a message at once (also in test_cli_fuzz.py): mostly run here
            dock.device.value = data.draw(st.sampled_from(["auto", "cpu", "auto", "cpu", "cuda", "mps"]), label="device")
            for widget in (dock.samples, dock.seed, dock.one_colour, dock.same_gray, dock.databar_gray, dock.keep_previous):
                if not widget.native.isHidden():
                    widget.value = _value_for(widget, data)
            for widget in dock.backend_options.controls().values():
                widget.value = _value_for(widget, data)
            dock.samples.value = min(dock.samples.value, 4)  # (16 proposals of a slow backend: only slower)
            _run_and_wait(dock, qtbot)
        _assert_said_something(dock, exceptions)
        for layer in list(viewer.layers):  # results pile up otherwise (keep previous results)
            if layer.name.startswith(("sem (", "float (", "flat (")):
                viewer.layers.remove(layer)

    check()


def test_segment_controls(layers, qtbot):
    viewer = layers
    _, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Segment")
    dock.preview.value = False  # Run only: a preview racing the next example's values tests nothing more

    @FUZZ
    @given(st.data())
    def check(data):
        with qtbot.capture_exceptions() as exceptions:
            dock.image.value = viewer.layers[data.draw(st.sampled_from(["sem", "float", "flat", "reference"]), label="image")]
            dock.method.value = data.draw(st.sampled_from(list(dock.method.choices)), label="method")
            for widget in (*dock.params.values(), dock.databar):
                if not widget.native.isHidden():
                    widget.value = _value_for(widget, data)
            _run_and_wait(dock, qtbot)
        _assert_said_something(dock, exceptions)

    check()
