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
    return downsample_rows(lambda r0, r1: image[r0:r1], image.shape, shape)


def downsample_rows(read, full_shape: tuple[int, ...], shape: tuple[int, int], *, chunk_rows: int = 1024) -> np.ndarray:
    """:func:`downsample` of an image that is only read in bands of rows (lazy or large input).

    Parameters
    ----------
    read : callable(r0, r1) -> (r1 - r0, W[, c]) float32
        Rows ``r0:r1`` of the full-resolution image.
    full_shape : (H, W[, c])
    shape : (h, w)
        Target shape.
    chunk_rows : int
        About this many full-resolution rows are held at once (a multiple of the block height).

    Returns
    -------
    (h, w[, c]) float32, identical to ``downsample(read(0, H), shape)``.
    """
    h, w = shape
    H, W = full_shape[:2]
    if (H, W) == (h, w):
        return np.concatenate([np.asarray(read(r0, min(r0 + chunk_rows, H)), np.float32) for r0 in range(0, H, chunk_rows)])
    ky, kx = max(1, H // h), max(1, W // w)
    Hc, Wc = (H // ky) * ky, (W // kx) * kx
    step = max(1, chunk_rows // ky) * ky
    bands = []
    for r0 in range(0, Hc, step):
        band = np.asarray(read(r0, min(r0 + step, Hc)), np.float32)[:, :Wc]
        if ky > 1 or kx > 1:
            band = band.reshape(band.shape[0] // ky, ky, Wc // kx, kx, *band.shape[2:]).mean(axis=(1, 3), dtype=np.float32)
        bands.append(band)
    image = np.concatenate(bands) if len(bands) > 1 else bands[0]
    if image.shape[:2] != (h, w):
        image = resize_linear(image, (h, w))
    return image


def resize_nearest(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize (for labels, which must never be averaged)."""
    H, W = image.shape[:2]
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * H / shape[0]).astype(np.intp), H - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * W / shape[1]).astype(np.intp), W - 1)
    return image[rows][:, cols]


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # pixel-centre aligned linear interpolation: out pixel i sits at (i + .5) * n_in / n_out - .5
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (pos - i0).astype(np.float32)


def resize_linear(image: np.ndarray, shape: tuple[int, int], rows: slice | None = None) -> np.ndarray:
    """Bilinear resize of a (h, w[, c]) float32 image to ``shape``; optionally only output ``rows``.

    Separable: columns are interpolated on the small input first, then whole rows are blended.
    """
    image = np.asarray(image, np.float32)
    x0, x1, wx = _axis_weights(image.shape[1], shape[1])
    y0, y1, wy = _axis_weights(image.shape[0], shape[0])
    if rows is not None:
        y0, y1, wy = y0[rows], y1[rows], wy[rows]
    extra = (None,) * (image.ndim - 2)
    need = np.union1d(y0, y1)  # only the input rows these output rows use
    wxb = wx[(None, slice(None), *extra)]
    cols = image[need][:, x0] * (1 - wxb) + image[need][:, x1] * wxb
    pos0, pos1 = np.searchsorted(need, y0), np.searchsorted(need, y1)
    wyb = wy[(slice(None), None, *extra)]
    return cols[pos0] * (1 - wyb) + cols[pos1] * wyb


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


def apply_coefficients(A: np.ndarray, B: np.ndarray, L_full: np.ndarray, rows: slice | None = None) -> np.ndarray:
    """Full-resolution a*b* = upsampled A · L*/100 + upsampled B (optionally for ``rows`` only)."""
    rows = rows or slice(0, L_full.shape[0])
    return coefficients_at_rows(A, B, L_full[rows], rows, L_full.shape)


def coefficients_at_rows(A: np.ndarray, B: np.ndarray, L_rows: np.ndarray, rows: slice, shape: tuple[int, int]) -> np.ndarray:
    """:func:`apply_coefficients` for the rows ``rows`` of a full-resolution image of ``shape``,
    given only those rows of its L* (``L_rows``), so the full L* never has to exist."""
    c = A.shape[-1]
    x0, x1, wx = _axis_weights(A.shape[1], shape[1])
    y0, y1, wy = _axis_weights(A.shape[0], shape[0])
    y0, y1, wy = y0[rows], y1[rows], wy[rows]
    need = np.union1d(y0, y1)  # only the input rows these output rows use
    # channel planes, so that every full-size step is a contiguous pass done in place
    small = np.ascontiguousarray(np.concatenate([A[need], B[need]], axis=-1).transpose(2, 0, 1), np.float32)
    cols = small[:, :, x0]
    cols += (small[:, :, x1] - cols) * wx  # columns first, on the few input rows
    pos0 = np.searchsorted(need, y0)  # y1 is y0 + 1, the next row of `need` (or y0 itself, at weight 0)
    step = np.empty_like(cols)  # next input row minus this one, on the few input rows
    step[:, :-1] = cols[:, 1:] - cols[:, :-1]
    step[:, -1] = 0
    up = step[:, pos0]
    up *= wy[None, :, None]
    up += cols[:, pos0]  # whole rows blended: (2c, rows, W)
    scaled = L_rows * np.float32(1 / 100)
    out = np.empty(L_rows.shape + (c,), np.float32)
    for k in range(c):
        plane = up[k]
        plane *= scaled
        plane += up[c + k]
        out[..., k] = plane
    return out


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
    return upsample_coefficients(A, B, L_full, chunk_rows=chunk_rows)


def upsample_coefficients(A: np.ndarray, B: np.ndarray, L_full: np.ndarray, *, chunk_rows: int = 1024) -> np.ndarray:
    """:func:`apply_coefficients` over the whole image, in row chunks."""
    out = np.empty(L_full.shape + (A.shape[-1],), np.float32)
    for r0 in range(0, L_full.shape[0], chunk_rows):
        rows = slice(r0, min(r0 + chunk_rows, L_full.shape[0]))
        out[rows] = apply_coefficients(A, B, L_full, rows)
    return out
