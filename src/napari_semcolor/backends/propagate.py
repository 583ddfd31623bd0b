"""Colourization by optimisation (Levin, Lischinski & Weiss 2004): spread hint colours edge-aware.

Neighbouring pixels (3×3 window) with similar L* should have similar a*b*. Each pair gets an
affinity ``w = exp(−ΔL² / 2σ²)``, where σ² follows the local L* variance (as in Levin et al.) so
that texture does not stop colour but real edges do. Region borders (labels) cut the affinity to
zero. Hint pixels are fixed; the rest minimise ``Σ w (x_r − x_s)²`` — a sparse symmetric
positive-definite system (graph Laplacian) solved by algebraic multigrid with CG. A tiny pull to
zero makes pixels no hint can reach stay gray. No weights, no training: the instant backend and
the floor the learned backends must beat.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from napari_semcolor.backends.base import Job

# half of the 8-neighbourhood: each undirected edge once
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


def noise_level(L: np.ndarray) -> float:
    """Robust estimate of the per-pixel noise standard deviation of L* (MAD of neighbour differences)."""
    d = np.concatenate([np.diff(L, axis=0).ravel(), np.diff(L, axis=1).ravel()])
    if d.size == 0:
        return 0.0
    return float(np.median(np.abs(d - np.median(d))) * 1.4826 / np.sqrt(2))


def affinity_graph(L: np.ndarray, labels: np.ndarray | None = None, *, sigma: float | None = None, sigma_floor: float = 1.0) -> sp.csr_matrix:
    """Symmetric 8-neighbour affinity matrix of an L* image.

    Parameters
    ----------
    L : (h, w) float32
        L* in [0, 100].
    labels : (h, w) int, optional
        Pixels in different regions get affinity 0.
    sigma : float, optional
        Width of the affinity in L* units. By default three times the image's noise level: noise
        then barely slows colour, while a real edge (many noise levels high) stops it. (Levin et al.
        scale by the local variance instead; that lets colour leak through the bright rims of SEM
        edges, whose local variance is high.)
    sigma_floor : float
        Smallest σ, for noise-free images.
    """
    h, w = L.shape
    L = L.astype(np.float32)
    if sigma is None:
        sigma = 3 * noise_level(L)
    sig2 = max(sigma, sigma_floor) ** 2
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in _OFFSETS:
        ys, xs = slice(0, h - dy), slice(max(0, -dx), w - max(0, dx))
        yt, xt = slice(dy, h), slice(max(0, dx), w + min(0, dx))
        wgt = np.exp(-((L[ys, xs] - L[yt, xt]) ** 2) / (2 * sig2))
        if dy and dx:
            wgt *= 1 / np.sqrt(2)  # diagonal neighbours are farther away
        if labels is not None:
            wgt = np.where(labels[ys, xs] == labels[yt, xt], wgt, 0)
        rows.append(idx[ys, xs].ravel())
        cols.append(idx[yt, xt].ravel())
        vals.append(wgt.ravel().astype(np.float64))
    r, c, v = (np.concatenate(x) for x in (rows, cols, vals))
    W = sp.coo_matrix((v, (r, c)), shape=(h * w, h * w)).tocsr()
    return (W + W.T).tocsr()


def solve_propagation(W: sp.csr_matrix, values: np.ndarray, mask: np.ndarray, *, leak: float = 1e-6, tol: float = 1e-6, cancel=None) -> np.ndarray:
    """Fill ``values`` (n, c) away from ``mask`` (n,) by minimising the affinity-weighted differences.

    Pixels where ``mask`` is true keep their values (hard constraints). Returns (n, c) float32.
    """
    import pyamg

    n, c = values.shape
    known = mask.astype(bool)
    if not known.any():
        return np.zeros((n, c), np.float32)
    free = ~known
    out = values.astype(np.float64).copy()
    out[free] = 0
    if not free.any():
        return out.astype(np.float32)
    degree = np.asarray(W.sum(axis=1)).ravel()
    laplacian = (sp.diags(degree + leak) - W).tocsr()
    A = laplacian[free][:, free].tocsr()
    rhs = -(laplacian[free][:, known] @ values[known].astype(np.float64))
    solver = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric", max_coarse=500)
    for ch in range(c):
        if cancel is not None and cancel.is_set():
            from napari_semcolor.errors import Cancelled

            raise Cancelled("colourization cancelled")
        if np.any(rhs[:, ch]):
            out[free, ch] = solver.solve(rhs[:, ch], tol=tol, accel="cg", maxiter=200)
    return out.astype(np.float32)


def propagate(L: np.ndarray, values: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *, cancel=None) -> np.ndarray:
    """Spread (h, w, c) ``values`` given where ``mask`` (h, w) is set over the whole image, edge-aware."""
    h, w = L.shape
    W = affinity_graph(L, labels)
    flat = solve_propagation(W, values.reshape(h * w, -1), mask.ravel() > 0, cancel=cancel)
    return flat.reshape(h, w, -1)


class PropagateBackend:
    """Optimisation-based hint propagation: no hints → gray."""

    name = "propagate"
    working_size = 512
    needs_hints = True

    def colorize(self, job: Job) -> np.ndarray:
        job.report(0.0, "building affinities")
        ab = propagate(job.L, job.hint_ab, job.hint_mask, job.labels, cancel=job.cancel)
        job.report(1.0, "propagated")
        return np.repeat(ab[None], job.n_samples, axis=0)
