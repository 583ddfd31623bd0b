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

import hashlib
import threading
import weakref
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from napari_semcolor.errors import check_cancel
from napari_semcolor.sparse_direct import InverseAmong, factorise, nested_dissection, restrict_order, solve_with_prior
from napari_semcolor.upsample import downsample, resize_linear, resize_nearest

#: grids up to this many pixels are solved directly (sparse LU); larger ones coarse-to-fine
DIRECT_LIMIT = 70_000

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


class Graph:
    """The image-only part of a propagation on one grid: affinity graph, Laplacians, a factorisation.

    Built once per L* (and labels) by :func:`graph`; every solve on that grid reuses it. For hint
    sets that change (live colouring), :meth:`solve` factorises the hint-independent Laplacian
    once and answers each new hint set with one triangular solve per new hint pixel.
    """

    #: at most this many hint pixels' entries of the inverse are kept (a small dense matrix)
    MAX_COLUMNS = 256

    def __init__(self, L: np.ndarray, labels: np.ndarray | None = None):
        self.shape = L.shape
        self.W = affinity_graph(L, labels)
        self._degree = np.asarray(self.W.sum(axis=1)).ravel()
        self._laplacians: dict[float, sp.csr_matrix] = {}
        self._inverses: dict[float, InverseAmong] = {}
        self._priors: OrderedDict[tuple, np.ndarray] = OrderedDict()  # leak · L⁻¹ prior, the last few
        self._lock = threading.Lock()
        #: the direct solve's factorisation for the last hint mask (:func:`solve_propagation`'s ``keep``)
        self.direct: dict = {}
        #: set by a live session: direct solves on this grid go through :meth:`solve` (the first
        #: one costs as much as a direct solve, later ones a triangular solve per new hint pixel)
        self.live = False

    def laplacian(self, leak: float) -> sp.csr_matrix:
        """``diag(degree + leak) − W``, built once per ``leak``."""
        if leak not in self._laplacians:
            self._laplacians[leak] = (sp.diags(self._degree + leak) - self.W).tocsr()
        return self._laplacians[leak]

    def solve(self, values: np.ndarray, mask: np.ndarray, *, prior: np.ndarray | None = None, leak: float = 1e-6) -> np.ndarray:
        """The hard-constraint solution of :func:`solve_propagation` (no ``x0``), from cached work.

        With ``A = laplacian(leak)``, the solution satisfies ``A x = leak · prior + f`` with ``f``
        non-zero only at hint pixels, so ``x = y + A⁻¹ f`` with ``y = A⁻¹ (leak · prior)`` (zero
        without a prior; kept per prior) and ``G f = values − y`` at the hint pixels, ``G`` the
        inverse's entries among them (a k × k system). ``G`` is kept for the hint pixels seen
        before; a new one costs one triangular solve, and ``x`` one more (two right-hand sides).
        Identical to the direct solve up to rounding.

        ``prior`` (n, c), optional: values the pixels are pulled to with weight ``leak`` (the
        minimiser of ``Σ w (x_r − x_s)² + leak Σ (x_r − prior_r)²`` with the hints fixed).
        """
        n, c = values.shape
        known = np.flatnonzero(mask)
        if known.size == 0 or known.size == n or known.size > self.MAX_COLUMNS:
            if prior is None:
                return solve_propagation(self.W, values, mask, laplacian=self.laplacian(leak), shape=self.shape)
            return solve_with_prior(self.laplacian(leak), values, mask.astype(bool), prior, leak, self.shape)
        with self._lock:  # a preview and a background full run may share this graph
            inverse = self._inverses.get(leak)
            if inverse is None:
                inverse = self._inverses[leak] = InverseAmong(self.laplacian(leak), self.shape)
            G = inverse.among(known, self.MAX_COLUMNS)
            y = np.zeros((n, c)) if prior is None else self._prior_solution(inverse, prior, leak)
            f = np.zeros((n, c))
            f[known] = np.linalg.solve(G, values[known].astype(np.float64) - y[known])
            out = y + inverse.solve(f)
        out[known] = values[known]
        return out.astype(np.float32)

    def _prior_solution(self, inverse: InverseAmong, prior: np.ndarray, leak: float) -> np.ndarray:
        key = (leak, hashlib.blake2b(np.ascontiguousarray(prior, np.float64).tobytes(), digest_size=16).digest())
        if key not in self._priors:
            self._priors[key] = inverse.solve(leak * np.asarray(prior, np.float64))
            while len(self._priors) > 4:  # a few samples' priors
                self._priors.popitem(last=False)
        self._priors.move_to_end(key)
        return self._priors[key]


_RECENT: OrderedDict[bytes, Graph] = OrderedDict()
_ALIVE: weakref.WeakValueDictionary[bytes, Graph] = weakref.WeakValueDictionary()
_RECENT_SIZE = 4
_CACHE_LOCK = threading.Lock()


def graph(L: np.ndarray, labels: np.ndarray | None = None) -> Graph:
    """The :class:`Graph` of ``L`` (and ``labels``), built once while it is in use or recent.

    Keyed by the arrays' content, so every stage of a run, and every run on the same image, shares
    one: the last few stay cached, and any a caller holds (a Session) is found as long as it lives.
    """
    key = _digest(L, labels)
    with _CACHE_LOCK:  # the dock's preview and a background full run may ask at the same time
        found = _RECENT.get(key) or _ALIVE.get(key)
        if found is None:
            found = Graph(L, labels)
            _ALIVE[key] = found
        _RECENT[key] = found
        _RECENT.move_to_end(key)
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)
    return found


def _digest(L: np.ndarray, labels: np.ndarray | None) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for arr in (np.ascontiguousarray(L, np.float32), None if labels is None else np.ascontiguousarray(labels, np.int64)):
        h.update(b"none" if arr is None else repr(arr.shape).encode() + arr.tobytes())
    return h.digest()


def _system(W: sp.csr_matrix, known: np.ndarray, leak: float, laplacian: sp.csr_matrix | None = None):
    # unknowns are the free pixels; hint pixels move to the right-hand side (hard constraints):
    # the system's matrix, and the one that takes hint values to the right-hand side (negated)
    free = ~known
    if laplacian is None:
        degree = np.asarray(W.sum(axis=1)).ravel()
        laplacian = (sp.diags(degree + leak) - W).tocsr()
    rows = laplacian[free]
    return rows[:, free], rows[:, known]


def solve_propagation(
    W: sp.csr_matrix, values: np.ndarray, mask: np.ndarray, *,
    x0: np.ndarray | None = None, iterations: int = 40, leak: float = 1e-6, laplacian: sp.csr_matrix | None = None,
    shape: tuple[int, int] | None = None, keep: dict | None = None, cancel=None,
) -> np.ndarray:
    """Fill ``values`` (n, c) away from ``mask`` (n,) by minimising the affinity-weighted differences.

    Pixels where ``mask`` is true keep their values (hard constraints). Without a starting guess
    ``x0`` the system is solved directly (sparse LU, fine up to a few 10⁵ pixels); with one,
    ``iterations`` of Jacobi-preconditioned CG refine it (the fine levels of :func:`propagate`).
    ``laplacian`` (``diag(degree + leak) − W``) may be given when it is already known; with the
    grid's ``shape`` the direct solve uses a nested-dissection ordering (less fill, faster).
    ``keep``, a dict owned by the caller for this ``W`` and ``leak``, keeps the direct solve's
    factorisation for the last ``mask`` (a run repeated with the same hints skips it). ``cancel``
    is checked every few CG iterations. Returns (n, c) float32.
    """
    n, c = values.shape
    known = mask.astype(bool)
    out = np.zeros((n, c), np.float64)
    if not known.any():
        return out.astype(np.float32)
    out[known] = values[known]
    free = ~known
    if not free.any():
        return out.astype(np.float32)
    if x0 is None:
        key = hashlib.blake2b(np.packbits(known), digest_size=16).digest()
        found = keep.get(key) if keep is not None else None
        if found is None:
            A, to_free = _system(W, known, leak, laplacian)
            order = None if shape is None else restrict_order(nested_dissection(*shape), free)
            found = factorise(A, order), to_free
            if keep is not None:
                keep.clear()
                keep[key] = found
        solver, to_free = found
        out[free] = solver(np.ascontiguousarray(-(to_free @ values[known].astype(np.float64))))
    else:
        A, to_free = _system(W, known, leak, laplacian)
        rhs = -(to_free @ values[known].astype(np.float64))
        out[free] = conjugate_gradient(A.tocsr(), rhs, x0[free], iterations, cancel=cancel)
    return out.astype(np.float32)


def conjugate_gradient(A: sp.csr_matrix, b: np.ndarray, x: np.ndarray, iterations: int, rtol: float = 1e-6, *, cancel=None) -> np.ndarray:
    """Jacobi-preconditioned conjugate gradients for SPD ``A``, all columns of ``b`` (n, c) at once.

    Written out because it is short, and because dot products through BLAS can be slow on a busy
    2-core machine (OpenBLAS threads spinning), while element-wise sums are not. The columns are
    held as contiguous planes (c, n): element-wise operations over a trailing axis of length 2
    run several times slower than over a long contiguous one.
    """
    dot = lambda u, v: np.einsum("ij,ij->i", u, v)  # noqa: E731 — per-plane dot products
    A = A.astype(np.float32)  # float32 halves the memory traffic; CG here needs no more precision
    b = np.ascontiguousarray(np.asarray(b).T, np.float32)
    inv_diag = (1 / A.diagonal()).astype(np.float32)
    x = np.array(np.asarray(x).T, np.float32, order="C", copy=True)

    def matvec(v: np.ndarray) -> np.ndarray:
        return np.stack([A @ v[k] for k in range(v.shape[0])])

    r = b - matvec(x)
    z = inv_diag * r
    p = z.copy()
    rz = dot(r, z)
    stop = rtol**2 * np.maximum(dot(b, b), 1e-30)
    for k in range(iterations):
        if np.all(dot(r, r) <= stop):
            break
        if k % 8 == 7:
            check_cancel(cancel)  # a live run superseded by the next edit stops here
        Ap = matvec(p)
        alpha = (rz / np.maximum(dot(p, Ap), 1e-30))[:, None]
        x += alpha * p
        r -= alpha * Ap
        z = inv_diag * r
        rz_new = dot(r, z)
        p = z + (rz_new / np.maximum(rz, 1e-30))[:, None] * p
        rz = rz_new
    return x.T


def propagate(
    L: np.ndarray, values: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *,
    cancel=None, direct_limit: int = DIRECT_LIMIT, reach: int | None = None,
) -> np.ndarray:
    """Spread (h, w, c) ``values`` given where ``mask`` (h, w) is set over the image, edge-aware.

    Images above ``direct_limit`` pixels are solved coarse-to-fine: the problem at half resolution
    carries colour over long distances, and a few CG iterations at full resolution put the
    borders back where the edges are (a cascadic multigrid). With ``reach``, only that many CG
    iterations from zero are run: the values spread a short, edge-aware distance (for local
    corrections). The affinity graphs come from :func:`graph`, so repeated calls on the same L*
    (the pipeline's stages, a :class:`~napari_semcolor.session.Session`) build each one once.
    """
    h, w = L.shape
    mask = mask > 0
    if not mask.any():
        return np.zeros(values.shape, np.float32)
    if reach is not None:
        return _propagate_near(graph(L, labels), values, mask, reach or 40)
    x0 = None
    if h * w > direct_limit and min(h, w) >= 4:
        coarse = coarse_shape((h, w))
        cvals, cmask = coarsen_hints(values, mask, coarse)
        clabels = None if labels is None else resize_nearest(labels, coarse)
        xc = propagate(downsample(L, coarse), cvals, cmask, clabels, cancel=cancel, direct_limit=direct_limit)
        x0 = upsample_solution(xc, (h, w), clabels, labels).reshape(h * w, -1)
    check_cancel(cancel)
    g = graph(L, labels)
    if x0 is None and g.live:  # hint sets change on this grid: reuse the hint-independent factorisation
        return g.solve(values.reshape(h * w, -1), mask.ravel()).reshape(h, w, -1)
    flat = solve_propagation(
        g.W, values.reshape(h * w, -1), mask.ravel(), x0=x0, laplacian=g.laplacian(1e-6), shape=(h, w), keep=g.direct, cancel=cancel,
    )
    return flat.reshape(h, w, -1)


def coarse_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """The next coarser grid of the cascade (half the size, rounded up)."""
    return (shape[0] + 1) // 2, (shape[1] + 1) // 2


def upsample_solution(xc: np.ndarray, shape: tuple[int, int], clabels: np.ndarray | None, labels: np.ndarray | None) -> np.ndarray:
    """A coarse solution (h, w, c) brought to ``shape``: the fine level's starting guess."""
    if labels is None:
        return resize_linear(xc, shape)
    # plain interpolation would blur colour across borders, and CG does not remove it
    from napari_semcolor.regions import upsample_in_regions

    return upsample_in_regions(np.zeros_like(xc), xc, np.zeros(shape, np.float32), clabels, labels)


def _propagate_near(g: Graph, values: np.ndarray, mask: np.ndarray, iterations: int) -> np.ndarray:
    # CG from zero with a Jacobi preconditioner moves values one graph step per iteration, so
    # only pixels within `iterations` steps of a hint ever change: solving on that neighbourhood
    # alone gives the same iterates (up to summation order) at a fraction of the cost.
    h, w = mask.shape
    near = np.flatnonzero(ndimage.maximum_filter(mask.astype(np.uint8), size=2 * (iterations + 2) + 1))
    sub = g.laplacian(1e-2)[near][:, near]
    flat = values.reshape(h * w, -1)
    part = solve_propagation(sub, flat[near], mask.ravel()[near], x0=np.zeros((near.size, flat.shape[1])), iterations=iterations, laplacian=sub)
    out = np.zeros(flat.shape, np.float32)
    out[near] = part
    return out.reshape(values.shape)


def coarsen_hints(values: np.ndarray, mask: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hints (h, w, c) and mask (h, w) on the next coarser grid ``shape`` (:func:`coarse_shape`)."""
    # a coarse pixel is a hint if any pixel of its 2×2 block is; its value is the mean of those.
    # Only the (few) hint pixels are visited, so this costs nothing next to a solve.
    ys, xs = np.nonzero(mask)
    cy, cx = ys // 2, xs // 2
    msum = np.zeros(shape, np.float32)
    vsum = np.zeros(shape + values.shape[-1:], np.float32)
    np.add.at(msum, (cy, cx), 1)
    np.add.at(vsum, (cy, cx), values[ys, xs].astype(np.float32))
    return vsum / np.maximum(msum, 1)[..., None], msum > 0
