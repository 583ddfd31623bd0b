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
