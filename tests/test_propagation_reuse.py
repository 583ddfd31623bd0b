"""The propagation solver's reuse of work: a factorisation kept for a repeated hint mask, the
live graph's small inverse, and a cancel honoured inside conjugate gradients."""

import threading

import numpy as np
import pytest

from napari_semcolor import propagation
from napari_semcolor.errors import Cancelled


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    L = np.repeat(np.linspace(0, 100, 40, dtype=np.float32)[None], 30, axis=0) + rng.normal(0, 1, (30, 40)).astype(np.float32)
    values = rng.normal(0, 30, (L.size, 2)).astype(np.float32)
    return L, values, rng


def masks(rng, n: int, count: int = 3):
    out = []
    for k in range(count):
        m = np.zeros(n, bool)
        m[rng.choice(n, 6 + 4 * k, replace=False)] = True
        out.append(m)
    return out


def test_a_kept_factorisation_answers_only_its_own_mask(problem):
    L, values, rng = problem
    W = propagation.affinity_graph(L)
    keep: dict = {}
    first, second, _ = masks(rng, L.size)
    for mask in (first, first, second, first):  # reused, replaced, built again
        fresh = propagation.solve_propagation(W, values, mask, shape=L.shape)
        kept = propagation.solve_propagation(W, values, mask, shape=L.shape, keep=keep)
        np.testing.assert_allclose(kept, fresh, atol=1e-4)
        np.testing.assert_allclose(kept[mask], values[mask])
        assert len(keep) == 1


def test_the_live_graph_matches_the_direct_solve_as_hints_come_and_go(problem):
    L, values, rng = problem
    g = propagation.Graph(L)
    for mask in masks(rng, L.size, 5):
        direct = propagation.solve_propagation(g.W, values, mask, laplacian=g.laplacian(1e-6))
        np.testing.assert_allclose(g.solve(values, mask), direct, atol=1e-3)
    assert g._inverses[1e-6]._pixels.size <= g.MAX_COLUMNS


def test_the_live_graph_forgets_the_oldest_pixels_past_its_limit(problem, monkeypatch):
    L, values, rng = problem
    g = propagation.Graph(L)
    monkeypatch.setattr(g, "MAX_COLUMNS", 12)
    for mask in masks(rng, L.size, 3):  # 6, 10, 14 pixels: the last goes the direct way
        if mask.sum() <= 12:
            direct = propagation.solve_propagation(g.W, values, mask, laplacian=g.laplacian(1e-6))
            np.testing.assert_allclose(g.solve(values, mask), direct, atol=1e-3)
            pixels = g._inverses[1e-6]._pixels
            assert pixels.size <= 12 and set(np.flatnonzero(mask)) <= set(pixels)


def test_conjugate_gradients_stop_when_cancelled(problem):
    L, values, rng = problem
    W = propagation.affinity_graph(L)
    mask = masks(rng, L.size, 1)[0]
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        propagation.solve_propagation(W, values, mask, x0=np.zeros_like(values), iterations=40, cancel=stop)


def test_the_live_graph_with_a_prior_matches_eecnns_direct_solve(problem, monkeypatch):
    from napari_semcolor.backends.eecnn_regions import propagate_with_prior

    L, values, rng = problem
    h, w = L.shape
    prior = rng.normal(0, 20, (h, w, 2)).astype(np.float32)
    g = propagation.graph(L)
    for mask in masks(rng, L.size, 4):
        g.live = False
        direct = propagate_with_prior(L, prior, values.reshape(h, w, 2), mask.reshape(h, w), reach=8.0)
        g.live = True
        live = propagate_with_prior(L, prior, values.reshape(h, w, 2), mask.reshape(h, w), reach=8.0)
        assert np.abs(live - direct).max() < 1e-2
        np.testing.assert_allclose(live.reshape(-1, 2)[mask], values[mask])
    monkeypatch.setattr(g, "MAX_COLUMNS", 4)  # more hint pixels than kept: a direct solve of the free pixels
    np.testing.assert_allclose(propagate_with_prior(L, prior, values.reshape(h, w, 2), mask.reshape(h, w), reach=8.0), direct, atol=1e-2)
    g.live = False
