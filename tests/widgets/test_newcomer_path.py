"""The newcomer path through the docks, in a shown 1400 × 900 window (issue 13).

Bundled sample → Colourize → Run (coloured, not silently gray); a Labels layer with 200 regions
(the window stays within the screen) → a region colour → Run (the result is visible); nst
without a reference (a plain message; the canvas keeps its width); a hints layer made by the
Colour hints dock carries the image's units.
"""

import numpy as np
import pytest
from qtpy.QtWidgets import QApplication, QDockWidget

from napari_semcolor.color import image_to_lab

PLUGIN = "napari-semcolor"
SCREEN = (1400, 900)


def _mean_chroma(rgb) -> float:
    return float(np.hypot(*np.moveaxis(image_to_lab(rgb)[..., 1:], -1, 0)).mean())


def _settle(qtbot, ms: int = 200) -> None:
    QApplication.processEvents()
    qtbot.wait(ms)
    QApplication.processEvents()


@pytest.fixture
def window(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*SCREEN)
    viewer.open_sample(PLUGIN, "sem")
    _, dock = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    _settle(qtbot)
    return viewer, dock


def _run(widget, viewer, qtbot, name):
    before = viewer.layers[name].data.copy() if name in viewer.layers else None
    assert widget.run() is not None
    qtbot.waitUntil(lambda: name in viewer.layers and widget.run_button.enabled, timeout=60_000)
    layer = viewer.layers[name]
    assert before is None or not np.array_equal(layer.data, before)
    return layer


def test_first_run_of_the_sample_is_coloured(window, qtbot):
    viewer, widget = window
    image, hints = viewer.layers["SEM sample"], viewer.layers["SEM sample hints"]
    assert widget.image.value is image
    assert widget.hints.value is hints  # picked for the image, not left at "-----"
    assert not widget.hints_note.visible
    result = _run(widget, viewer, qtbot, "SEM sample (propagate)")
    assert _mean_chroma(result.data) > 5


def test_no_hints_says_what_run_will_do(window, qtbot):
    viewer, widget = window
    viewer.layers.remove("SEM sample hints")
    _settle(qtbot, 50)
    assert widget.hints.value is None
    assert widget.hints_note.visible and "gray" in widget.hints_note.value
    widget.backend.value = "eecnn"  # colours without hints: nothing to warn about
    assert not widget.hints_note.visible
    widget.backend.value = "propagate"
    points = viewer.add_points(np.array([[10.0, 10.0]]), name="SEM sample hints", features={"hint": ["#3f8ce6"]})
    _settle(qtbot, 50)
    assert widget.hints.value is points and not widget.hints_note.visible  # follows added layers


def test_200_regions_keep_the_window_on_the_screen_and_the_result_visible(window, qtbot):
    viewer, widget = window
    shape = viewer.layers["SEM sample"].data.shape
    yy, xx = np.indices(shape)
    labels = (yy * 10 // shape[0]) * 20 + xx * 20 // shape[1] + 1  # 200 labels, 1..200
    layer = viewer.add_labels(labels.astype(np.int32), name="regions")
    widget.labels_layer.value = layer
    _settle(qtbot)
    qt_window = viewer.window._qt_window
    assert qt_window.height() <= SCREEN[1]
    dock = widget.native
    while not isinstance(dock, QDockWidget):
        dock = dock.parent()
    assert dock.sizeHint().height() <= SCREEN[1] and dock.minimumSizeHint().height() <= SCREEN[1]
    assert widget.regions.table.root_native_widget.height() <= 300  # a compact table: its rows scroll
    mode, colour = widget.regions.rows[1]
    assert colour.value == ""  # a backend row is not pre-filled with the label's display colour
    mode.value, colour.value = "colour", "#2050e0"
    assert widget.regions.swatch_colour(1) == "#2050e0"  # the swatch shows the fill
    result = _run(widget, viewer, qtbot, "SEM sample (propagate)")
    names = [lay.name for lay in viewer.layers]
    assert names.index(result.name) > names.index("regions") or not layer.visible
    assert qt_window.height() <= SCREEN[1]


def test_an_error_is_plain_and_leaves_the_canvas_width(window, qtbot):
    viewer, widget = window
    widget.backend.value = "nst"
    widget.reference.value = None
    _settle(qtbot)
    canvas = viewer.window._qt_viewer.canvas.native
    width = canvas.width()
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled and "reference" in widget.status.value, timeout=30_000)
    _settle(qtbot)
    assert canvas.width() == width
    assert widget.status.native.width() <= widget.native.width()  # wrapped inside the dock, not cut off
    assert "label 0" not in widget.status.value and "nst reference" in widget.status.value


def test_hints_layer_carries_the_image_units(window, qtbot):
    viewer, _ = window
    image = viewer.layers["SEM sample"]
    image.scale, image.units = (0.02, 0.02), ("µm", "µm")
    viewer.layers.selection.active = image
    _, hints_dock = viewer.window.add_plugin_dock_widget(PLUGIN, "Colour hints")
    assert hints_dock.image.value is image  # starts at the active image
    layer = hints_dock._create()
    assert tuple(str(u) for u in layer.units) == tuple(str(u) for u in image.units)
    np.testing.assert_allclose(layer.scale, image.scale)


def test_segment_hed_then_region_colours_then_run(window, qtbot):
    viewer, widget = window
    image = viewer.layers["SEM sample"]
    for layer in (image, viewer.layers["SEM sample hints"]):  # a calibrated micrograph and its hints
        layer.units = ("µm", "µm")
    _, seg = viewer.window.add_plugin_dock_widget(PLUGIN, "Segment")
    seg.preview.value = False
    seg.image.value, seg.method.value = image, "hed"
    seg.run()
    name = "SEM sample regions (hed)"
    qtbot.waitUntil(lambda: name in viewer.layers and seg.run_button.enabled, timeout=120_000)
    regions = viewer.layers[name]
    assert tuple(str(u) for u in regions.units) == tuple(str(u) for u in image.units)  # the scale bar keeps µm
    assert viewer.layers.extent.units is not None  # no "Inconsistent units across layers"
    widget.labels_layer.value = regions
    _settle(qtbot)
    assert viewer.window._qt_window.height() <= SCREEN[1]
    sizes = np.bincount(np.asarray(regions.data).ravel().clip(0))
    particle = [int(k) for k in np.argsort(sizes)[::-1] if k > 0][1]  # a particle: the largest region is the substrate, 0 the data bar
    mode, colour = widget.regions.rows[particle]
    mode.value, colour.value = "colour", "#2050e0"
    result = _run(widget, viewer, qtbot, "SEM sample (propagate)")
    names = [layer.name for layer in viewer.layers]
    assert names.index(result.name) > names.index(name)  # seen above the regions, not under them
    inside = np.asarray(regions.data) == particle
    b = image_to_lab(result.data)[..., 2]
    assert np.median(b[inside]) < -15  # the particle is the chosen blue


@pytest.mark.parametrize("first", ["Segment", "Colour hints"])
def test_a_dock_opened_below_a_short_one_gets_the_room(make_napari_viewer, qtbot, first):
    # Qt keeps the first dock's height: a short form docked first used to hold the whole column,
    # and Colourize opened below it 69 px tall, its region table out of sight
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*SCREEN)
    viewer.open_sample(PLUGIN, "sem")
    _, short = viewer.window.add_plugin_dock_widget(PLUGIN, first)
    QApplication.processEvents()  # no time to settle: as when the docks are opened one after the other
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    _settle(qtbot)
    assert short.native.height() <= short.native.sizeHint().height() + 2  # the short form keeps its natural height
    assert colour.native.height() >= min(colour.native.sizeHint().height(), 300)  # the rest goes to Colourize
