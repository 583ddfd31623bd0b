"""SEM TIFF files: pixel size from the instrument's metadata, and the instrument data bar.

Pixel size, in order of trust: FEI/Thermo Fisher ``[Scan]`` (or ``[EScan]``) ``PixelWidth/PixelHeight``
(metres, tags 34680/34682), else the horizontal field width of the beam in use (``[Beam] Beam``
names ``[EBeam]`` or ``[IRBeam]``, FIB images) over ``[Image] ResolutionX``; Zeiss
``AP_PIXEL_SIZE`` / ``AP_IMAGE_PIXEL_SIZE`` (tag 34118), else ``AP_WIDTH`` over the image width;
then the plain TIFF ``XResolution``/``YResolution`` with ``ResolutionUnit`` (inch or centimetre).
Units written ``?m`` or ``Âµm`` (a µ lost in an encoding) are read as µm. Where FEI metadata says
where the data bar is (``[PrivateFei] DatabarHeight``, or the image taller than ``[Image]
ResolutionY``), that is used instead of detecting it. The data bar is the
strip at the bottom that many instruments burn into the image (a flat background with text and a
scale bar); :func:`detect_databar` finds where it starts so it can be kept gray, not cropped away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_semcolor.errors import SemcolorError

# "?m" and "Âµm": a µ lost between Latin-1 and UTF-8 in the instrument's software
_TO_METRES = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "?m": 1e-6, "Âµm": 1e-6, "nm": 1e-9, "pm": 1e-12}


@dataclass
class SemImage:
    """An SEM image with what its file says about it.

    Attributes
    ----------
    data : ndarray
        The image as stored.
    pixel_size : (float, float) or None
        (y, x) pixel size in metres, if the file says.
    source : str
        Where the pixel size came from: "fei", "zeiss", "tiff" or "".
    databar_row : int or None
        First row of the instrument data bar, if one was found.
    metadata : dict
        The instrument metadata that was read.
    """

    data: np.ndarray
    pixel_size: tuple[float, float] | None = None
    source: str = ""
    databar_row: int | None = None
    metadata: dict = field(default_factory=dict)

    def scale_and_units(self) -> tuple[tuple[float, float], str] | None:
        """Layer scale in a readable unit (nm below 100 nm per pixel, else µm) and that unit."""
        if self.pixel_size is None:
            return None
        unit, factor = ("nm", 1e9) if max(self.pixel_size) < 1e-7 else ("µm", 1e6)
        return (self.pixel_size[0] * factor, self.pixel_size[1] * factor), unit


def read_sem_tiff(path: str | Path, *, lazy: bool = False) -> SemImage:
    """Read a TIFF with its pixel size and data bar.

    With ``lazy=True`` an uncompressed, contiguous TIFF is memory-mapped read-only instead of read
    (``data`` is then an ``np.memmap``: pixels are read from disk when used); other TIFFs are read
    normally.

    Raises
    ------
    SemcolorError
        The file cannot be read as a TIFF.
    """
    image = _open(path, pixels=True, lazy=lazy)
    if image.databar_row is None and image.data.ndim == 2:
        image.databar_row = detect_databar(image.data)
    return image


def read_calibration(path: str | Path) -> SemImage:
    """What a TIFF says about its pixels, without reading them.

    Returns a :class:`SemImage` whose ``data`` is an empty array of the image's shape and dtype
    (zero strides: nothing is allocated); ``databar_row`` is only the row the metadata states
    (detecting a data bar needs the pixels: see :func:`detect_databar`).

    Raises
    ------
    SemcolorError
        The file cannot be read as a TIFF.
    """
    return _open(path, pixels=False)


def _open(path: str | Path, *, pixels: bool, lazy: bool = False) -> SemImage:
    """The TIFF's pixels (or only their shape) with its pixel size and the data bar it states."""
    import tifffile

    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            if pixels:
                data = _memmap(tif) if lazy else None
                data = tif.asarray() if data is None else data
            else:
                page = tif.pages.first
                data = np.lib.stride_tricks.as_strided(np.zeros(1, page.dtype), page.shape, (0,) * len(page.shape), writeable=False)
            fei, zeiss, tags = _instrument_metadata(tif)
            width = int(tif.pages.first.imagewidth)  # (the data's axis 1 is a stack's rows, or its z)
    except (OSError, ValueError, IndexError, tifffile.TiffFileError) as exc:
        raise SemcolorError(f"could not read {path} as a TIFF: {exc}") from exc
    image = SemImage(data, metadata={"fei": fei, "zeiss": zeiss} if fei or zeiss else {})
    found = _fei_pixel_size(fei) or _zeiss_pixel_size(zeiss, width) or _tiff_pixel_size(tags)
    image.pixel_size, image.source = found or (None, "")
    image.databar_row = _fei_databar_row(fei, data.shape[0]) if data.ndim == 2 else None
    return image


def _instrument_metadata(tif) -> tuple[dict, dict, dict]:
    """FEI/Thermo metadata, Zeiss metadata and the resolution tags of an open TIFF."""
    page = tif.pages.first
    tags = {t.name: t.value for t in page.tags.values() if t.name in ("XResolution", "YResolution", "ResolutionUnit")}
    return tif.fei_metadata or {}, tif.sem_metadata or {}, tags


def _memmap(tif):
    """Series 0 of an open TIFF as a read-only memmap, or None if it is compressed or scattered."""
    import tifffile

    series = tif.series[0] if tif.series else None
    if series is None or series.dataoffset is None:
        return None
    try:
        return tifffile.memmap(tif.filehandle.path, series=0, mode="r")
    except (ValueError, OSError):
        return None


def _positive(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def _fei_pixel_size(meta: dict):
    scan = meta.get("Scan") or meta.get("EScan") or {}
    px, py = _positive(scan.get("PixelWidth")), _positive(scan.get("PixelHeight", scan.get("PixelWidth")))
    if px:
        return (py or px, px), "fei"
    # no [Scan] (FIB images): the horizontal field width of the beam in use over the pixels across
    beam = str((meta.get("Beam") or {}).get("Beam", "")).strip()
    columns = _positive((meta.get("Image") or {}).get("ResolutionX"))
    for section in (beam, "EBeam", "IRBeam", "IBeam"):
        hfw = _positive((meta.get(section) or {}).get("HFW")) if section else None
        if hfw and columns:
            size = hfw / columns
            return (size, size), "fei"
    return None


def _fei_databar_row(meta: dict, height: int) -> int | None:
    """First data-bar row as the FEI metadata states it, or None if it does not."""
    bar = _positive((meta.get("PrivateFei") or {}).get("DatabarHeight"))
    rows = _positive((meta.get("Image") or {}).get("ResolutionY"))
    if bar and 0 < bar < height:
        return int(height - bar)
    if rows and rows < height:
        return int(rows)
    return None


def _zeiss_pixel_size(meta: dict, width: int = 0):
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        entry = meta.get(key)
        if entry and len(entry) >= 3 and _positive(entry[1]):
            factor = _TO_METRES.get(str(entry[2]).strip())
            if factor:
                size = float(entry[1]) * factor
                return (size, size), "zeiss"
    entry = meta.get("ap_width")  # the field of view across ("Width = 11.43 µm") over the pixels
    if width and entry and len(entry) >= 3 and _positive(entry[1]):
        factor = _TO_METRES.get(str(entry[2]).strip())
        if factor:
            size = float(entry[1]) * factor / width
            return (size, size), "zeiss"
    return None


def _tiff_pixel_size(tags: dict):
    unit = tags.get("ResolutionUnit")
    per_metre = {2: 1 / 0.0254, 3: 100.0}.get(int(unit)) if unit is not None else None
    xres, yres = tags.get("XResolution"), tags.get("YResolution")
    if not per_metre or not xres:
        return None
    fx = xres[0] / xres[1] if isinstance(xres, tuple) else float(xres)
    fy = (yres[0] / yres[1] if isinstance(yres, tuple) else float(yres)) if yres else fx
    # below 1000 pixels per inch it is a print or screen setting (72, 96, 300 dpi), not a pixel size
    if min(fx, fy) * per_metre * 0.0254 < 1000:
        return None
    return (1 / (fy * per_metre), 1 / (fx * per_metre)), "tiff"


def databar_mask(image, row: int | None = None) -> np.ndarray | None:
    """A (H, W) bool mask of the data bar (to keep gray), or None if there is none.

    ``row`` is where the bar starts if already known (e.g. from the reader's metadata); otherwise
    it is detected with :func:`detect_databar` (2D images only).
    """
    if row is None and len(np.shape(image)) == 2:
        row = detect_databar(image)
    if row is None:
        return None
    mask = np.zeros(np.shape(image)[:2], bool)
    mask[int(row) :] = True
    return mask


def default_keep_gray(image, keep_gray, databar_gray: bool):
    """``keep_gray`` as the Python API takes it: if not given and ``databar_gray``, the data bar
    found in a 2D numpy image (memmaps included; dask or zarr images would be read whole)."""
    if databar_gray and keep_gray is None and isinstance(image, np.ndarray) and image.ndim == 2:
        return databar_mask(image)
    return keep_gray


def detect_databar(image: np.ndarray, *, min_fraction: float = 0.03, max_fraction: float = 0.2, max_shared: float = 0.3) -> int | None:
    """First row of an instrument data bar at the bottom of ``image``, or None.

    A data-bar row is mostly one flat value (the bar's background, usually black or white) with a
    few very different pixels (text). The bar is the longest run of such rows that ends at the
    bottom edge, between ``min_fraction`` and ``max_fraction`` of the height (instrument bars take
    4–12 %), and the row above it must not look like one. A bar is burnt in below the image, so its background is not the
    specimen's: when more than ``max_shared`` of the three rows above it have the bar's value, the
    run is a flat specimen background (a particle on black) and nothing is returned, since taking
    it for a bar would keep part of the specimen gray and out of every region.
    """
    img = np.asarray(image)
    if img.ndim != 2 or img.shape[0] < 20 or img.shape[1] < 20:
        return None
    h = img.shape[0]
    lo, hi = float(img.min()), float(img.max())
    if hi <= lo:
        return None
    tol = (hi - lo) * 0.02
    flat, modes = [], []
    first = h - int(h * max_fraction) - 1
    for r0 in range(first, h, 256):  # row blocks: a memmapped image stays on disk
        rows = img[r0 : r0 + 256].astype(np.float32)
        mode = np.median(rows, axis=1, keepdims=True)
        flat.append(np.mean(np.abs(rows - mode) <= tol, axis=1))
        modes.append(mode[:, 0])
    bar_like = np.concatenate(flat) >= 0.6
    if not bar_like[-1]:
        return None
    run = int(np.argmin(bar_like[::-1])) if not bar_like.all() else len(bar_like)
    if run < h * min_fraction or run >= len(bar_like):
        return None
    background = float(np.median(np.concatenate(modes)[-run:]))
    above = img[max(h - run - 3, 0) : h - run].astype(np.float32)
    if np.mean(np.abs(above - background) <= tol) > max_shared:
        return None
    return h - run
