"""Colourize dock, live mode (issue 14): a preview per hint edit, then the full resolution, and
one click per 0.3 s is kept up with without queueing full-resolution runs."""

import numpy as np
import pytest
from scipy import ndimage

from napari_semcolor._widgets.hints_layer import make_hints_layer, set_hint_color
from napari_semcolor._widgets.parts.debounce import Debouncer
from napari_semcolor.color import compose, image_to_lab, parse_color, rgb_to_ab, rgb_to_lab
from napari_semcolor.synthetic import make_sem

SHAPE = (512, 512)  # above propagate's working size (384): the preview has fewer pixels
COLOURS = ["#e61a1a", "#1a4de6", "#20b040", "#e6b01a", "#b01ae6", "#1ab0e6"]


@pytest.fixture(scope="module")
def sem():
    return make_sem(SHAPE, "particles", seed=5, n_objects=8)


def centres(sem, n: int) -> list[tuple[int, int]]:
    """The deepest pixel of the n largest particles (pixel coordinates), far from any border."""
    ids, counts = np.unique(sem.labels[sem.labels > 0], return_counts=True)
    out = []
    for label in ids[np.argsort(-counts)][:n]:
        depth = ndimage.distance_transform_edt(sem.labels == label)
        out.append(tuple(int(v) for v in np.unravel_index(np.argmax(depth), depth.shape)))
    return out


@pytest.fixture
def live_dock(make_napari_viewer, sem):
    """A viewer with the image (scaled and shifted), an empty hints layer and the dock in live mode."""
    viewer = make_napari_viewer()
    image = viewer.add_image(sem.image, name="sem", scale=(0.5, 0.5), translate=(10, 20))
    points = make_hints_layer(viewer, image, COLOURS[0])
    _, widget = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    widget.hints.value = points
    widget.live.value = True
    shown = []  # (resolution, shape, scale, translate, hints in the layer's record, hints in the points layer)

    def spy(fn):
        def wrapped(*args, **kwargs):
            out = fn(*args, **kwargs)
            layer = widget._output
            record = layer.metadata["semcolor"]
            placed = np.array(layer.scale), np.array(layer.translate)
            shown.append((record["resolution"], layer.data.shape, *placed, len(record.get("hints", ())), len(points.data)))
            return out

        return wrapped

    widget.show_preview = spy(widget.show_preview)
    widget._add_result = spy(widget._add_result)
    return viewer, image, points, widget, shown


def add_hint(points, colour: str, yx) -> None:
    set_hint_color(points, colour)
    points.add(np.array(yx, float))  # data coordinates: the hints layer has the image's scale and translate


def delta_e(layer, image, yx, colour: str) -> float:
    """ΔE between the output at image pixel ``yx`` and ``colour`` gamut-mapped at that pixel's L*."""
    world = image.data_to_world(np.array(yx, float))
    py, px = (int(round(v)) for v in layer.world_to_data(world))
    got = image_to_lab(layer.data[py : py + 1, px : px + 1])[0, 0]
    want = rgb_to_lab(compose(got[None, None, :1][..., 0], rgb_to_ab(np.array(parse_color(colour)))[None, None]) / 255)[0, 0]
    return float(np.linalg.norm(got - want))


def full_and_idle(viewer, widget) -> bool:
    layer = widget._output
    return layer is not None and layer.metadata["semcolor"]["resolution"] == "full" and not widget.live_part.busy


def test_a_hint_edit_shows_a_preview_then_the_full_resolution(live_dock, sem, qtbot):
    viewer, image, points, widget, shown = live_dock
    before = image.data.copy()
    (yx,) = centres(sem, 1)
    add_hint(points, COLOURS[0], yx)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget), timeout=30_000)
    preview, full = shown[0], shown[-1]
    assert preview[0] == "preview" and full[0] == "full"
    assert preview[1][0] < SHAPE[0] and preview[1][1] < SHAPE[1]  # the working resolution
    factor = SHAPE[0] / preview[1][0]
    np.testing.assert_allclose(preview[2], np.array(image.scale) * factor)  # exactly over the image
    np.testing.assert_allclose(preview[3], np.array(image.translate) + np.array(image.scale) * (factor - 1) / 2)
    assert full[1] == (*SHAPE, 3)
    np.testing.assert_allclose(full[2], image.scale)
    np.testing.assert_allclose(full[3], image.translate)
    layer = widget._output
    assert delta_e(layer, image, yx, COLOURS[0]) < 15
    assert len(viewer.layers) == 3  # image, hints, one output layer (the preview was replaced in place)
    np.testing.assert_array_equal(image.data, before)


def test_the_preview_carries_the_hint_colour(live_dock, sem, qtbot, monkeypatch):
    viewer, image, points, widget, shown = live_dock
    monkeypatch.setattr(widget.live_part, "_full", Debouncer(lambda: None, 10))  # no full run: the preview stays
    (yx,) = centres(sem, 1)
    add_hint(points, COLOURS[1], yx)
    qtbot.waitUntil(lambda: widget.live_part.previews == 1 and not widget.live_part.busy, timeout=30_000)
    layer = widget._output
    assert layer.metadata["semcolor"]["resolution"] == "preview"
    assert delta_e(layer, image, yx, COLOURS[1]) < 15


def test_one_click_per_0_3_s_is_kept_up_with_without_queueing(live_dock, sem, qtbot):
    viewer, image, points, widget, shown = live_dock
    before = image.data.copy()
    places = centres(sem, 6)
    for colour, yx in zip(COLOURS, places):
        add_hint(points, colour, yx)
        qtbot.wait(300)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget), timeout=30_000)
    live = widget.live_part
    assert live.full_max_running == 1  # never two full-resolution runs at once
    assert live.full_started == live.full_finished + live.full_cancelled  # every one has ended
    assert live.full_started <= len(places)  # at most one per edit: no queue
    assert live.previews >= 3  # most edits were answered by a preview
    assert live.edits == len(places)  # one per click (napari's "adding" announcements are not edits)
    assert all(n_record == n_points for resolution, _, _, _, n_record, n_points in shown if resolution == "full")  # never a stale result
    assert shown[-1][0] == "full" and shown[-1][4] == len(places)
    layer = widget._output
    assert delta_e(layer, image, places[-1], COLOURS[-1]) < 15  # the last edit is in the result
    np.testing.assert_array_equal(image.data, before)


def test_labels_painted_in_place_are_not_answered_from_a_stale_session(live_dock, sem, qtbot):
    viewer, image, points, widget, shown = live_dock
    labels = viewer.add_labels(sem.labels.astype(np.int32), name="regions", scale=image.scale, translate=image.translate)
    widget.labels_layer.value = labels
    first, second, third = centres(sem, 3)
    add_hint(points, COLOURS[0], first)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget), timeout=30_000)
    session = widget.live_part.session
    add_hint(points, COLOURS[1], second)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget) and widget.live_part.previews == 2, timeout=30_000)
    assert widget.live_part.session is session  # a hint edit reuses the image-only work
    data = labels.data
    labels.brush_size = 40
    labels.paint(first, int(labels.data.max()) + 1)  # in place: the same array, other content
    assert labels.data is data
    add_hint(points, COLOURS[2], third)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget) and widget.live_part.previews == 3, timeout=30_000)
    fresh = widget.live_part.session
    assert fresh is not session
    np.testing.assert_array_equal(fresh.inputs.labels, labels.data)  # the painted labels
    assert not np.array_equal(session.inputs.labels, labels.data)


def test_a_superseded_full_run_is_cancelled(live_dock, sem, qtbot, monkeypatch):
    viewer, image, points, widget, shown = live_dock
    first, second = centres(sem, 2)
    add_hint(points, COLOURS[0], first)
    qtbot.waitUntil(lambda: widget.runner.running, timeout=30_000)  # the first full run is going
    add_hint(points, COLOURS[1], second)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget), timeout=30_000)
    live = widget.live_part
    assert live.full_cancelled + (live.full_finished - sum(s[0] == "full" for s in shown)) >= 1  # stopped, or its result dropped
    assert live.full_max_running == 1
    assert shown[-1][4] == 2


def test_a_backend_without_live_mode_stops_the_previews(live_dock, sem, qtbot):
    viewer, image, points, widget, shown = live_dock
    before = image.data.copy()
    first, second = centres(sem, 2)
    add_hint(points, COLOURS[0], first)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget), timeout=30_000)
    data, counts = widget._output.data.copy(), (widget.live_part.previews, widget.live_part.full_started)
    widget.backend.value = "diffusion"
    assert not widget.live.value
    add_hint(points, COLOURS[1], second)
    qtbot.wait(1000)
    assert (widget.live_part.previews, widget.live_part.full_started) == counts
    np.testing.assert_array_equal(widget._output.data, data)
    assert widget.live_part.session is None  # its cached work is let go
    np.testing.assert_array_equal(image.data, before)


def test_a_region_colour_edit_recomposes_through_the_same_session(live_dock, sem, qtbot):
    viewer, image, points, widget, shown = live_dock
    labels = viewer.add_labels(sem.labels.astype(np.int32), name="regions", scale=image.scale, translate=image.translate)
    widget.labels_layer.value = labels
    first, second = centres(sem, 2)
    add_hint(points, COLOURS[0], first)
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget), timeout=30_000)
    session, previews = widget.live_part.session, widget.live_part.previews
    particle = int(sem.labels[second])
    mode, colour = widget.regions.rows[particle]
    mode.value = "colour"
    colour.value = COLOURS[1]  # no hint edit: the table's change alone answers
    qtbot.waitUntil(lambda: full_and_idle(viewer, widget) and widget.live_part.previews > previews, timeout=30_000)
    assert widget.live_part.session is session  # a re-compose, not a new session
    layer = widget._output
    assert layer.metadata["semcolor"]["region_colors"] == {str(particle): COLOURS[1]}
    assert delta_e(layer, image, second, COLOURS[1]) < 15
    assert delta_e(layer, image, first, COLOURS[0]) < 15
