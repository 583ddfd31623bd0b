"""Stacks (z, t, …, H, W) on disk: multi-page TIFFs and zarr arrays, read lazily, written plane by plane.

A TIFF stack is memory-mapped when it is uncompressed (:func:`~.sem_tiff.read_sem_tiff` with
``lazy=True``); a zarr array is read chunk by chunk. A result goes to a multi-page TIFF (one RGB
page per plane, with the input's pixel size) or to a zarr array (uint8, one chunk row-band per
plane), never whole in memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from napari_semcolor.errors import SemcolorError

TIFF_SUFFIXES = (".tif", ".tiff")
ZARR_SUFFIX = ".zarr"
#: where a zarr result keeps the pixel size (y, x, in metres) and the voxel spacing of the run
PIXEL_SIZE_ATTR = "pixel_size_m"


def is_zarr(path: str | Path) -> bool:
    """True for a ``.zarr`` path or a folder that holds a zarr array or group."""
    path = Path(path)
    markers = (".zarray", ".zgroup", "zarr.json")
    return path.suffix.lower() == ZARR_SUFFIX or (path.is_dir() and any((path / m).is_file() for m in markers))


def stack_shape(path: str | Path) -> tuple[int, ...] | None:
    """The shape of the gray stack in a TIFF or zarr file, or None if it holds one 2D (gray or RGB) image.

    Only the file's header is read. Raises :class:`SemcolorError` for a zarr path that cannot be read;
    a TIFF that cannot be read gives None (the image reader then says what is wrong with it).
    """
    path = Path(path)
    if is_zarr(path):
        shape = tuple(_open_zarr(path).shape)
        rgb = len(shape) >= 3 and shape[-1] in (3, 4)
    elif path.suffix.lower() in TIFF_SUFFIXES and path.is_file():
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                shape = tuple(series.shape)
                rgb = "S" in series.axes and series.axes.endswith("S")
        except Exception:  # noqa: BLE001 - damaged or not a TIFF: read_image says so
            return None
    else:
        return None
    shape = tuple(int(s) for s in shape)
    if rgb and len(shape) >= 4:
        raise SemcolorError(f"{path} is a stack of colour images {shape}: give a gray stack (one value per pixel)")
    return shape if len(shape) >= 3 and not rgb else None


def read_stack(path: str | Path):
    """(stack, pixel size (y, x) in metres or None) of a TIFF or zarr stack, lazily.

    Raises
    ------
    SemcolorError
        The file cannot be read, or holds no gray stack.
    """
    from napari_semcolor.files.sem_tiff import read_calibration, read_sem_tiff

    path = Path(path)
    if is_zarr(path):
        array = _open_zarr(path)
        size = array.attrs.get(PIXEL_SIZE_ATTR)
        return array, (tuple(float(v) for v in size) if size else None)
    if not path.is_file():
        raise SemcolorError(f"no such image file: {path}")
    pages = _compressed_pages(path)
    if pages is not None:
        return pages, read_calibration(path).pixel_size
    sem = read_sem_tiff(path, lazy=True)  # uncompressed TIFFs are memory-mapped
    return sem.data, sem.pixel_size


def _compressed_pages(path: Path):
    """A compressed (or scattered) TIFF stack as a zarr array decoded page by page, or None for one
    that can be memory-mapped (or without zarr: it is then read whole)."""
    import tifffile

    try:
        import zarr

        with tifffile.TiffFile(path) as tif:
            if tif.series[0].dataoffset is not None or len(tif.series[0].shape) < 3:
                return None
        return zarr.open(tifffile.imread(path, aszarr=True), mode="r")
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged file: tifffile and zarr raise many types
        raise SemcolorError(f"could not read {path} as a TIFF stack: {exc}") from exc


def _open_zarr(path: Path):
    """The zarr array at ``path`` (a group must hold exactly one array)."""
    zarr = _zarr()
    if not path.exists():
        raise SemcolorError(f"no such zarr store: {path}")
    try:
        found = zarr.open(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises many types for a folder that is not a store
        raise SemcolorError(f"could not read {path} as a zarr array: {exc}") from exc
    if hasattr(found, "shape"):
        return found
    arrays = [name for name, _ in found.arrays()]
    if len(arrays) != 1:
        raise SemcolorError(f"{path} is a zarr group with arrays {arrays}: give the array's path, e.g. {path / (arrays or ['NAME'])[0]}")
    return found[arrays[0]]


def _zarr():
    try:
        import zarr
    except ImportError:
        raise SemcolorError("zarr stacks need the zarr package: pip install zarr") from None
    return zarr


def check_stack_output(path: str | Path) -> None:
    """Refuse, before any work, an output a stack cannot be written to (only TIFF and zarr can)."""
    suffix = Path(path).suffix.lower()
    if suffix not in (*TIFF_SUFFIXES, ZARR_SUFFIX):
        raise SemcolorError(f"cannot write a stack to {path}: give an output ending in .tif, .tiff (one page per plane) or .zarr")
    if suffix == ZARR_SUFFIX and Path(path).exists() and not is_zarr(path):
        raise SemcolorError(f"{path} exists and is not a zarr store: choose another -o")


def staged_output(path: str | Path) -> Path:
    """A new, unused path next to ``path`` with its suffix: a run writes its result there and
    :func:`publish_output` moves it to ``path`` once complete, so a failed run never touches the
    result of an earlier one (hidden name, removed by :func:`remove_partial`). Nothing is created
    here: the writer makes it with the usual permissions (tempfile's would be private)."""
    import uuid

    path = Path(path)
    check_stack_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}-{uuid.uuid4().hex[:12]}{path.suffix}")


def stack_output(path: str | Path, shape: tuple[int, ...]):
    """Where :func:`~napari_semcolor.pipeline.colorize_stack` writes the result of a stack of ``shape``.

    A TIFF path is given as it is (written one page per plane as the planes finish); a zarr path
    becomes a new uint8 array of ``shape + (3,)`` (replacing one there), chunked by row bands of a plane.
    """
    check_stack_output(path)
    if Path(path).suffix.lower() in TIFF_SUFFIXES:
        return str(path)
    zarr = _zarr()
    h, w = shape[-2:]
    chunks = (*(1,) * (len(shape) - 2), min(h, 512), w, 3)
    return zarr.open(str(path), mode="w", shape=(*shape, 3), chunks=chunks, dtype=np.uint8)


def finish_stack_output(path: str | Path, pixel_size: tuple[float, float] | None, attrs: dict | None = None) -> None:
    """Record the pixel size and ``attrs`` in a finished zarr result (a TIFF has them on every page already)."""
    path = Path(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        return
    array = _zarr().open(str(path), mode="r+")
    array.attrs.update({PIXEL_SIZE_ATTR: None if pixel_size is None else list(pixel_size), **(attrs or {})})


def publish_output(staged: Path, path: str | Path) -> None:
    """Move a complete result from ``staged`` (:func:`staged_output`) to ``path``, replacing an earlier one."""
    path = Path(path)
    if path.is_dir():  # a zarr store (check_stack_output refused anything else): set aside, then removed
        aside = Path(tempfile.mkdtemp(prefix=f".{path.stem}-old-", dir=path.parent)) / path.name
        os.replace(path, aside)
        os.replace(staged, path)
        shutil.rmtree(aside.parent, ignore_errors=True)
    else:
        os.replace(staged, path)


def remove_partial(staged: Path) -> None:
    """Remove what a failed or cancelled run wrote to ``staged`` (:func:`staged_output`)."""
    if staged.is_dir():
        shutil.rmtree(staged, ignore_errors=True)
    else:
        staged.unlink(missing_ok=True)
