"""Colourize dock on a stack (issue 16): "all planes" colours the volume from a hint on one plane."""

import threading

import numpy as np
import pytest
from pytestqt.exceptions import TimeoutError as WaitTimeout

from napari_semcolor._widgets.hints_layer import HINT_FEATURE
from napari_semcolor.color import image_to_lab
from napari_semcolor.synthetic_volume import make_sem_volume, region_hints, regions_right

PLUGIN = "napari-semcolor"
SCALE = (2.0, 0.5, 0.5)


def _shown(widget) -> bool:
    return not widget.native.isHidden()


@pytest.fixture
def stack_viewer(make_napari_viewer):
    """A 6×64×64 stack (scale, translate and units set) and one hint on plane 0, inside an object of every plane."""
    volume = make_sem_volume((6, 64, 64), seed=1)
    viewer = make_napari_viewer()
    place = {"scale": SCALE, "translate": (10.0, 3.0, 4.0), "units": ("nm", "nm", "nm")}
    image = viewer.add_image(volume.image, name="vol", **place)
    everywhere = set.intersection(*(set(np.unique(p)) - {0} for p in volume.labels))
    hints = region_hints(volume.labels, 0)
    label = max(everywhere & set(hints), key=lambda i: int((volume.labels == i).sum()))
    hint = hints[label]
    centre = [[0.0, hint.y + (hint.size - 1) / 2, hint.x + (hint.size - 1) / 2]]
    points = viewer.add_points(np.array(centre), name="vol hints", size=hint.size, features={HINT_FEATURE: [hint.hex]}, **place)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    widget.hints.value = points
    return viewer, volume, image, widget, {label: hint}


def test_all_planes_colours_every_plane_from_a_hint_on_plane_0(stack_viewer, qtbot, monkeypatch):
    import napari_semcolor.pipeline as pipeline

    viewer, volume, image, widget, hints = stack_viewer
    viewer.dims.set_current_step(0, 4)  # shown at another plane than the hint's
    widget.planes.value = "all planes"
    seen, real = [], pipeline.colorize_stack

    def watched(*args, progress, **kwargs):  # what the dock's progress bar is told (it shows the newest)
        return real(*args, progress=lambda f, m: (seen.append(m), progress(f, m)), **kwargs)

    monkeypatch.setattr(pipeline, "colorize_stack", watched)
    widget.run()
    qtbot.waitUntil(lambda: "vol (propagate)" in viewer.layers and widget.run_button.enabled, timeout=60_000)
    out = viewer.layers["vol (propagate)"]
    assert out.rgb and out.data.shape == (*volume.image.shape, 3)
    assert regions_right(out.data, volume.labels, hints) == [1.0] * len(volume.image)  # the hinted object, on every plane
    (label,) = hints
    for k in range(len(volume.image)):
        assert np.hypot(*np.median(image_to_lab(out.data[k])[volume.labels[k] == label][:, 1:], axis=0)) > 10
    np.testing.assert_allclose(out.scale, image.scale)
    np.testing.assert_allclose(out.translate, image.translate)
    assert [str(u) for u in out.units] == [str(u) for u in image.units]
    assert out.metadata["semcolor"]["through"] == "stack" and out.metadata["semcolor"]["planes"] == 6
    assert {f"writing plane {k}/6" for k in range(1, 7)} <= set(seen)  # progress per plane
    np.testing.assert_array_equal(image.data, volume.image)


def test_cancel_between_planes_leaves_the_layer_list_unchanged(stack_viewer, qtbot, monkeypatch):
    import napari_semcolor.pipeline as pipeline

    viewer, volume, image, widget, hints = stack_viewer
    real = pipeline.colorize_stack
    waited, at_plane_3 = [], threading.Event()

    def slow(*args, progress, cancel, **kwargs):  # holds at plane 3 until Cancel is pressed
        def report(fraction, message):
            progress(fraction, message)
            if "writing plane 3" in message and not waited:
                at_plane_3.set()
                waited.append(cancel.wait(60))

        return real(*args, progress=report, cancel=cancel, **kwargs)

    monkeypatch.setattr(pipeline, "colorize_stack", slow)
    widget.planes.value = "all planes"
    names = [layer.name for layer in viewer.layers]
    widget.run()
    # wait on the run itself, not on the status line (its progress reports are coalesced)
    try:
        qtbot.waitUntil(at_plane_3.is_set, timeout=120_000)
    except WaitTimeout:  # say where the run was
        pytest.fail(f"the run never reached plane 3; status: {widget.status.value!r}")
    widget.cancel_button.clicked()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=30_000)
    assert waited == [True] and widget.status.value == "cancelled"
    assert [layer.name for layer in viewer.layers] == names
    np.testing.assert_array_equal(image.data, volume.image)


def test_stack_controls_follow_the_image_and_the_choice(stack_viewer):
    viewer, volume, image, widget, hints = stack_viewer
    assert _shown(widget.planes) and not _shown(widget.through) and not _shown(widget.align)
    widget.planes.value = "all planes"
    assert _shown(widget.through) and _shown(widget.align)
    job = widget._collect(run=True)
    assert job["spacing"] == SCALE and job["through"] == "stack" and job["align"] is False
    assert job["hints"][0].plane == (0,)  # a hint from plane 0 while plane 0 is shown or not
    widget.through.value = "planes"
    assert not _shown(widget.align)  # aligning is for colour passed between planes
    widget.align.value = True
    assert widget._collect(run=True)["align"] is False
    widget.live.value = True
    assert "spacing" not in widget._collect() and widget._collect()["image"].shape == (64, 64)  # live edits: the current plane
    image.units, image.scale = ("pixel", "nm", "nm"), (1.0, 5.0, 5.0)  # planes calibrated from the file, z not
    widget.live.value = False
    assert widget._collect(run=True)["spacing"] == (5.0, 5.0, 5.0)  # isotropic, as the CLI
    image.units, image.scale = ("µm", "nm", "nm"), (0.02, 5.0, 5.0)
    assert widget._collect(run=True)["spacing"] == pytest.approx((20.0, 5.0, 5.0))
    flat = viewer.add_image(volume.image[0], name="flat")
    widget.image.value = flat
    assert not any(_shown(w) for w in (widget.planes, widget.through, widget.align))


def _stack_result(viewer, widget, qtbot):
    """Run *all planes*; the result layer and a copy of its data."""
    widget.planes.value = "all planes"
    widget.run()
    qtbot.waitUntil(lambda: "vol (propagate)" in viewer.layers and widget.run_button.enabled, timeout=60_000)
    out = viewer.layers["vol (propagate)"]
    return out, np.array(out.data)


def test_live_edit_with_all_planes_rewrites_only_the_plane_shown_in_the_stack_result(stack_viewer, qtbot):
    """A stack result exists; a live hint edit on plane 2 re-colours plane 2 inside it (preview,
    then full resolution) and keeps the layer (z, y, x, 3) and every other plane as it was."""
    from napari_semcolor._widgets.hints_layer import set_hint_color

    viewer, volume, image, widget, hints = stack_viewer
    out, before = _stack_result(viewer, widget, qtbot)
    names = [layer.name for layer in viewer.layers]
    viewer.dims.set_current_step(0, 2)
    widget.live.value = True
    points = widget.hints.value
    (label,) = hints
    ys, xs = np.nonzero(volume.labels[2] == label)
    k = len(ys) // 2
    set_hint_color(points, "#1a4de6")  # another colour than the stack's hint: plane 2 turns blue there
    points.add(np.array([2.0, ys[k], xs[k]]))
    qtbot.waitUntil(lambda: widget.live_part.full_finished >= 1 and not widget.live_part.busy, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == names  # no layer added, none removed
    assert widget._output.name == out.name and viewer.layers["vol (propagate)"] is out
    assert out.data.shape == (*volume.image.shape, 3)
    assert out.metadata["semcolor"]["resolution"] == "full" and out.metadata["semcolor"]["live_planes"] == [(2,)]
    assert not np.array_equal(out.data[2], before[2])
    for z in (0, 1, 3, 4, 5):
        np.testing.assert_array_equal(out.data[z], before[z])
    blue = np.median(image_to_lab(out.data[2])[volume.labels[2] == label][:, 2])
    assert blue < np.median(image_to_lab(before[2])[volume.labels[2] == label][:, 2]) - 10  # b* lower: bluer
    assert "plane (2,)" in widget.status.value


def test_live_edit_with_all_planes_and_no_stack_result_shows_the_plane_beside_it(stack_viewer, qtbot):
    """A stack result of another shape is not overwritten: the plane goes to a layer of its own."""
    from napari_semcolor._widgets.hints_layer import set_hint_color

    viewer, volume, image, widget, hints = stack_viewer
    other = viewer.add_image(np.zeros((3, 64, 64, 3), np.uint8), name="vol (propagate)", rgb=True, metadata={"semcolor": {"planes": 3}})
    widget.planes.value = "all planes"
    widget.live.value = True
    viewer.dims.set_current_step(0, 1)
    set_hint_color(widget.hints.value, "#1a4de6")
    widget.hints.value.add(np.array([1.0, 30.0, 30.0]))
    qtbot.waitUntil(lambda: widget.live_part.full_finished >= 1 and not widget.live_part.busy, timeout=60_000)
    assert viewer.layers["vol (propagate)"] is other and not other.data.any()
    assert viewer.layers["vol (propagate) plane"].data.shape == (64, 64, 3)


def test_all_planes_of_a_time_series_colour_every_time_point_from_hints_on_the_first(make_napari_viewer, qtbot):
    volume = make_sem_volume((4, 48, 48), seed=1)
    series = np.stack([np.roll(volume.image, t, axis=-1) for t in range(3)])  # (t, z, y, x)
    labels = np.stack([np.roll(volume.labels, t, axis=-1) for t in range(3)])
    viewer = make_napari_viewer()
    viewer.add_image(series, name="series")
    hints = region_hints(labels[0], 1)
    centres = [[0.0, 1.0, h.y + (h.size - 1) / 2, h.x + (h.size - 1) / 2] for h in hints.values()]
    points = viewer.add_points(np.array(centres), name="series hints", size=3, features={HINT_FEATURE: [h.hex for h in hints.values()]})
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    widget.hints.value = points
    widget.planes.value = "all planes"
    widget.run()
    qtbot.waitUntil(lambda: "series (propagate)" in viewer.layers and widget.run_button.enabled, timeout=60_000)
    out = viewer.layers["series (propagate)"].data
    assert out.shape == (*series.shape, 3)
    for t in range(3):  # hints on t = 0 only: every time point coloured (gray before colour flowed along t)
        assert np.nanmean(regions_right(out[t], labels[t], hints, erode=2)) >= 0.6


def test_a_live_edit_on_another_image_leaves_the_first_images_stack_result_alone(stack_viewer, qtbot):
    """The dock's last result belongs to the image it coloured: after switching to another stack of
    the same shape, a live edit must not write that image's plane into the first one's result."""
    from napari_semcolor._widgets.hints_layer import set_hint_color

    viewer, volume, image, widget, hints = stack_viewer
    out, before = _stack_result(viewer, widget, qtbot)
    twin = viewer.add_image(volume.image[:, :, ::-1].copy(), name="twin", scale=SCALE, translate=(10.0, 3.0, 4.0))
    points = viewer.add_points(np.zeros((0, 3)), name="twin hints", scale=SCALE, translate=(10.0, 3.0, 4.0), features={HINT_FEATURE: []})
    widget.image.value = twin
    widget.hints.value = points
    viewer.dims.set_current_step(0, 2)
    widget.live.value = True
    set_hint_color(points, "#1a4de6")
    points.add(np.array([2.0 * SCALE[0] + 10.0, 30.0 * SCALE[1] + 3.0, 30.0 * SCALE[2] + 4.0]))
    qtbot.waitUntil(lambda: widget.live_part.full_finished >= 1 and not widget.live_part.busy, timeout=60_000)
    np.testing.assert_array_equal(out.data, before)  # vol's result untouched
    assert "twin (propagate)" in viewer.layers and viewer.layers["twin (propagate)"] is not out
