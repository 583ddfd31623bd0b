"""What several colour proposals say about one pixel: its colour in each, and how much they differ.

Pure numpy (no Qt, no napari): the Colourize dock calls :func:`colors_at` on every mouse move
over a proposals layer, so it reads one pixel per proposal and converts only those to CIELAB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_semcolor._deprecation import renamed
from napari_semcolor.color import rgb_to_ab, to_hex
from napari_semcolor.errors import SemcolorError


@dataclass(frozen=True)
class PixelColors:
    """The colours of one pixel across proposals.

    Attributes
    ----------
    y, x : int
        The pixel (row, column) in the proposals' own pixel coordinates.
    rgb : (n, 3) uint8
        Its colour in each proposal, in proposal order.
    hex : list of str
        The same colours as ``#rrggbb``.
    spread : float
        How much the proposals disagree here: the largest ΔE_ab of a proposal from their mean
        a*b* (L* is the same in every proposal, so this is a pure colour difference). 0 when all
        proposals agree, about 10 and above when they clearly propose different colours.
    """

    y: int
    x: int
    rgb: np.ndarray
    hex: list[str]
    spread: float


def colors_at(proposals, y: float, x: float) -> PixelColors | None:
    """The colour of pixel (``y``, ``x``) in each of ``proposals`` (n, H, W, 3), or None outside.

    ``y`` and ``x`` are data coordinates (pixel centres at whole numbers; they are rounded).
    Only the n pixels are read, so this is cheap on large (or lazy, dask-backed) proposals.
    """
    shape = np.shape(proposals)
    if len(shape) != 4 or shape[-1] not in (3, 4):
        raise SemcolorError(f"expected proposals of shape (n, H, W, 3); got {shape}")
    if not (np.isfinite(y) and np.isfinite(x)):
        return None
    row, col = int(np.floor(y + 0.5)), int(np.floor(x + 0.5))
    if not (0 <= row < shape[1] and 0 <= col < shape[2]):
        return None
    rgb = np.asarray(proposals[:, row, col, :3])
    if np.issubdtype(rgb.dtype, np.floating):  # float RGB in [0, 1]
        rgb = np.round(np.clip(rgb, 0, 1) * 255)
    rgb = rgb.astype(np.uint8)
    ab = rgb_to_ab(rgb).astype(np.float64)
    spread = float(np.max(np.linalg.norm(ab - ab.mean(axis=0), axis=-1)))
    return PixelColors(row, col, rgb, [to_hex(px) for px in rgb], spread)


# the British spellings of 0.x stay importable for one release
__getattr__ = renamed(__name__, {"PixelColours": "PixelColors", "colours_at": "colors_at"}, globals())

__all__ = ["PixelColors", "colors_at"]
