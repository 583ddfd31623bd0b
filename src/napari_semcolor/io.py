"""Reading and writing images for the CLI and batch work: PNG, JPEG and TIFF (8/16-bit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_semcolor.errors import SemcolorError

READ_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
WRITE_SUFFIXES = (".png", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as an array (dtype as stored: uint8, uint16, float …)."""
    path = Path(path)
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

        return iio.imread(path)
    except Exception as exc:  # the readers raise many types for damaged files
        raise SemcolorError(f"could not read {path}: {exc}") from exc


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


def numbered(path: str | Path, index: int, count: int) -> Path:
    """``OUT.png`` for a single result, ``OUT_0.png … OUT_{n-1}.png`` for several."""
    path = Path(path)
    return path if count == 1 else path.with_name(f"{path.stem}_{index}{path.suffix}")
