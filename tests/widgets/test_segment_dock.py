"""The Segment dock: a Labels layer with the source scale, parameters per method, live preview, errors."""

import numpy as np

from napari_semcolor._widgets.segment import SegmentWidget
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
