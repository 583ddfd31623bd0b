"""Volumes too deep for the voxel budget: solved on a subset of their planes, interpolated between.

The working resolution of a volume keeps at most a budget of voxels, but a plane is never worked
below the smallest working size: past about ``budget / smallest plane`` planes (1 500 for the
defaults) the 3D graph would grow with the depth. Such a volume is solved on planes spread evenly
through it, the first, the last and every hinted plane included (:func:`solved_planes`), and the
planes in between get their a*b* by linear interpolation along the stack between the two nearest
solved planes (:meth:`SolvedVolume.at`), following the drift between them when the planes are
aligned. Linear rather than nearest: nearest would hold a colour for half a gap and then jump
(flicker between consecutive planes at every switch), while linear interpolation changes it
gradually, and the write stage refines each plane and upsamples it with the plane's own L*
(guided), which puts the borders back where that plane has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def solved_planes(n: int, plane_voxels: int, hinted: list[int], budget: int) -> list[int]:
    """The planes (sorted numbers in ``range(n)``) a volume of ``n`` planes is solved on.

    All of them when they fit in ``budget`` voxels; else the hinted planes and, filling the rest
    of the budget, planes evenly spread from the first to the last (at least two planes in all).
    If even the hinted planes do not fit, an evenly spread choice of them is kept: the write
    stage still meets every plane's hints (refinement), in 2D.
    """
    fit = max(budget // max(plane_voxels, 1), 2)
    if n <= fit:
        return list(range(n))
    hinted = sorted(set(hinted))
    if len(hinted) > fit - 2:
        hinted = [hinted[i] for i in _spread(len(hinted), fit - 2)]
    return sorted(set(_spread(n, fit - len(hinted))) | set(hinted))


def _spread(n: int, count: int) -> list[int]:
    """``count`` numbers in ``range(n)`` evenly spread, the first and the last included (count ≤ n)."""
    if count <= 0:
        return []
    return [int(i) for i in np.unique(np.round(np.linspace(0, n - 1, count)).astype(int))]


@dataclass
class SolvedVolume:
    """A volume's a*b* (and L*) at working resolution on the planes it was solved on.

    Attributes
    ----------
    positions : list of int
        The solved planes' numbers, sorted (every plane when the volume was solved whole).
    ab : (m, h, w, 2) float32
    L : (m, h, w) float32
    shifts : (m − 1, 2) float or None
        Drift between consecutive solved planes (:func:`~napari_semcolor.propagation3d.plane_shifts`)
        when the planes were aligned.
    """

    positions: list[int]
    ab: np.ndarray
    L: np.ndarray
    shifts: np.ndarray | None = None

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(a*b* (h, w, 2), L* (h, w)) of plane ``k``: the solved plane's, else interpolated linearly
        between the two nearest solved planes (along their drift when known)."""
        i = int(np.searchsorted(self.positions, k))
        if i < len(self.positions) and self.positions[i] == k:
            return self.ab[i], self.L[i]
        a, b = self.positions[i - 1], self.positions[i]
        f = (k - a) / (b - a)
        # content at p on plane a is at p + d on plane b, so at p + f·d on plane k
        d = np.zeros(2) if self.shifts is None else np.asarray(self.shifts[i - 1], np.float64)
        ab = (1 - f) * moved(self.ab[i - 1], f * d) + f * moved(self.ab[i], -(1 - f) * d)
        L = (1 - f) * moved(self.L[i - 1], f * d) + f * moved(self.L[i], -(1 - f) * d)
        return ab.astype(np.float32), L.astype(np.float32)


def moved(plane: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``plane`` with its content moved by ``shift`` (dy, dx) pixels (bilinear, edges repeated)."""
    if not np.any(shift):
        return plane
    return ndimage.shift(plane, (*shift, *([0] * (plane.ndim - 2))), order=1, mode="nearest")
