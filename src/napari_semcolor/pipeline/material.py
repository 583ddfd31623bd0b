"""The material a hint sits on, and the backend's colour of it: what a hint corrects.

A backend's colours vary inside one material (texture, a CNN's local mistakes, a style fit's
noise). The residual ``hint − backend colour`` taken at the few pixels under a hint would shift the
whole region by that local deviation (measured on the 30×256×256 benchmark volume with nst: up
to 11 ΔE_ab in b* inside a 2000-pixel region); taken against the median colour of the hint's
material it shifts the region to the hint as a whole. The material around a hint is its
connected set of pixels within :data:`HINT_NEIGHBOURHOOD` pixels whose L* is within
``3 × noise`` of the hint's (and in its region, with labels).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import ndimage

from napari_semcolor.propagation import noise_level

#: a hint's own colour is read over the material this many pixels around it
HINT_NEIGHBOURHOOD = 8


def hint_materials(
    L: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None,
) -> Iterator[tuple[tuple[slice, slice], np.ndarray, np.ndarray]]:
    """The material around each hint spot (connected set of hint pixels) of one plane.

    Parameters
    ----------
    L : (h, w) float
        L* of the plane.
    mask : (h, w) bool
        Hint pixels.
    labels : (h, w) int, optional
        Regions a material does not leave (the spot's most common label).

    Yields
    ------
    window : tuple of slice
        The spot's bounding box grown by :data:`HINT_NEIGHBOURHOOD` (clipped to the plane).
    spot, material : (window's shape) bool
        The spot's pixels, and its material (the spot included), inside ``window``.
    """
    if not mask.any():
        return
    tolerance = 3 * max(noise_level(L), 0.5)
    r = HINT_NEIGHBOURHOOD
    spots, _ = ndimage.label(mask)
    for i, box in enumerate(ndimage.find_objects(spots), start=1):
        window = tuple(slice(max(b.start - r, 0), b.stop + r) for b in box)
        spot = spots[window] == i
        near = np.abs(L[window] - np.median(L[window][spot])) <= tolerance
        if labels is not None:
            ids, counts = np.unique(labels[window][spot], return_counts=True)  # (any ids: negative, huge)
            near &= labels[window] == ids[counts.argmax()]
        parts, _ = ndimage.label(near | spot)
        yield window, spot, np.isin(parts, np.unique(parts[spot]))


def material_colour(ab: np.ndarray, L: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(h, w, 2): at every hint pixel, the median of ``ab`` over the material around its hint
    (:func:`hint_materials`); elsewhere ``ab``."""
    out = ab.copy()
    for window, spot, material in hint_materials(L, mask, labels):
        out[window][spot] = np.median(ab[window][material], axis=0)
    return out
