"""Gamut mapping at fixed L* and hue: the largest chroma inside sRGB.

:func:`napari_semcolor.color.compose` brings out-of-gamut colours in with :func:`map_into_gamut`
(a table of the gamut's largest chroma per L* and hue, bisection where it misses);
:func:`gamut_scale` bisects every pixel (the NST backend's chroma budget).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from napari_semcolor.color import _lab_to_linear_channels


def gamut_scale(L: np.ndarray, ab: np.ndarray, *, iterations: int = 10) -> np.ndarray:
    """Largest chroma factor s in [0, 1] per pixel such that (L, s·a, s·b) is inside sRGB.

    L* fixed and hue fixed, so only chroma changes. Solved by bisection on the pixels that are
    out of gamut (in-gamut pixels keep s = 1); the gray axis (s = 0) is always inside.
    """
    L = np.asarray(L, np.float32)
    ab = np.asarray(ab, np.float32)
    scale = np.ones(L.shape, np.float32)
    out = ~in_gamut(L, ab)
    if out.any():
        scale[out] = bisect_scale(L[out], ab[out], np.ones(int(out.sum()), np.float32), iterations)
    return scale


def bisect_scale(L: np.ndarray, ab: np.ndarray, hi: np.ndarray, iterations: int) -> np.ndarray:
    # largest s in [0, hi] with (L, s·ab) in gamut, by bisection, for 1D pixel arrays
    lo = np.zeros(L.shape, np.float32)
    hi = np.asarray(hi, np.float32).copy()
    for _ in range(iterations):
        mid = (lo + hi) / 2
        ok = in_gamut(L, ab * mid[..., None])
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return lo


def in_gamut(L: np.ndarray, ab: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    ok = np.ones(L.shape, bool)
    for channel in _lab_to_linear_channels(L, ab[..., 0], ab[..., 1]):
        ok &= (channel >= -tol) & (channel <= 1 + tol)
    return ok


# The largest in-gamut chroma per (L*, hue), on a grid fine enough that bilinear interpolation is
# within a fraction of a chroma unit of it (the gamut's cusps are concave in hue, where linear
# interpolation falls short, never over). Out-of-gamut pixels take it minus a margin as large as the
# bisection's step; the few it does not bring inside are bisected as before.
_TABLE_L, _TABLE_HUE = 201, 360
_TABLE_MARGIN = 1 / 1024


@lru_cache(maxsize=1)
def _chroma_table() -> np.ndarray:
    """(L steps, hue steps + 1) float32: the gamut's largest chroma, the first hue column repeated last."""
    L = np.repeat(np.linspace(0, 100, _TABLE_L, dtype=np.float32), _TABLE_HUE)
    hue = np.tile(np.arange(_TABLE_HUE) * (2 * np.pi / _TABLE_HUE), _TABLE_L)
    top = np.float32(200)  # above the largest chroma in sRGB (about 134)
    ab = (np.stack([np.cos(hue), np.sin(hue)], -1) * top).astype(np.float32)
    chroma = top * bisect_scale(L, ab, np.ones(L.shape, np.float32), 16)  # to 0.003 chroma units: built in ~20 ms
    table = chroma.reshape(_TABLE_L, _TABLE_HUE)
    return np.ascontiguousarray(np.concatenate([table, table[:, :1]], axis=1), np.float32)


def map_into_gamut(L: np.ndarray, ab: np.ndarray) -> tuple[np.ndarray, ...]:
    """Linear RGB channels of out-of-gamut pixels (1D ``L``, (n, 2) ``ab``) at their largest in-gamut chroma."""
    table = _chroma_table()
    chroma = np.hypot(ab[:, 0], ab[:, 1])
    hue = np.arctan2(ab[:, 1], ab[:, 0])
    hue *= np.float32(_TABLE_HUE / (2 * np.pi))
    hue[hue < 0] += _TABLE_HUE
    li = L * np.float32((_TABLE_L - 1) / 100)
    l0 = np.minimum(li.astype(np.intp), _TABLE_L - 2)
    h0 = np.minimum(hue.astype(np.intp), _TABLE_HUE - 1)
    wl, wh = li - l0, hue - h0
    flat = table.ravel()
    row = l0 * (_TABLE_HUE + 1) + h0
    low = flat[row] + wh * (flat[row + 1] - flat[row])
    row += _TABLE_HUE + 1
    high = flat[row] + wh * (flat[row + 1] - flat[row])
    limit = low + wl * (high - low)
    scale = np.minimum(limit * np.float32(1 - _TABLE_MARGIN) / np.maximum(chroma, np.float32(1e-6)), np.float32(1))
    ab = ab * scale[:, None]
    channels = _lab_to_linear_channels(L, ab[:, 0], ab[:, 1])
    still = np.zeros(L.shape, bool)
    for channel in channels:
        still |= (channel < -1e-4) | (channel > 1 + 1e-4)
    if still.any():  # near a cusp or an end of L*: bisect below the table's guess
        Ls, abs_ = L[still], ab[still]
        abs_ = abs_ * bisect_scale(Ls, abs_, np.ones(Ls.shape, np.float32), 10)[:, None]
        for channel, fixed in zip(channels, _lab_to_linear_channels(Ls, abs_[:, 0], abs_[:, 1])):
            channel[still] = fixed
    return channels
