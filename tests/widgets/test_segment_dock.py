"""The Segment dock: a Labels layer per method with the source scale and units, data bar, live preview, errors."""

import numpy as np

from napari_semcolor._widgets.segment import SegmentWidget
from napari_semcolor.segment import segment
from napari_semcolor.synthetic import make_sem


def test_segment_widget_adds_labels_with_the_source_scale(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sem = make_sem((128, 128), "pores", seed=2, n_objects=5)
    image = viewer.add_image(sem.image, name="sem", scale=(0.5, 0.25), translate=(3, 4), units=("µm", "µm"))
    widget = SegmentWidget(viewer)
    widget.preview.value = False
    viewer.window.add_dock_widget(widget)
    assert widget.image.value is image
    widget.method.value = "multiotsu"
    assert not widget.params["classes"].native.isHidden() and widget.params["block_size"].native.isHidden()
    widget.method.value = "otsu"
    widget.params["min_size"].value = 30
    widget.run()
    qtbot.waitUntil(lambda: "sem regions (otsu)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    out = viewer.layers["sem regions (otsu)"]
    assert out.data.dtype == np.int32 and out.data.shape == sem.image.shape
    np.testing.assert_array_equal(out.data, segment(sem.image, "otsu", min_size=30))
    np.testing.assert_allclose(out.scale, image.scale)
    np.testing.assert_allclose(out.translate, image.translate)
    assert tuple(out.units) == tuple(image.units) and str(out.units[0]) == "micrometer"  # the scale bar keeps µm
    assert viewer.layers.extent.units is not None  # None is napari's "Inconsistent units across layers"
    assert out.metadata["semcolor"]["segmentation"] == "otsu"
    n_layers = len(viewer.layers)
    widget.preview.value = True
    widget.params["min_size"].value = 5000  # live preview: the same layer updates, debounced
    qtbot.waitUntil(lambda: viewer.layers["sem regions (otsu)"].data.max() == 0, timeout=30_000)
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


def test_another_method_keeps_the_earlier_result_and_the_same_method_updates_it(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sem = make_sem((96, 96), "particles", seed=1, n_objects=4)
    viewer.add_image(sem.image, name="sem")
    widget = SegmentWidget(viewer)
    widget.preview.value = False
    widget.method.value = "multiotsu"
    widget.run()
    qtbot.waitUntil(lambda: "sem regions (multiotsu)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    multiotsu = viewer.layers["sem regions (multiotsu)"]
    first = multiotsu.data.copy()
    widget.method.value = "otsu"
    widget.run()
    qtbot.waitUntil(lambda: "sem regions (otsu)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    np.testing.assert_array_equal(viewer.layers["sem regions (multiotsu)"].data, first)  # not written over
    assert "sem regions (otsu)" in widget.status.value
    widget.method.value = "multiotsu"
    widget.params["classes"].value = 2
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled and viewer.layers["sem regions (multiotsu)"].data.max() == 2, timeout=30_000)
    assert viewer.layers["sem regions (multiotsu)"] is multiotsu  # the same method's layer, updated in place
    assert [layer.name for layer in viewer.layers] == ["sem", "sem regions (multiotsu)", "sem regions (otsu)"]


def test_the_data_bar_is_no_region_unless_unticked(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sem = make_sem((160, 192), "particles", seed=4, databar=True)
    bar = int(np.argmax((sem.labels == -1).any(axis=1)))
    viewer.add_image(sem.image, name="sem")
    widget = SegmentWidget(viewer)
    widget.preview.value = False
    assert widget.databar.value  # on by default, like the Colourize dock's "keep the data bar gray"
    widget.method.value = "local"
    widget.params["min_size"].value = 8
    widget.run()
    qtbot.waitUntil(lambda: "sem regions (local)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    out = viewer.layers["sem regions (local)"]
    assert not out.data[bar:].any() and out.data[:bar].any()
    assert "data bar left out" in widget.status.value and out.metadata["semcolor"]["databar_row"] == bar
    widget.databar.value = False
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled and out.data[bar:].any(), timeout=30_000)
    assert "data bar" not in widget.status.value
