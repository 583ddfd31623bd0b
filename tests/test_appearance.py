"""Hint colours spread by appearance (the diffusion network's non-local cue)."""

import numpy as np

from napari_semcolor.backends.diffusion.appearance import appearance_colours
from napari_semcolor.hints import Hint, rasterize


def _two_phase(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dark smooth discs and a bright textured background, the discs far apart (labels: 1 = disc)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:96, :96]
    discs = np.zeros((96, 96), bool)
    for cy, cx in ((20, 20), (20, 75), (75, 20), (75, 75)):
        discs |= (yy - cy) ** 2 + (xx - cx) ** 2 < 12**2
    L = np.where(discs, 30.0, 70.0) + np.where(discs, 0, rng.normal(0, 6, discs.shape))
    return L.astype(np.float32), discs


def test_an_unhinted_region_takes_the_colour_of_the_hint_that_looks_like_it():
    L, discs = _two_phase()
    red, blue = (0.8, 0.2, 0.2), (0.2, 0.3, 0.8)
    hint_ab, mask = rasterize([Hint(18, 18, red, 4), Hint(45, 45, blue, 4)], L.shape)  # one disc, the background
    ab = appearance_colours(L, hint_ab, mask)
    red_ab, blue_ab = hint_ab[19, 19], hint_ab[46, 46]
    far_disc = ab[75, 75]  # no hint of its own, and far from the red one
    assert np.linalg.norm(far_disc - red_ab) < 0.2 * np.linalg.norm(red_ab - blue_ab)
    assert np.linalg.norm(ab[48, 8] - blue_ab) < 0.2 * np.linalg.norm(red_ab - blue_ab)


def test_linear_in_the_hint_colours_and_zero_without_hints():
    L, _ = _two_phase(1)
    hint_ab, mask = rasterize([Hint(18, 18, (0.8, 0.2, 0.2), 3), Hint(45, 45, (0.2, 0.3, 0.8), 3)], L.shape)
    ab = appearance_colours(L, hint_ab, mask)
    rot = np.array([[0.0, -1.0], [1.0, 0.0]], np.float32) * 1.3
    np.testing.assert_allclose(appearance_colours(L, hint_ab @ rot.T, mask), ab @ rot.T, atol=1e-3)
    assert not appearance_colours(L, hint_ab, np.zeros_like(mask)).any()


def test_gray_hints_pull_towards_neutral():
    L, discs = _two_phase(2)
    hint_ab, mask = rasterize([Hint(18, 18, (0.5, 0.5, 0.5), 4), Hint(45, 45, (0.2, 0.3, 0.8), 4)], L.shape)
    ab = appearance_colours(L, hint_ab, mask)
    assert np.hypot(*ab[75, 75]) < 5  # a disc: like the gray-hinted one


def test_labels_keep_colours_in_their_region():
    L, discs = _two_phase(3)
    labels = np.where(np.arange(96)[None, :] < 48, 1, 2) * np.ones((96, 1), int)  # left / right halves
    hint_ab, mask = rasterize([Hint(18, 18, (0.8, 0.2, 0.2), 4), Hint(45, 20, (0.2, 0.3, 0.8), 4)], L.shape)  # both on the left
    ab = appearance_colours(L, hint_ab, mask, labels=labels)
    assert np.isfinite(ab[:, :48]).all() and np.isnan(ab[:, 48:]).all()  # the right half has no hint of its own
    free = appearance_colours(L, hint_ab, mask)
    assert np.isfinite(free).all()
