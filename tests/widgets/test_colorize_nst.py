"""The Colourize widget with the NST backend: whole-image and per-region reference layers."""

import numpy as np
import pytest

from napari_semcolor._widgets.colorize import ColorizeWidget
from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.synthetic import make_sem


def _tinted(seed, ab, shape=(96, 96)):
    L = to_lightness(make_sem(shape, "fibres", seed=seed, n_objects=6).image)
    return compose(L, np.broadcast_to(np.asarray(ab, np.float32), L.shape + (2,)))


@pytest.fixture
def setup(make_napari_viewer):
    viewer = make_napari_viewer()
    gray = make_sem((112, 112), "particles", seed=21, n_objects=8).image
    image = viewer.add_image(gray, name="sem")
    red = viewer.add_image(_tinted(1, (45, 25)), name="red", rgb=True)
    blue = viewer.add_image(_tinted(2, (5, -45)), name="blue", rgb=True)
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value = image
    return viewer, widget, gray, red, blue


def test_whole_image_reference_layer(setup, qtbot):
    viewer, widget, gray, red, blue = setup
    assert widget.references() == {}  # propagate: no references
    widget.backend.value = "nst"
    names = [c for c in widget.reference.choices if c is not None]
    assert red in names and blue in names and viewer.layers["sem"] not in names  # colour layers only
    widget.reference.value = red
    widget.run()
    qtbot.waitUntil(lambda: "sem (nst)" in viewer.layers, timeout=60_000)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)
    out = viewer.layers["sem (nst)"].data
    lab = image_to_lab(out)
    assert np.abs(lab[..., 0] - to_lightness(gray)).max() <= 1.0
    assert np.median(lab[..., 1]) > 20
    assert viewer.layers["sem (nst)"].metadata["semcolor"]["references"] == ["0"]


def test_one_reference_per_region_in_the_region_table(setup, qtbot):
    viewer, widget, gray, red, blue = setup
    labels = np.zeros(gray.shape, np.int32)
    labels[:, 56:] = 1
    labels[:20, :20] = 2
    widget.labels_layer.value = viewer.add_labels(labels, name="regions")
    widget.backend.value = "nst"
    widget.reference.value = red
    widget.regions.refs[1].value = blue
    widget.regions.rows[2][0].value = "gray"
    refs = widget.references()
    assert set(refs) == {0, 1} and refs[1] is blue.data
    widget.run()
    qtbot.waitUntil(lambda: "sem (nst)" in viewer.layers, timeout=60_000)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)
    ab = image_to_lab(viewer.layers["sem (nst)"].data)[..., 1:]
    assert np.median(ab[24:, :50, 0]) > 20  # label 0: the whole-image (red) reference
    assert np.median(ab[:, 62:, 1]) < -20  # label 1: its own (blue) reference
    assert np.abs(ab[2:14, 2:14]).max() < 2  # label 2: kept gray (its soft border aside)
