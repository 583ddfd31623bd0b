"""The Colour hints dock: hint layers carrying their colour, CSV save/load, the eyedropper."""

import numpy as np

from napari_semcolor._widgets.hints_layer import HINT_FEATURE
from napari_semcolor.hints import to_points

PLUGIN = "napari-semcolor"


def dock(viewer, name="Colour hints"):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget

def test_hints_widget_makes_a_layer_whose_points_carry_the_colour(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((20, 20)), name="sem")
    widget = dock(viewer, "Colour hints")
    assert widget.image.value is viewer.layers["sem"]  # the only image: New hints layer is bound to it
    widget.color.value = "#3f8ce6"
    layer = widget._create()
    assert layer.name == "sem hints" and layer.mode == "add"
    layer.add(np.array([5.0, 5.0]))
    assert list(layer.features[HINT_FEATURE]) == ["#3f8ce6"]
    np.testing.assert_allclose(layer.face_color[0][:3], [0x3F / 255, 0x8C / 255, 0xE6 / 255], atol=1e-6)
    widget.palette.value = "gray (keep neutral)"
    layer.add(np.array([8.0, 8.0]))
    assert list(layer.features[HINT_FEATURE]) == ["#3f8ce6", "#808080"]


def test_hints_save_and_load_as_csv(make_napari_viewer, tmp_path, scene):
    from napari_semcolor.hints import read_csv

    viewer = make_napari_viewer()
    viewer.add_image(scene.image, name="sem")
    widget = dock(viewer, "Colour hints")
    widget.image.value = viewer.layers["sem"]
    assert widget.csv_path.mode.value == "r" and widget.save_path.mode.value == "w"  # open dialog to load, save dialog to save
    widget.save_path.value = widget.csv_path.value = tmp_path / "h.csv"
    layer = widget._create()
    coords, sizes, colors = to_points(scene.hints)
    layer.add(coords)
    layer.features[HINT_FEATURE] = colors
    layer.size = sizes
    widget.save_csv()
    saved = read_csv(tmp_path / "h.csv")
    assert [(h.y, h.x, h.size, h.hex) for h in saved] == [(h.y, h.x, h.size, h.hex) for h in scene.hints]
    loaded = widget.load_csv()
    assert list(loaded.features[HINT_FEATURE]) == colors
    np.testing.assert_allclose(loaded.data, coords)


def test_eyedropper_takes_the_colour_of_a_reference_layer(make_napari_viewer):
    from types import SimpleNamespace

    viewer = make_napari_viewer()
    ref = np.zeros((20, 30, 3), np.uint8)
    ref[:, 15:] = (40, 160, 220)
    viewer.add_image(ref, name="figure", rgb=True, translate=(100, 0))
    widget = dock(viewer, "Colour hints")
    widget.pick_from.value = viewer.layers["figure"]
    widget.arm_eyedropper()
    assert widget._pick in viewer.mouse_drag_callbacks
    widget._pick(viewer, SimpleNamespace(position=(110.0, 20.0)))  # world coordinates: on the blue half
    assert widget.color.value == "#28a0dc"
    assert widget._pick not in viewer.mouse_drag_callbacks  # one click only


def test_long_layer_names_do_not_widen_the_docks(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((20, 20)), name="sem")
    widgets = [dock(viewer, "Colour hints"), dock(viewer, "Colourize")]
    widths = [w.native.sizeHint().width() for w in widgets]
    viewer.add_image(np.zeros((20, 20)), name="a very long layer name, " * 12)
    viewer.add_points(np.zeros((0, 2)), name="the hints of that layer, " * 12)
    assert [w.native.sizeHint().width() for w in widgets] == widths
