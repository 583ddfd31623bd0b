"""Shared fixtures: small generated SEM-like images (tests never need ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.hints import Hint
from napari_semcolor.synthetic import make_sem, paint, region_colors


class Scene:
    """A generated micrograph with a known colouring and one hint per region."""

    def __init__(self, shape=(192, 192), kind="particles", seed=1, hint_size=3):
        sem = make_sem(shape, kind, seed=seed, n_objects=8)
        self.image, self.labels = sem.image, sem.labels
        self.L = to_lightness(self.image)
        colors = region_colors(self.labels, seed=seed + 1)
        self.truth_rgb = compose(self.L, paint(self.labels, colors))
        self.truth_ab = image_to_lab(self.truth_rgb)[..., 1:]
        rng = np.random.default_rng(seed)
        self.regions, self.hints = [], []
        for i in np.unique(self.labels):
            comp, _ = ndimage.label(self.labels == i)  # regions of one label may be split: use the largest piece
            piece = comp == np.argmax(np.bincount(comp.ravel())[1:]) + 1
            inner = ndimage.binary_erosion(piece, iterations=hint_size + 2)
            if inner.sum() < 5:
                continue
            ys, xs = np.nonzero(inner)
            k = rng.integers(len(ys))
            y, x = int(ys[k]) - hint_size // 2, int(xs[k]) - hint_size // 2
            # the hint is the region's colour as a user would pick it: shown at mid lightness
            swatch = compose(np.full((1, 1), 60, np.float32), colors[int(i)][None, None])[0, 0]
            self.hints.append(Hint(y, x, tuple(swatch / 255), hint_size))
            self.regions.append(ndimage.binary_erosion(piece, iterations=2))

    def region_errors(self, rgb: np.ndarray) -> np.ndarray:
        """ΔE_ab between the median a*b* of each region's interior in ``rgb`` and in the truth."""
        ab = image_to_lab(rgb)[..., 1:]
        return np.array([np.linalg.norm(np.median(ab[m], 0) - np.median(self.truth_ab[m], 0)) for m in self.regions])


@pytest.fixture(autouse=True)
def _own_settings_file(tmp_path_factory, monkeypatch):
    """Each test starts with no saved dock settings and never touches the user's own."""
    from napari_semcolor._widgets.parts.settings import CONFIG_DIR_ENV

    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path_factory.mktemp("settings")))


@pytest.fixture(scope="session")
def scene() -> Scene:
    return Scene()


@pytest.fixture(scope="session")
def scenes() -> list[Scene]:
    return [Scene(kind=k, seed=s) for k in ("particles", "fibres", "pores") for s in (1, 2)]


@pytest.fixture
def viewer_with_scene(make_napari_viewer, scene):
    """A viewer with the scene's image (scaled and shifted) and its hints as a Points layer."""
    from napari_semcolor._widgets.hints_layer import HINT_FEATURE
    from napari_semcolor.hints import to_points

    viewer = make_napari_viewer()
    image = viewer.add_image(scene.image, name="sem", scale=(0.5, 0.5), translate=(10, 20))
    coords, sizes, colors = to_points(scene.hints)
    points = viewer.add_points(coords, name="hints", size=sizes, face_color=colors, features={HINT_FEATURE: colors}, scale=(0.5, 0.5), translate=(10, 20))
    return viewer, image, points


@pytest.fixture
def docked(viewer_with_scene):
    """``viewer_with_scene`` plus the Colourize dock, its hints set to the scene's hints."""
    viewer, image, points = viewer_with_scene
    _, widget = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    widget.hints.value = points
    return viewer, image, points, widget
