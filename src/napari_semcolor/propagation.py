"""The propagation solver (Levin, Lischinski & Weiss 2004): spread values edge-aware over an image.

Used by the ``propagate`` backend, by the pipeline's hint correction and refinement, by the
diffusion backend's starting point and by training; it belongs to none of them.

Neighbouring pixels (3×3 window) with similar L* should have similar a*b*. Each pair gets an
affinity ``w = exp(−ΔL² / 2σ²)`` computed on lightly smoothed L*, with σ the image's own noise
level, so that noise barely slows colour but real edges stop it. Region borders (labels) cut the affinity to
zero. Hint pixels are fixed; the rest minimise ``Σ w (x_r − x_s)²`` — a sparse symmetric
positive-definite system (graph Laplacian), solved directly on a coarse grid and refined by
conjugate gradients on the finer ones. A tiny pull to
zero makes pixels no hint can reach stay gray. No weights, no training.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from napari_semcolor.errors import check_cancel
from napari_semcolor.upsample import downsample, resize_linear, resize_nearest

# half of the 8-neighbourhood: each undirected edge once
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


def noise_level(L: np.ndarray) -> float:
    """Robust estimate of the per-pixel noise standard deviation of L* (MAD of neighbour differences)."""
    d = np.concatenate([np.diff(L, axis=0).ravel(), np.diff(L, axis=1).ravel()])
    if d.size == 0:
        return 0.0
    return float(np.median(np.abs(d - np.median(d))) * 1.4826 / np.sqrt(2))


def affinity_graph(
    L: np.ndarray, labels: np.ndarray | None = None, *,
    sigma: float | None = None, smooth: float = 1.0, sigma_floor: float = 1.0,
) -> sp.csr_matrix:
    """Symmetric 8-neighbour affinity matrix of an L* image.

    Parameters
    ----------
    L : (h, w) float32
        L* in [0, 100].
    labels : (h, w) int, optional
        Pixels in different regions get affinity 0.
    sigma : float, optional
        Width of the affinity in L* units; by default the noise level of the smoothed L*. (Levin
        et al. scale by the local variance instead; that lets colour leak through the bright,
        blurred rims of SEM edges, whose local variance is high: measured on generated SEM images
        with one hint per region, 77% of regions came out right with the local variance against
        96% with this.)
    smooth : float
        Gaussian σ (pixels) applied to L* before the affinities, to lower the noise below the
        edge contrast.
    sigma_floor : float
        Smallest σ, for noise-free images.
    """
    h, w = L.shape
    L = L.astype(np.float32)
    if smooth > 0:
        L = ndimage.gaussian_filter(L, smooth)
    if sigma is None:
        sigma = noise_level(L)
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


def _system(W: sp.csr_matrix, values: np.ndarray, known: np.ndarray, leak: float):
    # unknowns are the free pixels; hint pixels move to the right-hand side (hard constraints)
    free = ~known
    degree = np.asarray(W.sum(axis=1)).ravel()
    laplacian = (sp.diags(degree + leak) - W).tocsr()
    A = laplacian[free][:, free]
    rhs = -(laplacian[free][:, known] @ values[known].astype(np.float64))
    return A, rhs


def solve_propagation(
    W: sp.csr_matrix, values: np.ndarray, mask: np.ndarray, *,
    x0: np.ndarray | None = None, iterations: int = 40, leak: float = 1e-6,
) -> np.ndarray:
    """Fill ``values`` (n, c) away from ``mask`` (n,) by minimising the affinity-weighted differences.

    Pixels where ``mask`` is true keep their values (hard constraints). Without a starting guess
    ``x0`` the system is solved directly (sparse LU, fine up to a few 10⁵ pixels); with one,
    ``iterations`` of Jacobi-preconditioned CG refine it (the fine levels of :func:`propagate`).
    Returns (n, c) float32.
    """
    import scipy.sparse.linalg as spl

    n, c = values.shape
    known = mask.astype(bool)
    out = np.zeros((n, c), np.float64)
    if not known.any():
        return out.astype(np.float32)
    out[known] = values[known]
    free = ~known
    if not free.any():
        return out.astype(np.float32)
    A, rhs = _system(W, values, known, leak)
    if x0 is None:
        lu = spl.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        out[free] = lu.solve(np.ascontiguousarray(rhs))
    else:
        out[free] = conjugate_gradient(A.tocsr(), rhs, x0[free], iterations)
    return out.astype(np.float32)


def conjugate_gradient(A: sp.csr_matrix, b: np.ndarray, x: np.ndarray, iterations: int, rtol: float = 1e-6) -> np.ndarray:
    """Jacobi-preconditioned conjugate gradients for SPD ``A``, all columns of ``b`` (n, c) at once.

    Written out because it is short, and because dot products through BLAS can be slow on a busy
    2-core machine (OpenBLAS threads spinning), while element-wise sums are not.
    """
    dot = lambda u, v: np.einsum("ij,ij->j", u, v)  # noqa: E731 — column-wise dot products
    A = A.astype(np.float32)  # float32 halves the memory traffic; CG here needs no more precision
    b = b.astype(np.float32)
    inv_diag = (1 / A.diagonal())[:, None]
    x = np.array(x, np.float32, copy=True)
    r = b - A @ x
    z = inv_diag * r
    p = z.copy()
    rz = dot(r, z)
    stop = rtol**2 * np.maximum(dot(b, b), 1e-30)
    for _ in range(iterations):
        if np.all(dot(r, r) <= stop):
            break
        Ap = A @ p
        alpha = rz / np.maximum(dot(p, Ap), 1e-30)
        x += alpha * p
        r -= alpha * Ap
        z = inv_diag * r
        rz_new = dot(r, z)
        p = z + (rz_new / np.maximum(rz, 1e-30)) * p
        rz = rz_new
    return x


def propagate(
    L: np.ndarray, values: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *,
    cancel=None, direct_limit: int = 70_000, reach: int | None = None,
) -> np.ndarray:
    """Spread (h, w, c) ``values`` given where ``mask`` (h, w) is set over the image, edge-aware.

    Images above ``direct_limit`` pixels are solved coarse-to-fine: the problem at half resolution
    carries colour over long distances, and a few CG iterations at full resolution put the
    borders back where the edges are (a cascadic multigrid). With ``reach``, only that many CG
    iterations from zero are run: the values spread a short, edge-aware distance (for local
    corrections).
    """
    h, w = L.shape
    mask = mask > 0
    if not mask.any():
        return np.zeros(values.shape, np.float32)
    x0 = None if reach is None else np.zeros((h * w, values.shape[-1]))
    if reach is None and h * w > direct_limit and min(h, w) >= 4:
        coarse = (h + 1) // 2, (w + 1) // 2
        cvals, cmask = _coarsen_hints(values, mask, coarse)
        clabels = None if labels is None else resize_nearest(labels, coarse)
        xc = propagate(downsample(L, coarse), cvals, cmask, clabels, cancel=cancel, direct_limit=direct_limit)
        if labels is None:
            x0 = resize_linear(xc, (h, w)).reshape(h * w, -1)
        else:  # plain interpolation would blur colour across borders, and CG does not remove it
            from napari_semcolor.regions import upsample_in_regions

            x0 = upsample_in_regions(np.zeros_like(xc), xc, np.zeros((h, w), np.float32), clabels, labels).reshape(h * w, -1)
    check_cancel(cancel)
    W = affinity_graph(L, labels)
    flat = solve_propagation(W, values.reshape(h * w, -1), mask.ravel(), x0=x0, iterations=reach or 40, leak=1e-6 if reach is None else 1e-2)
    return flat.reshape(h, w, -1)


def _coarsen_hints(values: np.ndarray, mask: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    # a coarse pixel is a hint if any pixel of its 2×2 block is; its value is the mean of those
    h, w = mask.shape
    H, W = shape[0] * 2, shape[1] * 2
    m = np.zeros((H, W), np.float32)
    v = np.zeros((H, W, values.shape[-1]), np.float32)
    m[:h, :w] = mask
    v[:h, :w] = values * mask[..., None]
    msum = m.reshape(shape[0], 2, shape[1], 2).sum(axis=(1, 3))
    vsum = v.reshape(shape[0], 2, shape[1], 2, -1).sum(axis=(1, 3))
    return vsum / np.maximum(msum, 1)[..., None], msum > 0
