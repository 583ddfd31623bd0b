"""Regions in colouring: colour that never crosses a label border, and the region colour table.

Two pieces, both used by :func:`napari_semcolor.pipeline.colorize` when labels are given:

* **Region-aware guided upsampling.** The plain guided filter fits ``ab ≈ A·L* + B`` in windows
  that may straddle a region border, and bilinear interpolation of A, B mixes working pixels of
  both sides, so colour leaks across borders by a few *working* pixels (tens of full-resolution
  pixels on a large image). Here every window average only uses pixels of the centre pixel's own
  region (normalised box filters), and a full-resolution pixel only interpolates from working
  pixels of its own region: colour from one region cannot reach another.
* **Region colour table** (``{label: colour | "gray"}``). A listed region is filled with that
  colour at its own L* (compose keeps L*), with a soft, edge-aware border: the fill's opacity is
  the region mask passed through a guided filter with L* as guide, so the transition follows
  image edges, and it is cut off ``band`` pixels outside the region.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from napari_semcolor.color import parse_color, rgb_to_ab, to_hex
from napari_semcolor.errors import SemcolorError
from napari_semcolor.upsample import _axis_weights, coefficients_at_rows, guided_coefficients

#: value in a region colour table that means "keep this region neutral"
GRAY = "gray"
_GRAY_NAMES = ("gray", "grey", "keep gray", "keep grey")


#: classes of the automatic multi-Otsu segmentation (dark phase, middle, bright rims/particles)
AUTO_CLASSES = 3
#: smallest automatic region, as a fraction of the image area (smaller pieces join a neighbour)
AUTO_MIN_AREA = 1e-3


def auto_regions(L: np.ndarray, classes: int = AUTO_CLASSES) -> np.ndarray:
    """Connected regions of a multi-Otsu segmentation of ``L`` (h, w; L* 0–100), int32 1..n.

    An image without enough gray levels for ``classes`` classes gets fewer; one without contrast is
    one region.
    """
    from napari_semcolor.segment import segment

    min_size = max(16, int(AUTO_MIN_AREA * L.size))
    for k in range(classes, 1, -1):
        try:
            labels = segment(L, "multiotsu", classes=k, separate=True, min_size=min_size)
        except SemcolorError:  # too few gray levels for k classes
            continue
        if labels.max() > 0:
            return labels
    return np.ones(L.shape, np.int32)


def parse_region_colors(region_colors: Mapping | None, labels: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """Validate a region colour table and turn it into ``{label: a*b*}``.

    Parameters
    ----------
    region_colors : mapping, optional
        Label (int) → ``"#rrggbb"``, an (r, g, b) tuple (0–1 or 0–255) or ``"gray"``. A value of
        ``None`` (or a missing label) leaves the region to the backend.
    labels : (H, W) int array, optional
        The label image; every listed label must occur in it.

    Returns
    -------
    dict
        Label → (2,) float32 a*b* (0, 0 for gray).

    Raises
    ------
    SemcolorError
        A label that is not a whole number or not in ``labels``, a colour that cannot be read, or
        a table without a label image.
    """
    if not region_colors:
        return {}
    table = {}
    for key, value in region_colors.items():
        try:
            label = int(key)
        except (TypeError, ValueError):
            raise SemcolorError(f"region colour table: label {key!r} is not a whole number") from None
        if isinstance(key, float) and key != label:
            raise SemcolorError(f"region colour table: label {key!r} is not a whole number")
        if value is None:
            continue
        if isinstance(value, str) and value.strip().lower() in _GRAY_NAMES:
            table[label] = np.zeros(2, np.float32)
        else:
            try:
                rgb = parse_color(value)
            except SemcolorError as exc:
                raise SemcolorError(f"region {label}: {exc}, or 'gray'") from None
            table[label] = rgb_to_ab(np.asarray(rgb, np.float32)).astype(np.float32)
    if not table:
        return {}
    if labels is None:
        raise SemcolorError("region colours need a label image: pass labels= (CLI: --labels LABELS.tif)")
    present = np.unique(labels)
    missing = sorted(set(table) - set(present.tolist()))
    if missing:
        shown = ", ".join(str(v) for v in present[:20]) + (" …" if len(present) > 20 else "")
        raise SemcolorError(f"region colour table lists label(s) {missing} that are not in the label image (labels present: {shown})")
    return table


def describe(value) -> str:
    """A region colour table entry as text: ``"gray"`` or ``"#rrggbb"`` (for metadata and tables)."""
    if isinstance(value, str) and value.strip().lower() in _GRAY_NAMES:
        return GRAY
    return to_hex(parse_color(value))


def region_coefficients(guide: np.ndarray, src: np.ndarray, labels: np.ndarray, radius: int = 2, eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Guided-filter coefficients like :func:`~napari_semcolor.upsample.guided_coefficients`, per region.

    Every window mean uses only the pixels of the centre pixel's own region, so A and B of a
    pixel depend on its region's guide and colour alone.

    Parameters
    ----------
    guide : (h, w) float32, values in about [0, 1]
    src : (h, w, c) float32
    labels : (h, w) int
    radius, eps : see ``guided_coefficients``

    Returns
    -------
    A, B : (h, w, c) float32
    """
    guide = np.asarray(guide, np.float32)
    src = np.asarray(src, np.float32)
    if labels.shape != guide.shape or src.shape[:2] != guide.shape:
        raise SemcolorError(f"guide {guide.shape}, colour {src.shape[:2]} and labels {labels.shape} must have the same shape")
    size = 2 * radius + 1
    _, inverse = np.unique(labels, return_inverse=True)
    compact = inverse.reshape(labels.shape).astype(np.int32) + 1
    A = np.zeros(src.shape, np.float32)
    B = np.zeros(src.shape, np.float32)
    for k, box_slices in enumerate(ndimage.find_objects(compact), start=1):
        if box_slices is None:
            continue
        # zero padding outside the crop, and the mask inside it, make every mean a mean over the region
        inside = compact[box_slices] == k
        m = inside.astype(np.float32)[..., None]
        norm = np.maximum(_box(m, size), 1e-12)

        def mean(x, m=m, norm=norm):
            return _box(x * m, size) / norm

        g = guide[box_slices][..., None]
        s = src[box_slices]
        mean_g, mean_s = mean(g), mean(s)
        a = (mean(g * s) - mean_g * mean_s) / (mean(g * g) - mean_g * mean_g + eps)
        b = mean_s - a * mean_g
        A[box_slices][inside] = mean(a)[inside]
        B[box_slices][inside] = mean(b)[inside]
    return A, B


def _box(x: np.ndarray, size: int) -> np.ndarray:
    return ndimage.uniform_filter(x, size=(size, size) + (1,) * (x.ndim - 2), mode="constant")


def upsample_in_regions(
    A: np.ndarray, B: np.ndarray, L_full: np.ndarray, labels_work: np.ndarray, labels_full: np.ndarray, *,
    chunk_rows: int = 1024,
) -> np.ndarray:
    """Full-resolution a*b* = A·L*/100 + B, interpolating A, B only from the pixel's own region.

    Where the four working pixels around a full-resolution pixel all belong to its region this is
    the ordinary bilinear interpolation. Otherwise only same-region neighbours are used
    (weights renormalised); if none is, the region's mean A, B at working resolution is used, and
    a region too small to exist at working resolution stays gray.

    Returns
    -------
    (H, W, c) float32
    """
    H, W = L_full.shape
    at_rows = region_interpolator(A, B, labels_work, (H, W))
    out = np.empty((H, W, A.shape[-1]), np.float32)
    for r0 in range(0, H, chunk_rows):
        rows = slice(r0, min(r0 + chunk_rows, H))
        out[rows] = at_rows(L_full[rows], rows, labels_full[rows])
    return out


def region_interpolator(A: np.ndarray, B: np.ndarray, labels_work: np.ndarray, shape: tuple[int, int]):
    """The row-wise core of :func:`upsample_in_regions` for a full-resolution image of ``shape``.

    Returns
    -------
    callable(L_rows, rows, labels_rows) -> (rows, W, c) float32
        a*b* of the full-resolution rows ``rows`` from their L* and labels only.
    """
    H, W = shape
    h, w = labels_work.shape
    y0, y1, wy = _axis_weights(h, H)
    x0, x1, wx = _axis_weights(w, W)
    ids, inverse = np.unique(labels_work, return_inverse=True)
    inverse = inverse.ravel()
    counts = np.bincount(inverse)
    mean_A = np.stack([np.bincount(inverse, A[..., i].ravel()) for i in range(A.shape[-1])], -1) / counts[:, None]
    mean_B = np.stack([np.bincount(inverse, B[..., i].ravel()) for i in range(B.shape[-1])], -1) / counts[:, None]

    def at_rows(L_rows: np.ndarray, rows: slice, own: np.ndarray) -> np.ndarray:
        block = coefficients_at_rows(A, B, L_rows, rows, shape)
        top, bottom = labels_work[y0[rows]], labels_work[y1[rows]]
        corners = ((top, y0, x0, 0, 0), (top, y0, x1, 0, 1), (bottom, y1, x0, 1, 0), (bottom, y1, x1, 1, 1))
        same = [lab[:, xs] == own for lab, _, xs, _, _ in corners]
        bad = ~(same[0] & same[1] & same[2] & same[3])
        if bad.any():
            ri, ci = np.nonzero(bad)
            fy, fx = wy[rows][ri], wx[ci]
            acc_A = np.zeros((len(ri), A.shape[-1]), np.float32)
            acc_B = np.zeros_like(acc_A)
            norm = np.zeros(len(ri), np.float32)
            for match, (_, ys, xs, dy, dx) in zip(same, corners):
                yy, xx = ys[rows][ri], xs[ci]
                wgt = (fy if dy else 1 - fy) * (fx if dx else 1 - fx) + 1e-6
                wgt = np.where(match[ri, ci], wgt, 0).astype(np.float32)
                acc_A += wgt[:, None] * A[yy, xx]
                acc_B += wgt[:, None] * B[yy, xx]
                norm += wgt
            ok = norm > 0
            coef_A = np.zeros_like(acc_A)
            coef_B = np.zeros_like(acc_B)
            coef_A[ok] = acc_A[ok] / norm[ok, None]
            coef_B[ok] = acc_B[ok] / norm[ok, None]
            lonely = np.nonzero(~ok)[0]
            if lonely.size:
                pos = np.clip(np.searchsorted(ids, own[ri[lonely], ci[lonely]]), 0, len(ids) - 1)
                known = ids[pos] == own[ri[lonely], ci[lonely]]
                coef_A[lonely[known]] = mean_A[pos[known]]
                coef_B[lonely[known]] = mean_B[pos[known]]
            Lp = L_rows[ri, ci][:, None] / 100
            block[ri, ci] = coef_A * Lp + coef_B
        return block

    return at_rows


def fill_regions(
    ab: np.ndarray, L: np.ndarray, labels: np.ndarray, colors: Mapping[int, np.ndarray], *,
    radius: int = 2, band: int = 2, eps: float = 1e-3, chunk_rows: int = 1024,
) -> np.ndarray:
    """Fill the listed regions with their colour, with soft, edge-aware borders.

    Parameters
    ----------
    ab : (H, W, 2) float32
        The backend's a*b* at full resolution (not modified).
    L : (H, W) float32
        L* in [0, 100], the guide.
    labels : (H, W) int
    colors : mapping
        Label → (2,) a*b* (from :func:`parse_region_colors`).
    radius : int
        Guided-filter radius (pixels): the width of the soft transition.
    band : int
        The fill never reaches more than ``band`` pixels (4-connected distance) outside its region.
    eps : float
        Guided-filter regularisation (L*/100 units squared): smaller follows weaker edges.

    Returns
    -------
    (H, W, 2) float32
        ``alpha·colour + (1 − alpha)·ab``; alpha is 1 deep inside listed regions, 0 outside the band.
    """
    if not colors:
        return ab
    keys = np.array(sorted(colors), dtype=np.int64)
    table = np.stack([colors[int(k)] for k in keys]).astype(np.float32)
    out = np.array(ab, np.float32, copy=True)
    H = labels.shape[0]
    halo = fill_halo(radius, band)
    size = 2 * radius + 1
    for r0 in range(0, H, chunk_rows):
        r1 = min(r0 + chunk_rows, H)
        a0, a1 = max(r0 - halo, 0), min(r1 + halo, H)
        lab = labels[a0:a1]
        pos = np.clip(np.searchsorted(keys, lab), 0, len(keys) - 1)
        listed = keys[pos] == lab
        if not listed.any():
            continue
        m = listed.astype(np.float32)
        guide = L[a0:a1].astype(np.float32) / 100
        A, B = guided_coefficients(guide, m[..., None], radius=radius, eps=eps)
        alpha = np.clip(A[..., 0] * guide + B[..., 0], 0, 1)
        near = ndimage.binary_dilation(listed, iterations=band) if band > 0 else listed
        alpha = np.where(near, alpha, 0)
        # colour: own colour inside, a local (convex) mix of the listed neighbours' colours near borders
        paint = np.where(listed[..., None], table[pos], 0)
        weight = ndimage.uniform_filter(m, size, mode="nearest")
        colour = ndimage.uniform_filter(paint, (size, size, 1), mode="nearest") / np.maximum(weight, 1e-6)[..., None]
        colour = np.where(listed[..., None] & (weight[..., None] > 0.999), paint, colour)
        s = slice(r0 - a0, r1 - a0)
        out[r0:r1] = alpha[s, :, None] * colour[s] + (1 - alpha[s, :, None]) * out[r0:r1]
    return out


def fill_halo(radius: int = 2, band: int = 2) -> int:
    """Rows above and below a block that :func:`fill_regions` needs to fill the block exactly."""
    return 2 * radius + band + 1
