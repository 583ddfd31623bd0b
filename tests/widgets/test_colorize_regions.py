"""The Colourize dock's region colour table (part: _widgets/parts/region_table.py)."""

import numpy as np
from scipy import ndimage

from napari_semcolor._widgets.colorize import ColorizeWidget
from napari_semcolor.color import image_to_lab
from napari_semcolor.synthetic import make_sem


def test_region_table_drives_region_colours(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sem = make_sem((128, 128), "particles", seed=1, n_objects=4)
    labels = np.maximum(sem.labels, 0)
    viewer.add_image(sem.image, name="sem")
    layer = viewer.add_labels(labels, name="regions")
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.labels_layer.value = layer
    assert sorted(widget.regions.rows) == sorted(int(v) for v in np.unique(labels))
    assert widget.regions.colours() == {}  # everything is left to the backend by default
    mode, colour = widget.regions.rows[1]
    mode.value, colour.value = "colour", "#2050e0"
    widget.regions.rows[0][0].value = "gray"
    assert widget.regions.colours() == {1: "#2050e0", 0: "gray"}
    widget.regions.fill()  # a refresh keeps the settings
    assert widget.regions.colours() == {1: "#2050e0", 0: "gray"}
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    ab = image_to_lab(viewer.layers["sem (propagate)"].data)[..., 1:]
    assert np.median(ab[..., 1][ndimage.binary_erosion(labels == 1, iterations=2)]) < -15  # blue
    away = ndimage.binary_erosion(labels == 0, iterations=3)  # outside the soft border band
    assert np.abs(ab[away]).max() < 2
    assert viewer.layers["sem (propagate)"].metadata["semcolor"]["region_colors"] == {"0": "gray", "1": "#2050e0"}


def test_region_table_shows_only_with_a_regions_layer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32), np.uint8), name="sem")
    layer = viewer.add_labels(np.arange(4).repeat(8)[None].repeat(32, 0).astype(np.int32), name="regions")
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    table, refresh = widget.regions.widgets
    assert table.root_native_widget.isHidden() and refresh.native.isHidden()  # no empty "region colours"
    widget.labels_layer.value = layer
    assert not table.root_native_widget.isHidden() and not refresh.native.isHidden()
    widget.labels_layer.value = None
    assert table.root_native_widget.isHidden() and refresh.native.isHidden() and widget.regions.rows == {}


def test_region_rows_start_empty_and_the_swatch_shows_the_fill(make_napari_viewer, monkeypatch):
    from qtpy.QtGui import QColor
    from qtpy.QtWidgets import QColorDialog

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32), np.uint8), name="sem")
    layer = viewer.add_labels(np.arange(4).repeat(8)[None].repeat(32, 0).astype(np.int32), name="regions")
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.labels_layer.value = layer
    mode, colour = widget.regions.rows[2]
    assert colour.value == "" and widget.regions.swatch_colour(2) is None  # backend: no fill, no colour
    mode.value = "gray"
    assert widget.regions.swatch_colour(2) == "#808080"
    mode.value = "colour"  # starts from the label's colour in the Labels layer
    label_colour = "#{:02x}{:02x}{:02x}".format(*(np.round(np.asarray(layer.get_color(2))[:3] * 255).astype(int)))
    assert colour.value == label_colour and widget.regions.swatch_colour(2) == label_colour
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor("#123456")))
    colour.button.clicked()  # the colour picker
    assert colour.value == "#123456" and widget.regions.colours() == {2: "#123456"}
    assert "#123456" in widget.regions.swatches[2].native.styleSheet()
    colour.value = "#abcdef"  # typed hex still works
    assert widget.regions.colours() == {2: "#abcdef"} and widget.regions.swatch_colour(2) == "#abcdef"


def test_labels_past_the_first_rows_get_a_row_on_request(make_napari_viewer):
    from napari_semcolor._widgets.parts.region_table import MAX_REGION_ROWS

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((20, 20), np.uint8), name="sem")
    layer = viewer.add_labels(np.arange(1, 201, dtype=np.int32).reshape(10, 20).repeat(2, 0), name="regions")
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.labels_layer.value = layer
    assert len(widget.regions.rows) == MAX_REGION_ROWS and 150 not in widget.regions.rows
    assert not widget.regions.add_row(3)  # already shown
    assert widget.regions.add_row(150)
    mode, colour = widget.regions.rows[150]
    mode.value = "gray"
    assert widget.regions.colours() == {150: "gray"}
    assert widget.regions.table[-1] is widget.regions._finder  # new rows go above the finder line
    widget.regions.fill()  # a refresh keeps it
    assert widget.regions.colours() == {150: "gray"}
