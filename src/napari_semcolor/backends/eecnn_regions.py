"""What the EE-CNN backend does after its network: coherent regions, and hints that win.

The network reads colour out pixel by pixel, so one particle can come out mottled (pink here, blue
there) and a flat substrate blotchy. Two steps, both at working resolution, fix that without
retraining:

* :func:`pull_to_regions` — the image's own regions are a soft cue: each pixel's a*b* is blended
  towards its region's dominant a*b* (``region_coherence`` 0–1). The regions are the caller's
  labels when given, else :func:`auto_regions` (a cheap multi-Otsu segmentation).
* :func:`propagate_with_prior` — with hints, the hint colours are spread edge-aware as the
  ``propagate`` backend does, with the network's a*b* only as a weak prior: a hint wins near
  itself (along similar gray), its pull fades over about ``reach`` pixels (much faster across
  edges), and the network's colour fills what no hint reaches.
"""

from __future__ import annotations

import numpy as np

from napari_semcolor.postprocess import dominant_colors
from napari_semcolor.propagation import DIRECT_LIMIT, graph
from napari_semcolor.regions import auto_regions


def pull_to_regions(ab: np.ndarray, labels: np.ndarray, strength: float) -> np.ndarray:
    """Blend each pixel's a*b* (h, w, 2) towards the dominant a*b* of its region.

    Parameters
    ----------
    ab : (h, w, 2) float
    labels : (h, w) int
        Regions; every value (0 and negatives too) is one group of pixels.
    strength : float in [0, 1]
        0 leaves ``ab`` as it is; 1 gives every region one colour.
    """
    s = float(np.clip(strength, 0.0, 1.0))
    if s == 0:
        return ab
    groups = np.asarray(labels).astype(np.int64)
    groups = groups - groups.min()
    ids, colours = dominant_colors(ab.reshape(-1, 2), groups.ravel())
    lut = np.zeros((int(ids.max()) + 1, 2), np.float32)
    lut[ids] = colours
    return ((1 - s) * ab + s * lut[groups]).astype(np.float32)


def propagate_with_prior(
    L: np.ndarray, prior_ab: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray,
    labels: np.ndarray | None = None, *, reach: float = 64.0, iterations: int = 40,
) -> np.ndarray:
    """Spread the hints edge-aware over the image, falling back to ``prior_ab`` far from them.

    Minimises ``Σ w_rs (x_r − x_s)² + λ Σ (x_r − prior_r)²`` with the hint pixels fixed, where
    ``w`` are the propagation affinities (:func:`~napari_semcolor.propagation.affinity_graph`) and
    ``λ = 1 / reach²``: a hint's pull fades over about ``reach`` pixels of similar gray (much
    faster across edges; in 2D a small hint's pull already halves a few pixels away unless the
    reach is long), and where no hint reaches the result is the prior, lightly smoothed. As
    ``reach`` grows the result tends to the ``propagate`` backend's.

    Parameters
    ----------
    L : (h, w) L* 0–100
    prior_ab : (h, w, 2) the network's a*b*
    hint_ab : (h, w, 2), hint_mask : (h, w)
        Rasterised hints (mask > 0 where a hint is).
    labels : (h, w) int, optional
        Region borders the hints do not cross.
    reach : float
        Decay length in pixels (> 0).
    iterations : int
        CG iterations on each grid above the directly solved one (fewer: faster, borders less exact).

    Returns
    -------
    (h, w, 2) float32
    """
    import scipy.sparse.linalg as spl

    from napari_semcolor.propagation import conjugate_gradient

    h, w = L.shape
    known = hint_mask.ravel() > 0
    prior = prior_ab.reshape(-1, 2).astype(np.float64)
    out = prior.copy()
    if not known.any():
        return prior_ab.astype(np.float32)
    # coarse-to-fine above the direct-solve size, on the same grids as propagate() and a live Session
    x0 = _coarse_solution(L, prior_ab, hint_ab, hint_mask, labels, reach, iterations) if h * w > DIRECT_LIMIT and min(h, w) >= 4 else None
    lam = 1.0 / max(float(reach), 1e-3) ** 2
    g = graph(L, labels)  # cached per L*: a live session's edits and stages share it
    if x0 is None and g.live:  # hint sets change on this grid: reuse the hint-independent factorisation
        return g.solve(hint_ab.reshape(-1, 2), known, prior=prior, leak=lam).reshape(h, w, 2)
    out[known] = hint_ab.reshape(-1, 2)[known]
    free = ~known
    W = g.W
    A = g.laplacian(lam)
    A_free = A[free][:, free]
    rhs = lam * prior[free] + W[free][:, known] @ out[known]
    if x0 is None:
        lu = spl.splu(A_free.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        out[free] = lu.solve(np.ascontiguousarray(rhs))
    else:  # a few CG iterations put the coarse solution's borders back on the edges
        out[free] = conjugate_gradient(A_free, rhs, x0.reshape(-1, 2)[free], iterations=iterations)
    return out.reshape(h, w, 2).astype(np.float32)


def _coarse_solution(L, prior_ab, hint_ab, hint_mask, labels, reach, iterations) -> np.ndarray:
    """:func:`propagate_with_prior` at half resolution, upsampled (the start of the fine solve)."""
    from napari_semcolor.upsample import downsample, resize_linear, resize_nearest

    h, w = L.shape
    coarse = (h + 1) // 2, (w + 1) // 2
    mask = (hint_mask > 0).astype(np.float32)
    cover = downsample(mask, coarse)
    cab = downsample(hint_ab * mask[..., None], coarse) / np.maximum(cover, 1e-6)[..., None]
    clabels = None if labels is None else resize_nearest(labels, coarse)
    xc = propagate_with_prior(downsample(L, coarse), downsample(prior_ab, coarse), cab, cover > 0, clabels, reach=reach / 2, iterations=iterations)
    return resize_linear(xc, (h, w))


def refine_prediction(
    ab: np.ndarray, L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, labels: np.ndarray | None,
    *, region_coherence: float, hint_reach: float, regions: np.ndarray | None = None, iterations: int = 40,
) -> np.ndarray:
    """The network's a*b* (h, w, 2) made region-coherent and, with hints, led by the hints.

    ``regions`` (the cue) defaults to ``labels`` when given, else :func:`auto_regions` of ``L``;
    ``hint_reach`` is a fraction of the image's long side (0 keeps the network's colour and leaves
    the hints to the pipeline's correction alone); ``iterations`` as for :func:`propagate_with_prior`.
    """
    if region_coherence > 0:
        if regions is None:
            regions = labels if labels is not None else auto_regions(L)
        ab = pull_to_regions(ab, regions, region_coherence)
    if hint_reach > 0 and (hint_mask > 0).any():
        ab = propagate_with_prior(L, ab, hint_ab, hint_mask, labels, reach=hint_reach * max(L.shape), iterations=iterations)
    return ab


__all__ = ["auto_regions", "pull_to_regions", "propagate_with_prior", "refine_prediction"]
