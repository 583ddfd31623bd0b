"""Gray → L*, CIELAB ↔ sRGB, and gamut mapping that never changes L*.

Colour is added in CIELAB (D65, sRGB primaries; the same convention as ``skimage.color``): the
input intensity *is* L*, backends predict only a* and b*. :func:`compose` maps out-of-gamut
colours back by lowering chroma at fixed L* and hue, never by clipping RGB, so the output's L*
equals the input's to within 8-bit rounding.

Intensity → L* mapping (:func:`to_lightness`):

* ``uint8``: ``L* = v / 255 · 100``; ``uint16``: ``v / 65535 · 100``; other unsigned integers:
  ``v / max · 100`` with ``max`` the dtype's largest value.
* floats with all values in ``[0, 1]``: ``v · 100``; other floats and signed integers: stretched
  linearly from their min … max to 0 … 100 (a constant image becomes L* = 50).
* ``percentiles=(lo, hi)`` stretches those percentiles of the data to 0 … 100 instead.
* ``bool``: False → 0, True → 100.
* RGB/RGBA given where gray is expected: its own L* (with a warning).
"""

from __future__ import annotations

import warnings

import numpy as np

from napari_semcolor.errors import SemcolorError

# sRGB (D65) → XYZ, and the D65 white point, as in IEC 61966-2-1 / skimage.color
_RGB2XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
_XYZ2RGB = np.linalg.inv(_RGB2XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883])
# XYZ relative to white → linear sRGB, as float32 scalars per row
_XYZ2RGB_WHITE = [[np.float32(v) for v in row] for row in _XYZ2RGB * _WHITE]
_EPS = 216 / 24389  # (6/29)^3
_KAPPA = 24389 / 27


def to_lightness(image: np.ndarray, *, percentiles: tuple[float, float] | None = None, nan: float | None = None) -> np.ndarray:
    """Turn a 2D gray image (or an RGB/RGBA one, with a warning) into L* in [0, 100].

    Parameters
    ----------
    image : array, shape (h, w) or (h, w, 3|4)
        uint8, uint16, other integers, bool or float.
    percentiles : (low, high), optional
        Stretch the ``low``..``high`` percentiles of the data to 0..100 (contrast stretch)
        instead of the fixed dtype mapping.
    nan : float, optional
        Value in L* that replaces NaN/inf. Without it, non-finite values raise.

    Returns
    -------
    L : (h, w) float32 array in [0, 100]

    Raises
    ------
    SemcolorError
        Wrong number of dimensions, empty image, non-finite values without ``nan``, or a dtype
        that is not a number.
    """
    arr = np.asarray(image)
    return lightness_mapping(arr, percentiles=percentiles, nan=nan)(arr)


def lightness_mapping(image, *, percentiles: tuple[float, float] | None = None, nan: float | None = None, chunk_rows: int = 1024):
    """The intensity → L* map of :func:`to_lightness` for ``image``, as a function of row blocks.

    The statistics the map needs (finite min/max, percentiles, a check for NaN/inf) are gathered
    reading ``image`` ``chunk_rows`` rows at a time, so a lazy image (numpy memmap, dask or zarr
    array) is never copied whole. The returned function maps any block of rows of ``image`` to L*
    exactly as :func:`to_lightness` maps the whole image.

    Parameters
    ----------
    image : array-like, shape (h, w) or (h, w, 3|4)
        Anything with ``shape``, ``dtype`` and row slicing (``image[r0:r1]``).
    percentiles, nan : see :func:`to_lightness`
        Percentiles of integer images up to 16 bits are exact (a histogram); of other dtypes they
        need one full-size float32 copy of the image.
    chunk_rows : int
        Rows read at a time for the statistics.

    Returns
    -------
    callable
        ``block (rows, w[, c]) -> L* (rows, w) float32``.

    Raises
    ------
    SemcolorError
        As :func:`to_lightness`, before any block is mapped.
    """
    dtype = np.dtype(image.dtype if hasattr(image, "dtype") else np.asarray(image).dtype)
    shape = tuple(np.shape(image))
    if dtype == np.dtype(object) or not (np.issubdtype(dtype, np.number) or dtype == np.dtype(bool)):
        raise SemcolorError(f"the image has dtype {dtype}; give a numeric (integer, float or bool) image")
    if len(shape) == 3 and shape[-1] in (3, 4):
        warnings.warn("an RGB(A) image was given where a gray one is expected; using its L*", stacklevel=3)
        return _rgb_lightness
    if len(shape) != 2:
        raise SemcolorError(
            f"expected a 2D gray image (h, w) or an RGB image (h, w, 3); got shape {shape}. "
            "Colour stacks plane by plane."
        )
    if 0 in shape:
        raise SemcolorError(f"the image is empty (shape {shape})")
    if dtype == np.dtype(bool):
        return lambda block: np.asarray(block).astype(np.float32) * 100
    fill = None if nan is None else np.nan
    if percentiles is not None:
        lo, hi = _percentiles(image, dtype, percentiles, fill, chunk_rows)
        return lambda block: _stretch(_finite(np.asarray(block).astype(np.float32), fill), lo, hi, nan)
    if dtype == np.uint8:
        return lambda block: np.asarray(block).astype(np.float32) * (100 / 255)
    if dtype == np.uint16:
        return lambda block: np.asarray(block).astype(np.float32) * (100 / 65535)
    if np.issubdtype(dtype, np.unsignedinteger):
        top = np.iinfo(dtype).max
        return lambda block: _stretch(np.asarray(block).astype(np.float64), 0, top, nan)
    lo, hi, bad = np.inf, -np.inf, 0
    for block in row_blocks(image, chunk_rows):
        data = block.astype(np.float64)
        ok = np.isfinite(data)
        bad += int(data.size - np.count_nonzero(ok))
        if ok.any():
            lo, hi = min(lo, float(data[ok].min())), max(hi, float(data[ok].max()))
    if bad and fill is None:
        raise _nonfinite_error(bad)
    if lo > hi:  # nothing finite
        return lambda block: np.full(np.shape(block), nan, np.float32)
    if np.issubdtype(dtype, np.floating) and lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    return lambda block: _stretch(_finite(np.asarray(block).astype(np.float64), fill), lo, hi, nan)


def row_blocks(image, chunk_rows: int = 1024):
    """Yield ``image`` as in-memory numpy blocks of ``chunk_rows`` rows (reads lazy arrays piecewise)."""
    for r0 in range(0, np.shape(image)[0], chunk_rows):
        yield np.asarray(image[r0 : r0 + chunk_rows])


def _rgb_lightness(block: np.ndarray) -> np.ndarray:
    rgb = np.asarray(block)[..., :3]
    if np.issubdtype(rgb.dtype, np.integer):
        rgb = rgb.astype(np.float32) / np.iinfo(rgb.dtype).max
    return rgb_to_lab(np.clip(_finite(rgb.astype(np.float32), None), 0, 1))[..., 0]


def _percentiles(image, dtype: np.dtype, percentiles, fill, chunk_rows: int) -> tuple[float, float]:
    if np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2:
        # exact order statistics from a histogram, read block by block
        base = int(np.iinfo(dtype).min)
        counts = np.zeros(2 ** (8 * dtype.itemsize), np.int64)
        for block in row_blocks(image, chunk_rows):
            counts += np.bincount((block.astype(np.int64) - base).ravel(), minlength=counts.size)
        cum = np.cumsum(counts)
        out = []
        for q in percentiles:
            pos = (cum[-1] - 1) * float(q) / 100
            k = int(np.floor(pos))
            v0 = int(np.searchsorted(cum, k, side="right"))
            v1 = int(np.searchsorted(cum, min(k + 1, cum[-1] - 1), side="right"))
            out.append(base + v0 + (pos - k) * (v1 - v0))
        return out[0], out[1]
    data = _finite(np.asarray(image).astype(np.float32), fill)
    lo, hi = np.nanpercentile(data, percentiles)
    return lo, hi


def _nonfinite_error(count: int) -> SemcolorError:
    return SemcolorError(
        f"the image has {count} NaN or infinite pixel(s); replace them first, or pass "
        "nan=<L* value> (CLI: --nan VALUE) to fill them"
    )


def _finite(arr: np.ndarray, fill: float | None) -> np.ndarray:
    bad = ~np.isfinite(arr)
    if bad.any():
        if fill is None:
            raise _nonfinite_error(int(bad.sum()))
        arr = np.where(bad, fill, arr)
    return arr


def _stretch(data: np.ndarray, lo: float, hi: float, nan: float | None) -> np.ndarray:
    span = hi - lo
    # constant image: mid-gray. A span below float32's smallest normal (subnormal values of a
    # float64 image) counts as constant too: 100 / span would overflow to inf and give NaN.
    if not np.isfinite(span) or span < float(np.finfo(np.float32).tiny):
        out = np.full(data.shape, 50.0, np.float32)
    else:
        out = np.clip((data - lo) * (100.0 / span), 0, 100).astype(np.float32)
    if nan is not None:
        out[~np.isfinite(data)] = nan
    return out


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.maximum(c, 0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), (_KAPPA * t + 16) / 116)


def _finv(t: np.ndarray) -> np.ndarray:
    """The inverse of ``_f``; overwrites ``t`` (pass a temporary)."""
    low = t <= np.float32(6 / 29)  # the linear segment: only the darkest pixels, so computed only there
    lin = (116 * t[low] - 16) / _KAPPA if low.any() else None
    t3 = np.multiply(t, t)
    t3 *= t
    if lin is not None:
        t3[low] = lin
    return t3


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) → CIELAB (..., 3) float32 (D65)."""
    lin = _srgb_to_linear(np.asarray(rgb, np.float32))
    xyz = lin @ (_RGB2XYZ / _WHITE[:, None]).T.astype(np.float32)
    fx, fy, fz = (_f(xyz[..., i]) for i in range(3))
    return np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=-1).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) → linear sRGB (..., 3), unclipped (values outside [0, 1] are out of gamut)."""
    lab = np.asarray(lab, np.float32)
    return np.stack(_lab_to_linear_channels(lab[..., 0], lab[..., 1], lab[..., 2]), axis=-1)


def _lab_to_linear_channels(L: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    # channel-wise float32 arithmetic in place: several times faster than stacking and a matrix
    # product, and each step a single pass without a new temporary
    fy = np.add(L, np.float32(16), dtype=np.float32)
    fy *= np.float32(1 / 116)
    fx = np.multiply(a, np.float32(1 / 500), dtype=np.float32)
    fx += fy
    fz = np.multiply(b, np.float32(-1 / 200), dtype=np.float32)
    fz += fy
    xyz = (_finv(fx), _finv(fy), _finv(fz))
    channels = []
    for row in _XYZ2RGB_WHITE:
        channel = np.multiply(xyz[0], row[0])
        tmp = np.multiply(xyz[1], row[1])
        channel += tmp
        np.multiply(xyz[2], row[2], out=tmp)
        channel += tmp
        channels.append(channel)
    return tuple(channels)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) → sRGB in [0, 1] (..., 3) float32, clipped (use :func:`compose` to keep L*)."""
    return np.clip(_linear_to_srgb(lab_to_linear(lab)), 0, 1).astype(np.float32)


# linear → 8-bit sRGB through a table: exact to well below one 8-bit level, and much cheaper
# than a power per pixel
_LUT_SIZE = 65536
_LIN_TO_U8 = np.round(_linear_to_srgb(np.linspace(0, 1, _LUT_SIZE)) * 255).astype(np.uint8)


def _linear_to_u8(lin: np.ndarray) -> np.ndarray:
    idx = np.clip(lin, 0, 1)
    idx *= np.float32(_LUT_SIZE - 1)
    idx += np.float32(0.5)
    return _LIN_TO_U8.take(idx.astype(np.int32))


def compose(L: np.ndarray, ab: np.ndarray, *, chunk_rows: int = 1024) -> np.ndarray:
    """Combine L* and a*b* into 8-bit sRGB whose L* equals ``L`` (|ΔL*| ≤ 1 after rounding).

    Out-of-gamut colours are pulled in by lowering chroma at fixed L* and hue
    (:func:`napari_semcolor.gamut.map_into_gamut`). The colour conversion runs once for all pixels and once more only for
    those out of gamut.

    Parameters
    ----------
    L : (h, w) float array in [0, 100]
    ab : (h, w, 2) float array
    chunk_rows : int
        Rows processed at once, to bound memory on large images.

    Returns
    -------
    rgb : (h, w, 3) uint8
    """
    L = np.asarray(L, np.float32)
    ab = np.asarray(ab, np.float32)
    if ab.shape != L.shape + (2,):
        raise SemcolorError(f"a*b* has shape {ab.shape}; expected {L.shape + (2,)} to match L*")
    out = np.empty(L.shape + (3,), np.uint8)
    for r0 in range(0, L.shape[0], chunk_rows):
        Lc = np.clip(L[r0 : r0 + chunk_rows], 0, 100)
        abc = ab[r0 : r0 + chunk_rows]
        if not np.isfinite(abc).all():
            abc = np.nan_to_num(abc)
        channels = _lab_to_linear_channels(Lc, abc[..., 0], abc[..., 1])  # as if all were in gamut
        bad = np.zeros(Lc.shape, bool)
        for channel in channels:
            bad |= (channel < -1e-4) | (channel > 1 + 1e-4)
        if bad.any():  # only the out-of-gamut pixels are converted again, at their scaled chroma
            from napari_semcolor.gamut import map_into_gamut

            for channel, fixed in zip(channels, map_into_gamut(Lc[bad], abc[bad])):
                channel[bad] = fixed
        for i, channel in enumerate(channels):
            out[r0 : r0 + chunk_rows, :, i] = _linear_to_u8(channel)
    return out


def rgb_to_ab(rgb: np.ndarray) -> np.ndarray:
    """a*b* (..., 2) of sRGB colours given as uint8 or floats in [0, 1]."""
    rgb = np.asarray(rgb)
    if np.issubdtype(rgb.dtype, np.integer):
        rgb = rgb.astype(np.float32) / 255
    return rgb_to_lab(rgb[..., :3])[..., 1:]


def image_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Lab of an RGB/RGBA image of any dtype (uint8, uint16, float in [0, 1])."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] not in (3, 4):
        raise SemcolorError(f"expected an RGB image (h, w, 3); got shape {rgb.shape}")
    if np.issubdtype(rgb.dtype, np.integer):
        rgb = rgb[..., :3].astype(np.float32) / np.iinfo(rgb.dtype).max
    return rgb_to_lab(np.clip(np.nan_to_num(rgb[..., :3].astype(np.float32)), 0, 1))


def parse_color(value) -> tuple[float, float, float]:
    """Read a colour given as ``#rrggbb`` or as 3 (or 4) numbers; return sRGB floats in [0, 1].

    Numbers all in [0, 1] are read as floats; if any is above 1, all are read as 0–255.
    The inverse of :func:`to_hex`.
    """
    if isinstance(value, str):
        s = value.strip().lstrip("#")
        if len(s) not in (6, 8) or any(ch not in "0123456789abcdefABCDEF" for ch in s):
            raise SemcolorError(f"colour {value!r} is not of the form #rrggbb")
        return tuple(int(s[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
    arr = np.asarray(value, np.float64).ravel()
    if arr.size not in (3, 4) or not np.all(np.isfinite(arr)) or arr.min() < 0:
        raise SemcolorError(f"colour {value!r} must be 3 (or 4) non-negative numbers or #rrggbb")
    arr = arr[:3]
    if arr.max() > 1:
        if arr.max() > 255:
            raise SemcolorError(f"colour {value!r}: values above 1 are read as 0–255, and must be ≤ 255")
        arr = arr / 255
    return tuple(float(v) for v in arr)  # type: ignore[return-value]


def to_hex(rgb) -> str:
    """An sRGB colour as ``#rrggbb``.

    Parameters
    ----------
    rgb : sequence of 3 (or 4) numbers
        Floats in [0, 1] (a 4th, alpha, value is ignored); a ``uint8`` array is read as 0–255.
        Python ints are floats here too: ``(1, 0, 0)`` is red, as in a :class:`~napari_semcolor.hints.Hint`.

    Returns
    -------
    str
        Lower-case ``#rrggbb``; values outside the range are clipped.
    """
    arr = np.asarray(rgb)
    scale = 1 if arr.dtype == np.uint8 else 255
    return "#" + "".join(f"{min(max(round(float(c) * scale), 0), 255):02x}" for c in arr.ravel()[:3])
