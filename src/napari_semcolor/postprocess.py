"""Optional a*b* post-processing at working resolution, for any backend (Goytom et al. 2019).

* :func:`one_color_per_region`: each region takes its dominant colour (the HED-bounded uniform
  colouring of the EE-CNN paper).
* :func:`same_gray_same_color`: pixels of equal L* share the most frequent a*b* among them (the
  paper's post-process), blended in with a strength; within regions when labels are given.

"Dominant" is the densest cell of a 4-unit a*b* histogram, read out as the mean of the colours in
that cell: unlike the mean of the region it is not pulled towards gray by a few odd pixels.
"""

from __future__ import annotations

import numpy as np

from napari_semcolor._deprecation import renamed

_CELL = 4.0  # a*b* histogram cell (ΔE ≈ 4: barely visible)
_SPAN = 128.0  # |a*|, |b*| covered by the histogram


def dominant_colors(ab: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dominant a*b* of each group of pixels.

    Parameters
    ----------
    ab : (n, 2) float
    groups : (n,) non-negative int
        Group index of each pixel.

    Returns
    -------
    ids : (g,) int
        The groups present.
    colours : (g, 2) float32
        Dominant a*b* of each group, in the order of ``ids``.
    """
    n_side = int(2 * _SPAN / _CELL)
    cells = np.clip(((ab + _SPAN) / _CELL).astype(np.int64), 0, n_side - 1)
    cell = cells[:, 0] * n_side + cells[:, 1]
    ids, g = np.unique(groups, return_inverse=True)
    key = g * n_side * n_side + cell
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    sums = np.stack([np.bincount(inverse, weights=ab[:, i], minlength=len(keys)) for i in range(2)], axis=-1)
    owner = keys // (n_side * n_side)
    order = np.lexsort((-counts, owner))  # per group, the fullest cell first
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    return ids, (sums[first] / counts[first, None]).astype(np.float32)


def one_color_per_region(ab: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fill every region of ``labels`` (h, w) with its dominant a*b*; ab is (h, w, 2)."""
    ids, colours = dominant_colors(ab.reshape(-1, 2), _nonnegative(labels).ravel())
    lut = np.zeros((int(ids.max()) + 1, 2), np.float32)
    lut[ids] = colours
    return lut[_nonnegative(labels)]


def same_gray_same_color(ab: np.ndarray, L: np.ndarray, strength: float = 1.0, labels: np.ndarray | None = None, *, levels: int = 101) -> np.ndarray:
    """Blend each pixel's a*b* towards the dominant a*b* of all pixels with the same L* level.

    Parameters
    ----------
    ab : (h, w, 2)
    L : (h, w) L* in [0, 100]
    strength : float in [0, 1]
        0 leaves ``ab`` as it is, 1 replaces it.
    labels : (h, w) int, optional
        Only pixels of the same region share colours.
    levels : int
        Number of L* levels (101 = one per unit of L*).
    """
    if strength <= 0:
        return ab
    level = np.clip(np.round(L / 100 * (levels - 1)), 0, levels - 1).astype(np.int64)
    groups = level if labels is None else _nonnegative(labels).astype(np.int64) * levels + level
    ids, colours = dominant_colors(ab.reshape(-1, 2), groups.ravel())
    shared = colours[np.searchsorted(ids, groups)]
    s = float(min(strength, 1.0))
    return ((1 - s) * ab + s * shared).astype(np.float32)


def _nonnegative(labels: np.ndarray) -> np.ndarray:
    # negative labels (e.g. a data bar marked -1) become their own group after the others
    labels = np.asarray(labels)
    return np.where(labels < 0, labels.max(initial=0) + 1 - labels, labels)


# the British spellings stay importable for one release
_RENAMED = {"one_colour_per_region": "one_color_per_region", "same_gray_same_colour": "same_gray_same_color", "dominant_colours": "dominant_colors"}
__getattr__ = renamed(__name__, _RENAMED, globals())
