"""Resolution changes: area downsampling of L*, and edge-aware (guided-filter) upsampling of a*b*.

Colour is low-frequency and structure lives in L*, so networks and solvers run at a working
resolution and a*b* comes back to full resolution with the full-resolution L* as guide: the fast
guided filter (He & Sun 2015) fits ``ab ≈ A·L + B`` in small windows at working resolution and
applies the smoothly interpolated A, B to the full-resolution L*. Everything is box filters and
separable interpolation: O(pixels), no Python loops over pixels, and rows are processed in chunks
so large images do not need several full-size temporaries.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def working_shape(shape: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Shape with the long side at most ``long_side`` (never upsampled), aspect ratio kept."""
    h, w = shape
    s = min(1.0, long_side / max(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def downsample(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Area-average a 2D (or 2D × channels) float image down to ``shape``.

    Integer block means first (cheap, exact box averaging), then a small linear resize to the
    exact target. Returns float32.
    """
    image = np.asarray(image, np.float32)
    h, w = shape
    H, W = image.shape[:2]
    if (H, W) == (h, w):
        return image.copy()
    ky, kx = max(1, H // h), max(1, W // w)
    if ky > 1 or kx > 1:
        Hc, Wc = (H // ky) * ky, (W // kx) * kx
        blocks = image[:Hc, :Wc].reshape(Hc // ky, ky, Wc // kx, kx, *image.shape[2:])
        image = blocks.mean(axis=(1, 3), dtype=np.float32)
    if image.shape[:2] != (h, w):
        image = resize_linear(image, (h, w))
    return image


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # pixel-centre aligned linear interpolation: out pixel i sits at (i + .5) * n_in / n_out - .5
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (pos - i0).astype(np.float32)


def resize_linear(image: np.ndarray, shape: tuple[int, int], rows: slice | None = None) -> np.ndarray:
    """Bilinear resize of a (h, w[, c]) float32 image to ``shape``; optionally only output ``rows``."""
    image = np.asarray(image, np.float32)
    y0, y1, wy = _axis_weights(image.shape[0], shape[0])
    x0, x1, wx = _axis_weights(image.shape[1], shape[1])
    if rows is not None:
        y0, y1, wy = y0[rows], y1[rows], wy[rows]
    extra = (None,) * (image.ndim - 2)
    wy = wy[(slice(None), None, *extra)]
    wx = wx[(None, slice(None), *extra)]
    top = image[y0][:, x0] * (1 - wx) + image[y0][:, x1] * wx
    bottom = image[y1][:, x0] * (1 - wx) + image[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int = 2, eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Guided-filter coefficients A, B (He et al. 2010) with ``src ≈ A·guide + B`` per window.

    Parameters
    ----------
    guide : (h, w) float32, values in about [0, 1]
    src : (h, w, c) float32
    radius : int
        Window radius in pixels of this resolution.
    eps : float
        Regularisation; larger = smoother, less edge-following.

    Returns
    -------
    A, B : (h, w, c) float32, already box-averaged (ready to interpolate).
    """
    size = 2 * radius + 1
    box = lambda x: ndimage.uniform_filter(x, size=(size, size) + (1,) * (x.ndim - 2), mode="reflect")  # noqa: E731
    g = guide[..., None]
    mean_g = box(g)
    mean_s = box(src)
    cov = box(g * src) - mean_g * mean_s
    var = box(g * g) - mean_g * mean_g
    A = cov / (var + eps)
    B = mean_s - A * mean_g
    return box(A).astype(np.float32), box(B).astype(np.float32)


def guided_upsample(ab: np.ndarray, L_work: np.ndarray, L_full: np.ndarray, *, radius: int = 2, eps: float = 1e-3, chunk_rows: int = 1024) -> np.ndarray:
    """Bring a*b* from working to full resolution, edge-aware, guided by full-resolution L*.

    Parameters
    ----------
    ab : (h, w, 2) float32
        a*b* at working resolution.
    L_work : (h, w) float32
        L* at working resolution (the guide the backend saw), in [0, 100].
    L_full : (H, W) float32
        L* at full resolution, in [0, 100].

    Returns
    -------
    (H, W, 2) float32
    """
    if L_full.shape == L_work.shape:
        return np.asarray(ab, np.float32).copy()
    A, B = guided_coefficients(L_work / 100, ab, radius=radius, eps=eps)
    out = np.empty(L_full.shape + (ab.shape[-1],), np.float32)
    for r0 in range(0, L_full.shape[0], chunk_rows):
        rows = slice(r0, min(r0 + chunk_rows, L_full.shape[0]))
        g = L_full[rows, :, None] / 100
        out[rows] = resize_linear(A, L_full.shape, rows) * g + resize_linear(B, L_full.shape, rows)
    return out
