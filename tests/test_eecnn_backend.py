"""EE-CNN after the network: coherent regions by default, and hints that win near themselves."""

from __future__ import annotations

import numpy as np
import pytest

from napari_semcolor.backends.base import Job
from napari_semcolor.backends.eecnn import REGION_COHERENCE, EECNNBackend
from napari_semcolor.backends.eecnn_regions import auto_regions, propagate_with_prior, pull_to_regions
from napari_semcolor.color import image_to_lab, to_lightness
from napari_semcolor.errors import SemcolorError
from napari_semcolor.hints import Hint, rasterize
from napari_semcolor.synthetic import make_sem


@pytest.fixture(scope="module")
def sem():
    return make_sem((160, 160), "particles", seed=3)


def _job(L, hint_ab=None, hint_mask=None, **options) -> Job:
    h, w = L.shape
    return Job(
        L=L, hint_ab=np.zeros((h, w, 2), np.float32) if hint_ab is None else hint_ab,
        hint_mask=np.zeros((h, w), np.float32) if hint_mask is None else hint_mask,
        options=EECNNBackend.spec.validate_options(options),
    )


def _spread(ab: np.ndarray, labels: np.ndarray) -> float:
    """Pixel-weighted mean over the true regions of the a*b* distance to the region's mean."""
    total = 0.0
    for r in np.unique(labels):
        v = ab[labels == r]
        total += np.linalg.norm(v - v.mean(axis=0), axis=1).sum()
    return total / labels.size


def test_options_are_declared_and_checked():
    spec = EECNNBackend.spec
    assert spec.option("region_coherence").default == REGION_COHERENCE > 0
    assert spec.option("hint_reach").default > 0
    with pytest.raises(SemcolorError, match="region_coherence"):
        spec.validate_options({"region_coherence": 1.5})
    with pytest.raises(SemcolorError, match="hint_reach"):
        spec.validate_options({"hint_reach": -1})


def test_default_is_more_region_consistent_than_the_network_alone(sem):
    L = to_lightness(sem.image)
    backend = EECNNBackend()
    off = backend.colorize(_job(L, region_coherence=0.0))[0]
    on = backend.colorize(_job(L))[0]
    # consistency is scored on the true objects, not on the automatic segmentation used as the cue
    assert _spread(on, sem.labels) < 0.8 * _spread(off, sem.labels)


def test_pull_to_regions_strength():
    rng = np.random.default_rng(0)
    ab = rng.normal(0, 20, (20, 30, 2)).astype(np.float32)
    labels = np.zeros((20, 30), np.int32)
    labels[:, 15:] = 1
    labels[:5] = -1  # negative labels are a group of their own
    np.testing.assert_array_equal(pull_to_regions(ab, labels, 0.0), ab)
    flat = pull_to_regions(ab, labels, 1.0)
    for r in (-1, 0, 1):
        assert np.ptp(flat[labels == r], axis=0).max() < 1e-4
    half = pull_to_regions(ab, labels, 0.5)
    np.testing.assert_allclose(half, (ab + flat) / 2, atol=1e-4)


def test_auto_regions_find_the_particles_and_survive_flat_images(sem):
    L = to_lightness(sem.image)
    regions = auto_regions(L)
    assert regions.shape == L.shape and regions.min() >= 1
    # most pixels of each true particle share one automatic region
    purity = [np.bincount(regions[sem.labels == r]).max() / (sem.labels == r).sum() for r in range(1, sem.labels.max() + 1)]
    assert np.median(purity) > 0.6
    assert (auto_regions(np.full((40, 40), 37.0, np.float32)) == 1).all()


def test_propagate_with_prior_meets_hints_and_falls_back_to_the_prior():
    L = np.full((60, 200), 50.0, np.float32)
    prior = np.zeros((60, 200, 2), np.float32)
    prior[..., 1] = 30.0
    hint_ab = np.zeros_like(prior)
    mask = np.zeros((60, 200), np.float32)
    mask[28:32, 8:12] = 1
    hint_ab[28:32, 8:12] = (-40.0, 10.0)
    short = propagate_with_prior(L, prior, hint_ab, mask, reach=10.0)
    np.testing.assert_allclose(short[30, 10], (-40, 10), atol=1e-3)
    np.testing.assert_allclose(short[30, 190], (0, 30), atol=0.5)  # far beyond the reach: the prior
    long = propagate_with_prior(L, prior, hint_ab, mask, reach=1000.0)
    assert np.linalg.norm(long[30, 20] - (-40, 10)) < 10  # within the reach: the hint's colour
    assert np.linalg.norm(long[30, 190] - (-40, 10)) < np.linalg.norm(short[30, 190] - (-40, 10))
    np.testing.assert_array_equal(propagate_with_prior(L, prior, hint_ab, 0 * mask), prior)


def _hints_on_particles(sem, L, ab_list):
    """One 3×3 hint in the middle of each of the first particles, of the given a*b* (in gamut at its L*)."""
    from scipy import ndimage

    from napari_semcolor.color import lab_to_rgb

    hints = []
    for r, ab in zip(range(1, len(ab_list) + 1), ab_list):
        y, x = (int(round(c)) for c in ndimage.center_of_mass(sem.labels == r))
        rgb = lab_to_rgb(np.array([[[L[y, x], *ab]]], np.float32))[0, 0]
        hints.append(Hint(y - 1, x - 1, tuple(float(v) for v in rgb), 3))
    return hints


def test_hints_win_near_themselves_and_lightness_is_kept(sem):
    from napari_semcolor.pipeline import colorize

    L = to_lightness(sem.image)
    hints = _hints_on_particles(sem, L, [(-25.0, 20.0), (5.0, -25.0), (25.0, 15.0)])
    hint_ab, hint_mask = rasterize(hints, L.shape)
    want = image_to_lab(np.asarray([h.rgb for h in hints], np.float32)[None])[0, :, 1:]
    yy, xx = np.mgrid[: L.shape[0], : L.shape[1]]

    def worst_near(ab: np.ndarray) -> float:
        worst = 0.0
        for hint, target in zip(hints, want):
            cy, cx = hint.y + 1, hint.x + 1
            near = (np.hypot(yy - cy, xx - cx) <= 4) & (sem.labels == sem.labels[cy, cx])
            worst = max(worst, float(np.linalg.norm(ab[near] - target, axis=1).max()))
        return worst

    backend = EECNNBackend()
    led = backend.colorize(_job(L, hint_ab, hint_mask))[0]
    alone = backend.colorize(_job(L, hint_ab, hint_mask, hint_reach=0.0, region_coherence=0.0))[0]
    assert worst_near(led) <= 10  # the backend itself lets the hints win, before any pipeline correction
    assert worst_near(alone) > 10  # (the network's own colour does not happen to match them)

    result = colorize(sem.image, "eecnn", hints)
    lab = image_to_lab(result.image)
    assert np.abs(lab[..., 0] - L).max() <= 1.0
    assert worst_near(lab[..., 1:]) <= 10


def test_coarse_to_fine_solve_agrees_with_the_direct_one(sem, monkeypatch):
    import napari_semcolor.backends.eecnn_regions as module

    L = to_lightness(sem.image)
    prior = np.random.default_rng(1).normal(0, 10, L.shape + (2,)).astype(np.float32)
    hint_ab = np.zeros_like(prior)
    mask = np.zeros(L.shape, np.float32)
    mask[40:43, 60:63] = 1
    hint_ab[40:43, 60:63] = (30.0, -20.0)
    direct = propagate_with_prior(L, prior, hint_ab, mask, reach=300.0)
    monkeypatch.setattr(module, "DIRECT_LIMIT", 5_000)
    c2f = propagate_with_prior(L, prior, hint_ab, mask, reach=300.0)
    assert np.abs(c2f - direct).mean() < 1.0
    np.testing.assert_array_equal(c2f[mask > 0], hint_ab[mask > 0])


def test_a_preview_hint_step_is_close_to_the_full_one_and_meets_the_hints(sem, monkeypatch):
    import napari_semcolor.backends.eecnn_regions as module

    monkeypatch.setattr(module, "DIRECT_LIMIT", 5_000)  # a coarse-to-fine cascade on this small image
    L = to_lightness(sem.image)
    prior = np.random.default_rng(2).normal(0, 10, (1,) + L.shape + (2,)).astype(np.float32)
    hint_ab = np.zeros(prior.shape[1:], np.float32)
    mask = np.zeros(L.shape, np.float32)
    mask[40:43, 60:63], hint_ab[40:43, 60:63] = 1, (30.0, -20.0)
    backend, job = EECNNBackend(), _job(L, hint_ab, mask)
    full = backend.apply_hints(prior, job)[0]
    quick = backend.apply_hints(prior, job, preview=True)[0]
    assert not np.array_equal(quick, full)  # fewer iterations really ran
    assert np.abs(quick - full).mean() < 1.0
    np.testing.assert_array_equal(quick[mask > 0], hint_ab[mask > 0])
