"""Give the NST output the chroma distribution of its reference (chroma histogram matching).

The net fitted by :mod:`napari_semcolor.backends.nstcnn` predicts a central value of a*b* given
the local L*. When the reference is mostly gray, or its colours are many for one look, that
central value is near gray: the sample's propagate result (mean chroma 8.9, 83 % of its pixels
below chroma 5, six particle hues) was fitted to outputs of chroma 0.06. The net's *ranking* of
pixels (which look more colourful) and its *hue* are still informative, so the output's chroma
is remapped, rank for rank, onto the reference's chroma quantiles; the hue is kept. The
mapping is monotone, so pixels that share a colour still share one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from napari_semcolor.gamut import gamut_scale

#: most extra chroma given to the pixels that can show it, for those the gamut clips
MAX_BOOST = 2.0
#: chroma beyond any sRGB colour (the search range for a pixel's largest in-gamut chroma)
GAMUT_SPAN = 200.0
#: below this chroma a predicted a*b* has no hue: it takes the mean hue of the prediction (else of
#: the reference)
HUE_FLOOR = 1e-3


def matched_chroma(chroma: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map each value of ``chroma`` (n,) to the ``reference`` (m,) chroma of the same quantile.

    Ties in ``chroma`` get the same value (the reference quantile at their mean rank).
    """
    chroma = np.asarray(chroma, np.float64).ravel()
    reference = np.sort(np.asarray(reference, np.float64).ravel())
    if chroma.size == 0:
        return chroma.astype(np.float32)
    values, inverse, counts = np.unique(chroma, return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - 0.5 * counts  # mean rank of each distinct value, in [0, n]
    q = mid_rank / chroma.size
    return np.interp(q, (np.arange(reference.size) + 0.5) / reference.size, reference)[inverse].astype(np.float32)


def _mean_hue(*clouds: np.ndarray) -> np.ndarray:
    """Unit a*b* of the first cloud with a mean colour (else zero: such pixels stay gray)."""
    for ab in clouds:
        mean = np.asarray(ab, np.float64).mean(axis=0)
        norm = float(np.hypot(*mean))
        if norm > HUE_FLOOR:
            return (mean / norm).astype(np.float32)
    return np.zeros(2, np.float32)


def gamut_boost(chroma: np.ndarray, capacity: np.ndarray, goal: float, most: float = MAX_BOOST) -> float:
    """The factor s in [1, ``most``] whose ``mean(min(s · chroma, capacity))`` reaches ``goal``.

    ``capacity`` is each pixel's largest in-gamut chroma; s = 1 if nothing is lost to the gamut.
    """
    def reached(s: float) -> float:
        return float(np.minimum(s * chroma, capacity).mean())

    if reached(1.0) >= goal or chroma.size == 0:
        return 1.0
    lo, hi = 1.0, float(most)
    if reached(hi) <= goal:
        return hi
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if reached(mid) < goal else (lo, mid)
    return lo


@lru_cache(maxsize=1)
def _capacity_table() -> np.ndarray:
    """Largest in-gamut chroma on a grid of L* (0–100, step 1/2) × hue (step 1°), computed once."""
    L = np.linspace(0, 100, 201, dtype=np.float32)[:, None].repeat(360, axis=1)
    hue = np.deg2rad(np.arange(360, dtype=np.float32))
    unit = np.broadcast_to(np.stack([np.cos(hue), np.sin(hue)], -1), L.shape + (2,))
    return GAMUT_SPAN * gamut_scale(L, unit * GAMUT_SPAN, iterations=14)


def capacity(L: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Largest chroma inside sRGB at each pixel's L* (n,) and hue (unit a*b*, (n, 2)), to ~1 C*."""
    row = np.clip(np.rint(np.asarray(L, np.float32) * 2), 0, 200).astype(np.intp)
    col = np.rint(np.rad2deg(np.arctan2(unit[:, 1], unit[:, 0]))).astype(np.intp) % 360
    return _capacity_table()[row, col]


def match_chroma(
    ab: np.ndarray, reference_ab: np.ndarray, where: np.ndarray | None = None, strength: float = 1.0, L: np.ndarray | None = None
) -> np.ndarray:
    """``ab`` (h, w, 2) with the chroma of the pixels in ``where`` matched to ``reference_ab``.

    Parameters
    ----------
    ab : (h, w, 2) float
        Predicted a*b*.
    reference_ab : (m, 2) float
        a*b* of the reference's pixels (those it was fitted on).
    where : (h, w) bool, optional
        The pixels coloured from this reference (default: all).
    strength : float in [0, 1]
        0 keeps the predicted chroma, 1 gives the reference's distribution; in between, the
        chroma is blended (hue unchanged).
    L : (h, w) float, optional
        The output's L*. Given, chroma that sRGB cannot show at a pixel's L* (a darker or
        brighter image than the reference) is made up for by up to :data:`MAX_BOOST` times more
        chroma on the others, so the output's mean chroma still reaches the reference's.

    Returns
    -------
    (h, w, 2) float32; pixels outside ``where`` are unchanged.
    """
    out = np.array(ab, np.float32, copy=True)
    where = np.ones(ab.shape[:2], bool) if where is None else np.asarray(where, bool)
    if strength <= 0 or not where.any() or len(reference_ab) == 0:
        return out
    sel = out[where]
    chroma = np.hypot(sel[:, 0], sel[:, 1])
    target = matched_chroma(chroma, np.hypot(reference_ab[:, 0], reference_ab[:, 1]))
    target = (1 - strength) * chroma + strength * target
    unit = np.where(chroma[:, None] > HUE_FLOOR, sel / np.maximum(chroma, HUE_FLOOR)[:, None], _mean_hue(sel, reference_ab))
    if L is not None:
        goal = float(np.hypot(reference_ab[:, 0], reference_ab[:, 1]).mean()) * strength + (1 - strength) * float(chroma.mean())
        room = capacity(np.asarray(L, np.float32)[where], unit)
        target = np.minimum(target * gamut_boost(target, room, goal), np.maximum(room, target))
    out[where] = unit * target[:, None]
    return out


__all__ = ["matched_chroma", "match_chroma"]
