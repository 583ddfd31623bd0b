"""Widget tests for regions: the Segment dock widget and the Colourize region colour table."""

import numpy as np
from scipy import ndimage

from napari_semcolor._widgets.colorize import ColorizeWidget
from napari_semcolor._widgets.segment import SegmentWidget
from napari_semcolor.color import image_to_lab
from napari_semcolor.segment import segment
from napari_semcolor.synthetic import make_sem


def test_segment_widget_adds_labels_with_the_source_scale(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sem = make_sem((128, 128), "pores", seed=2, n_objects=5)
    image = viewer.add_image(sem.image, name="sem", scale=(0.5, 0.25), translate=(3, 4))
    widget = SegmentWidget(viewer)
    widget.preview.value = False
    viewer.window.add_dock_widget(widget)
    assert widget.image.value is image
    widget.method.value = "multiotsu"
    assert not widget.params["classes"].native.isHidden() and widget.params["block_size"].native.isHidden()
    widget.method.value = "otsu"
    widget.params["min_size"].value = 30
    widget.run()
    qtbot.waitUntil(lambda: "sem regions" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    out = viewer.layers["sem regions"]
    assert out.data.dtype == np.int32 and out.data.shape == sem.image.shape
    np.testing.assert_array_equal(out.data, segment(sem.image, "otsu", min_size=30))
    np.testing.assert_allclose(out.scale, image.scale)
    np.testing.assert_allclose(out.translate, image.translate)
    assert out.metadata["semcolor"]["segmentation"] == "otsu"
    n_layers = len(viewer.layers)
    widget.preview.value = True
    widget.params["min_size"].value = 5000  # live preview: the same layer updates, debounced
    qtbot.waitUntil(lambda: viewer.layers["sem regions"].data.max() == 0, timeout=30_000)
    assert len(viewer.layers) == n_layers


def test_segment_widget_reports_bad_parameters(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.array([[0, 255] * 8] * 16, np.uint8), name="two levels")
    widget = SegmentWidget(viewer)
    widget.preview.value = False
    widget.method.value = "multiotsu"
    widget.params["classes"].value = 4
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled and "classes" in widget.status.value, timeout=30_000)
    assert [layer.name for layer in viewer.layers] == ["two levels"]


def test_region_table_drives_region_colours(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sem = make_sem((128, 128), "particles", seed=1, n_objects=4)
    labels = np.maximum(sem.labels, 0)
    viewer.add_image(sem.image, name="sem")
    layer = viewer.add_labels(labels, name="regions")
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.labels_layer.value = layer
    assert sorted(widget._region_rows) == sorted(int(v) for v in np.unique(labels))
    assert widget.region_colors() == {}  # everything is left to the backend by default
    mode, colour = widget._region_rows[1]
    mode.value, colour.value = "colour", "#2050e0"
    widget._region_rows[0][0].value = "gray"
    assert widget.region_colors() == {1: "#2050e0", 0: "gray"}
    widget.fill_region_table()  # a refresh keeps the settings
    assert widget.region_colors() == {1: "#2050e0", 0: "gray"}
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    ab = image_to_lab(viewer.layers["sem (propagate)"].data)[..., 1:]
    assert np.median(ab[..., 1][ndimage.binary_erosion(labels == 1, iterations=2)]) < -15  # blue
    away = ndimage.binary_erosion(labels == 0, iterations=3)  # outside the soft border band
    assert np.abs(ab[away]).max() < 2
    assert viewer.layers["sem (propagate)"].metadata["semcolor"]["region_colors"] == {"0": "gray", "1": "#2050e0"}


def test_segment_widget_is_in_the_manifest():
    from pathlib import Path

    import yaml

    import napari_semcolor

    manifest = yaml.safe_load((Path(napari_semcolor.__file__).parent / "napari.yaml").read_text())
    commands = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    assert commands["napari-semcolor.segment"] == "napari_semcolor._widgets.segment:SegmentWidget"
    assert any(w["display_name"] == "Segment" for w in manifest["contributions"]["widgets"])
    assert manifest["contributions"]["menus"]["napari/layers/segment"] == [{"command": "napari-semcolor.segment"}]
