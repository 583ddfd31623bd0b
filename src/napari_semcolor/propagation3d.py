"""Edge-aware propagation through a stack of planes (z or t): :mod:`.propagation` in 3D.

The graph of a volume is each plane's own 8-neighbour affinity graph
(:func:`~napari_semcolor.propagation.affinity_graph`) plus edges from every voxel to the voxel
under it on the next plane, with the same weight ``exp(−ΔL² / 2σ²)``, so a hint spreads to the
planes around it along similar gray values and stops at edges in 3D. Three things are specific
to stacks:

* **anisotropy**: a z-edge is weighted by ``pixel size / plane spacing`` (a diagonal in-plane
  neighbour, √2 away, gets ``1/√2`` the same way), so thick sections couple less than thin ones;
* **σ per direction**: in-plane differences of smoothed L* see less noise than differences between
  planes (each plane has its own noise), so the z-edges get their own robust noise estimate;
* **drift**: with per-plane shifts (:func:`plane_shifts`, phase correlation) a voxel is linked to
  where its content went on the next plane, split bilinearly over the four voxels around it.

Solved as in 2D: a direct solve on a coarse grid (planes downsampled in-plane, the z axis kept),
refined by conjugate gradients on each finer grid (a cascadic multigrid).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from napari_semcolor.errors import check_cancel
from napari_semcolor.propagation import affinity_graph, coarse_shape, coarsen_hints, conjugate_gradient, noise_level, upsample_solution
from napari_semcolor.upsample import downsample, resize_nearest

#: volumes up to this many voxels are solved directly (sparse LU); larger ones coarse-to-fine
DIRECT_LIMIT = 8_000
#: a z-edge weighs at most this much (planes much thinner than a working pixel)
MAX_Z_WEIGHT = 4.0
#: pull of a hinted plane's own 2D colouring on its voxels (:func:`propagate_stack`)
KEY_WEIGHT = 0.5


def plane_shifts(L: np.ndarray, *, subpixel: bool = True) -> np.ndarray:
    """Drift between consecutive planes by phase correlation: (n − 1, 2) float (dy, dx).

    Row ``k`` is where the content of plane ``k`` is found on plane ``k + 1``, in pixels of ``L``
    (content at (y, x) on plane k is at (y + dy, x + dx) on plane k + 1).
    """
    from skimage.registration import phase_cross_correlation

    shifts = np.zeros((max(len(L) - 1, 0), 2))
    for k in range(len(L) - 1):
        found = phase_cross_correlation(L[k], L[k + 1], upsample_factor=10 if subpixel else 1)[0]
        shifts[k] = checked_shift(L[k], L[k + 1], -np.asarray(found, np.float64))
    return shifts


def checked_shift(a: np.ndarray, b: np.ndarray, shift: np.ndarray, *, margin: float = 0.2) -> np.ndarray:
    """``shift`` (content of ``a`` at (y, x) is on ``b`` at (y, x) + shift) if the data bear it out.

    Phase correlation weighs every frequency alike, so on planes with little structure (flat
    areas and noise) it answers a random shift of tens of pixels, and on planes uniform in one
    direction (lines, trenches) any shift along it. A shift of a pixel or more is kept only if
    ``b`` moved by it matches ``a`` at least ``margin`` better (mean squared difference over their
    overlap) than ``b`` left in place; of the shift and the shift along one axis only, the
    shortest that matches within ``margin`` of the best is taken. Otherwise the planes are taken
    as not moved (0, 0). Shifts under half a pixel are kept as found. (The margin is far above the
    chance improvement of the best of many random shifts on pure noise, a few per cent; a real
    drift of a pixel or more on structured planes removes most of the difference.)
    """
    shift = np.asarray(shift, np.float64)
    if not np.any(np.round(shift)):
        return shift
    a_s, b_s = np.asarray(a, np.float32), np.asarray(b, np.float32)
    candidates = sorted({(shift[0], 0.0), (0.0, shift[1]), (shift[0], shift[1])} - {(0.0, 0.0)}, key=lambda c: np.hypot(*c))
    moved, still = {}, {}
    for c in candidates:
        src, dst = _overlap(a.shape, np.round(c).astype(int))
        if src is None or a_s[src].size < a.size / 4:  # too little left in common to tell
            continue
        moved[c] = float(np.mean((b_s[dst] - a_s[src]) ** 2))
        still[c] = float(np.mean((b_s[src] - a_s[src]) ** 2))
    good = [c for c in moved if moved[c] <= (1 - margin) * still[c]]
    if not good:
        return np.zeros(2)
    best = min(moved[c] for c in good)
    return np.asarray(next(c for c in good if moved[c] <= (1 + margin) * best), np.float64)


def _overlap(shape: tuple[int, int], offset) -> tuple:
    """Slices (in a, in b) of the pixels of a plane and where they are after moving by whole-pixel ``offset``."""
    h, w = shape
    oy, ox = int(offset[0]), int(offset[1])
    if abs(oy) >= h or abs(ox) >= w:
        return None, None
    src = (slice(max(0, -oy), h - max(0, oy)), slice(max(0, -ox), w - max(0, ox)))
    dst = (slice(max(0, oy), h + min(0, oy)), slice(max(0, ox), w + min(0, ox)))
    return src, dst


def volume_graph(
    L: np.ndarray, labels: np.ndarray | None = None, *, spacing: Sequence[float] = (1.0, 1.0, 1.0),
    shifts: np.ndarray | None = None, smooth: float = 1.0, sigma_floor: float = 1.0, in_plane: bool = True,
) -> sp.csr_matrix:
    """Symmetric affinity matrix of a stack of L* planes: in-plane 8-neighbours and plane to plane.

    Parameters
    ----------
    L : (n, h, w) float
        L* in [0, 100].
    labels : (h, w) or (n, h, w) int, optional
        Voxels in different regions get affinity 0 (2D labels: the same regions on every plane).
    spacing : (sz, sy, sx)
        Voxel size of this grid (any unit, the same for all three); ``sz`` may also be the
        (n − 1,) gaps between consecutive planes (a stack solved on a subset of its planes).
    shifts : (n − 1, 2) float, optional
        Drift between consecutive planes (:func:`plane_shifts`), in pixels of this grid.
    smooth : float
        In-plane Gaussian σ applied to L* before the affinities.
    sigma_floor : float
        Smallest σ, for noise-free images.
    in_plane : bool
        False: only the edges between planes (smoothing through z alone).
    """
    n, h, w = L.shape
    Ls = ndimage.gaussian_filter(L.astype(np.float32), (0, smooth, smooth)) if smooth > 0 else L.astype(np.float32)
    sigma_xy = max(float(np.median([noise_level(p) for p in Ls])), sigma_floor)
    lab = None if labels is None else (np.broadcast_to(labels, L.shape) if np.ndim(labels) == 2 else np.asarray(labels))
    shifts = np.zeros((max(n - 1, 0), 2)) if shifts is None else np.asarray(shifts, np.float64)
    size = n * h * w
    W = sp.csr_matrix((size, size))
    if in_plane:
        # the planes one under the other are one tall image whose pixel order is the volume's;
        # a label per plane cuts the edges from one plane's last row to the next plane's first
        plane = np.repeat(np.arange(n, dtype=np.int64), h * w).reshape(n * h, w)
        cut = plane if lab is None else lab.reshape(n * h, w).astype(np.int64) * n + plane
        W = affinity_graph(Ls.reshape(n * h, w), cut, sigma=sigma_xy, smooth=0, sigma_floor=sigma_floor)
    if n < 2:
        return W
    z_links = [_z_links(Ls[k], Ls[k + 1], shifts[k]) for k in range(n - 1)]
    sigma_z = max(_robust_sigma([max(links, key=lambda link: link[2])[3] for links in z_links if links]), sigma_xy)
    gaps = np.broadcast_to(np.asarray(spacing[0], np.float64), (n - 1,))
    z_weight = np.minimum(float(np.mean(spacing[1:])) / gaps, MAX_Z_WEIGHT)
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for k, links in enumerate(z_links):
        for src, dst, share, d in links:
            wgt = share * float(z_weight[k]) * np.exp(-(d**2) / (2 * sigma_z**2))
            if lab is not None:
                wgt = np.where(lab[k][src] == lab[k + 1][dst], wgt, 0)
            rows.append(idx[src].ravel() + k * h * w)
            cols.append(idx[dst].ravel() + (k + 1) * h * w)
            vals.append(wgt.ravel())
    Wz = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)).tocsr()
    return (W + Wz + Wz.T).tocsr()


def _z_links(La: np.ndarray, Lb: np.ndarray, shift) -> list:
    """(source slices, target slices, bilinear share, ΔL*) of the edges from plane a to plane b."""
    h, w = La.shape
    iy, ix = int(np.floor(shift[0])), int(np.floor(shift[1]))
    fy, fx = float(shift[0]) - iy, float(shift[1]) - ix
    links = []
    for oy, wy in ((iy, 1 - fy), (iy + 1, fy)):
        for ox, wx in ((ix, 1 - fx), (ix + 1, fx)):
            src, dst = _overlap((h, w), (oy, ox))
            if wy * wx < 1e-3 or src is None:
                continue
            links.append((src, dst, wy * wx, Lb[dst] - La[src]))
    return links


def _robust_sigma(diffs: list[np.ndarray]) -> float:
    # the same robust per-voxel noise estimate as noise_level, from differences between planes
    if not diffs:
        return 0.0
    d = np.concatenate([x.ravel() for x in diffs])
    return float(np.median(np.abs(d - np.median(d))) * 1.4826 / np.sqrt(2))


def propagate_volume(
    L: np.ndarray, values: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *,
    spacing: Sequence[float] = (1.0, 1.0, 1.0), shifts: np.ndarray | None = None, cancel=None,
    progress: Callable[[float], None] | None = None, prior: np.ndarray | None = None, prior_weight: np.ndarray | None = None,
    direct_limit: int = DIRECT_LIMIT, iterations: int = 60,
) -> np.ndarray:
    """Spread (n, h, w, c) ``values`` given where ``mask`` (n, h, w) is set through the stack, edge-aware.

    Hints may sit on any planes, any number of them. Stacks above ``direct_limit`` voxels are
    solved coarse-to-fine: every plane at half resolution (the z axis kept), then ``iterations``
    CG steps on the finer grid from the upsampled coarse solution.

    Parameters
    ----------
    L : (n, h, w) float
        L* in [0, 100].
    values : (n, h, w, c) float
        Values at the hint voxels (anything elsewhere).
    mask : (n, h, w)
        Non-zero at hint voxels (hard constraints).
    labels : (h, w) or (n, h, w) int, optional
        Region borders are hard boundaries.
    spacing, shifts : see :func:`volume_graph`
    prior, prior_weight : (n, h, w, c) and (n, h, w), optional
        A soft data term: voxels are pulled towards ``prior`` with strength ``prior_weight``
        (0 = free). Hints stay hard constraints.
    cancel : threading.Event-like, optional
    progress : callable(fraction), optional
        Called after each level of the cascade.

    Returns
    -------
    (n, h, w, c) float32
    """
    n, h, w = L.shape
    mask = np.asarray(mask) > 0
    soft = prior is not None and prior_weight is not None and np.any(prior_weight > 0)
    if not mask.any() and not soft:
        return np.zeros(values.shape, np.float32)
    x0 = None
    if n * h * w > direct_limit and min(h, w) >= 4:
        coarse = coarse_shape((h, w))
        cv, cm = zip(*(coarsen_hints(values[k], mask[k], coarse) for k in range(n)))
        clabels = None if labels is None else _per_plane(labels, lambda p: resize_nearest(p, coarse))
        cshifts = None if shifts is None else np.asarray(shifts) * (coarse[0] / h, coarse[1] / w)
        cspacing = (spacing[0], spacing[1] * h / coarse[0], spacing[2] * w / coarse[1])
        cprior = cweight = None
        if soft:
            cprior = np.stack([downsample(p, coarse) for p in prior])
            cweight = np.stack([downsample(p, coarse) for p in prior_weight])
        xc = propagate_volume(
            np.stack([downsample(p, coarse) for p in L]), np.stack(cv), np.stack(cm), clabels,
            spacing=cspacing, shifts=cshifts, cancel=cancel, progress=None, prior=cprior, prior_weight=cweight,
            direct_limit=direct_limit, iterations=iterations,
        )
        x0 = np.stack([
            upsample_solution(xc[k], (h, w), None if labels is None else _plane(clabels, k), None if labels is None else _plane(labels, k))
            for k in range(n)
        ]).reshape(n * h * w, -1)
        if progress is not None:
            progress(0.5)
    check_cancel(cancel)
    W = volume_graph(L, labels, spacing=spacing, shifts=shifts)
    check_cancel(cancel)
    flat = solve_soft(
        W, values.reshape(n * h * w, -1), mask.ravel(), x0=x0, iterations=iterations,
        prior=prior.reshape(n * h * w, -1) if soft else None, prior_weight=prior_weight.ravel() if soft else None,
    )
    if progress is not None:
        progress(1.0)
    return flat.reshape(values.shape)


def solve_soft(
    W: sp.csr_matrix, values: np.ndarray, mask: np.ndarray, *, prior: np.ndarray | None = None,
    prior_weight: np.ndarray | None = None, x0: np.ndarray | None = None, iterations: int = 60, leak: float = 1e-6,
) -> np.ndarray:
    """Minimise ``Σ w (x_r − x_s)² + Σ λ (x − prior)² + leak Σ x²`` with ``x = values`` where ``mask``.

    :func:`~napari_semcolor.propagation.solve_propagation` with a soft data term: directly (sparse
    LU) without ``x0``, else by Jacobi-preconditioned CG from ``x0``. Returns (n, c) float32.
    """
    n, c = values.shape
    known = mask.astype(bool)
    out = np.zeros((n, c), np.float64)
    out[known] = values[known]
    free = ~known
    if not free.any():
        return out.astype(np.float32)
    lam = np.zeros(n) if prior_weight is None else np.asarray(prior_weight, np.float64)
    lap = (sp.diags(np.asarray(W.sum(axis=1)).ravel() + leak + lam) - W).tocsr()
    lap_free = lap[free]
    A = lap_free[:, free].tocsr()
    rhs = -(lap_free[:, known] @ values[known].astype(np.float64))
    if prior is not None:
        rhs += (lam[:, None] * prior)[free]
    if x0 is None:
        import scipy.sparse.linalg as spl

        lu = spl.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        out[free] = lu.solve(np.ascontiguousarray(rhs))
    else:
        out[free] = conjugate_gradient(A, rhs, x0[free], iterations)
    return out.astype(np.float32)


def smooth_through_planes(
    L: np.ndarray, ab: np.ndarray, labels: np.ndarray | None = None, *, weight: float = 0.05,
    spacing: Sequence[float] = (1.0, 1.0, 1.0), shifts: np.ndarray | None = None, iterations: int = 60,
) -> np.ndarray:
    """Per-plane colourings (n, h, w, c) made consistent between neighbouring planes.

    Each voxel is pulled to its own plane's value with strength ``weight`` and to the voxels
    linked to it on the planes above and below (edge-aware, aligned by ``shifts``) with their
    affinity: a static object keeps one colour through the stack (a smoothing over about
    ``1/√weight`` planes), while a voxel whose gray value changes between planes keeps its own.
    """
    n, h, w = L.shape
    W = volume_graph(L, labels, spacing=spacing, shifts=shifts, in_plane=False)
    flat = np.asarray(ab, np.float32).reshape(n * h * w, -1)
    none = np.zeros(n * h * w, bool)
    return solve_soft(W, flat, none, prior=flat, prior_weight=np.full(n * h * w, weight), x0=flat, iterations=iterations).reshape(ab.shape)


def _plane(labels: np.ndarray, k: int) -> np.ndarray:
    return labels if np.ndim(labels) == 2 else labels[k]


def _per_plane(labels: np.ndarray, f) -> np.ndarray:
    return f(labels) if np.ndim(labels) == 2 else np.stack([f(p) for p in labels])


def propagate_stack(
    L: np.ndarray, values: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *,
    key_weight: float = KEY_WEIGHT, **kwargs,
) -> np.ndarray:
    """:func:`propagate_volume` of hints, each first spread over its own plane.

    A hint patch is small next to the volume it should colour, and in 3D the pull of a small
    patch fades much faster with distance than in 2D, so colour leaks across weak edges before it
    fills an object through the planes. Each hinted plane is therefore coloured first
    (:func:`~napari_semcolor.propagation.propagate` in 2D) and its whole colouring is a soft
    data term (``key_weight``) of the 3D solve: every voxel of an object on that plane pulls the
    object's voxels on the planes around it. Keyword arguments are those of :func:`propagate_volume`.
    """
    from napari_semcolor.propagation import propagate

    mask = np.asarray(mask) > 0
    prior = np.zeros(values.shape, np.float32)
    weight = np.zeros(L.shape, np.float32)
    for k in np.flatnonzero(mask.reshape(len(mask), -1).any(axis=1)):
        check_cancel(kwargs.get("cancel"))
        prior[k] = propagate(L[k], values[k], mask[k], None if labels is None else _plane(labels, k))
        weight[k] = key_weight
    return propagate_volume(L, values, mask, labels, prior=prior, prior_weight=weight, **kwargs)


def linked_weight(L: np.ndarray, other: np.ndarray, *, link: float, smooth: float = 1.0, sigma_floor: float = 1.0) -> np.ndarray:
    """(n, h, w) weights of links from every voxel of ``L`` to the same voxel of ``other`` (an
    aligned neighbouring volume, e.g. the next time point): ``link · exp(−ΔL² / 2σ²)``, the form
    and robust σ of the z-links of :func:`volume_graph`, so colour crosses where the gray value
    holds and stops where it changes. ``link`` plays the z-links' ``pixel size / spacing``."""
    Ls, Lo = (ndimage.gaussian_filter(np.asarray(x, np.float32), (0, smooth, smooth)) for x in (L, other))
    d = Lo - Ls
    sigma = max(_robust_sigma([d]), float(np.median([noise_level(p) for p in Ls])), sigma_floor)
    return (link * np.exp(-(d**2) / (2 * sigma**2))).astype(np.float32)
