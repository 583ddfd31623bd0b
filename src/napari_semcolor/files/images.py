"""Reading and writing images for the CLI and batch work: PNG, JPEG and TIFF (8/16-bit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_semcolor.errors import SemcolorError

READ_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
WRITE_SUFFIXES = (".png", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file (or a zarr array) as an array (dtype as stored: uint8, uint16, float …)."""
    from napari_semcolor.files.stacks import is_zarr, read_stack

    path = Path(path)
    if is_zarr(path):
        return np.asarray(read_stack(path)[0])
    if not path.is_file():
        raise SemcolorError(f"no such image file: {path}")
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise SemcolorError(f"cannot read {path.name}: supported formats are {', '.join(READ_SUFFIXES)}")
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            return tifffile.imread(path)
        import imageio.v3 as iio

        # pillow reads every non-TIFF format we accept; letting imageio try all its plugins would
        # answer a damaged file with install hints for video and DICOM readers
        return iio.imread(path, plugin="pillow")
    except Exception as exc:  # the readers raise many types for damaged files
        raise SemcolorError(f"could not read {path}: it is not a readable {suffix[1:].upper()} image (damaged, or another format)") from exc


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB (or gray) uint8/uint16 image as PNG or TIFF; folders are created."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise SemcolorError(f"cannot write {path.name}: give an output ending in {', '.join(WRITE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, image, photometric="rgb" if image.ndim == 3 else "minisblack")
    else:
        import imageio.v3 as iio

        iio.imwrite(path, image)
    return path


_UNIT_METRES = {
    "m": 1.0, "meter": 1.0, "mm": 1e-3, "millimeter": 1e-3, "um": 1e-6, "µm": 1e-6, "micrometer": 1e-6, "micron": 1e-6,
    "nm": 1e-9, "nanometer": 1e-9, "pm": 1e-12, "picometer": 1e-12,
}


def to_metres(value: float, unit) -> float | None:
    """``value`` in ``unit`` (a string or a pint unit) as metres; None for pixels or unknown units."""
    factor = _UNIT_METRES.get(str(unit).strip())
    return None if factor is None else float(value) * factor


def write_result(path: str | Path, rgb: np.ndarray, *, pixel_size: tuple[float, float] | None = None, metadata: dict | None = None) -> list[Path]:
    """Write a coloured image with its pixel size and a JSON sidecar of how it was made.

    Parameters
    ----------
    path : str or Path
        ``.tif``/``.tiff`` (pixel size stored as TIFF resolution in pixels per centimetre, which
        Fiji, napari-semcolor and most SEM software read) or ``.png``.
    rgb : (H, W, 3) uint8
    pixel_size : (y, x) in metres, optional
    metadata : dict, optional
        If given, written to ``<path>.json`` next to the image (with the pixel size).

    Returns
    -------
    The files written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise SemcolorError(f"cannot write {path.name}: give an output ending in {', '.join(WRITE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".tif", ".tiff") and pixel_size is not None:
        import tifffile

        tifffile.imwrite(path, rgb, photometric="rgb" if rgb.ndim == 3 else "minisblack", **tiff_resolution(pixel_size))
    else:
        write_image(path, rgb)
    return [path] + ([] if metadata is None else [write_sidecar(path, metadata, pixel_size)])


def tiff_resolution(pixel_size: tuple[float, float] | None) -> dict:
    """tifffile's keyword arguments that store a (y, x) pixel size in metres (pixels per centimetre)."""
    if pixel_size is None:
        return {}
    return {"resolution": (1 / (pixel_size[1] * 100), 1 / (pixel_size[0] * 100)), "resolutionunit": "CENTIMETER"}


def write_sidecar(path: str | Path, metadata: dict, pixel_size: tuple[float, float] | None = None) -> Path:
    """Write ``<path>.json``: the pixel size and the run's metadata (see :func:`write_result`)."""
    import json

    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    sidecar.write_text(json.dumps({"pixel_size_m": None if pixel_size is None else list(pixel_size), **(metadata or {})}, indent=2, default=str))
    return sidecar


def create_tiff(path: str | Path, shape: tuple[int, ...], *, pixel_size: tuple[float, float] | None = None) -> np.ndarray:
    """Create an uncompressed uint8 TIFF of ``shape`` ((H, W, 3) RGB or (H, W) gray) and memory-map it.

    A stack ((..., H, W, 3)) is one RGB page per plane.

    Write into the returned ``np.memmap`` block by block (e.g. as ``colorize(..., out=…)``) and
    call ``flush()``: an image larger than memory is written without ever being whole in memory.
    The pixel size (y, x, in metres) is stored as in :func:`write_result`.
    """
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise SemcolorError(f"cannot write {path.name} tile by tile: give an output ending in .tif or .tiff")
    path.parent.mkdir(parents=True, exist_ok=True)
    photometric = "rgb" if len(shape) >= 3 and shape[-1] == 3 else "minisblack"
    return tifffile.memmap(path, shape=tuple(shape), dtype=np.uint8, photometric=photometric, **tiff_resolution(pixel_size))


def numbered(path: str | Path, index: int, count: int) -> Path:
    """``OUT.png`` for a single result, ``OUT_0.png … OUT_{n-1}.png`` for several."""
    path = Path(path)
    return path if count == 1 else path.with_name(f"{path.stem}_{index}{path.suffix}")
