"""The memory guard: refuse, before allocating, a run whose full-resolution arrays cannot fit.

Full resolution is processed in row tiles of :data:`TILE_PIXELS` pixels, so what must fit whole
is small and known in advance; :func:`check_memory` compares it with what the system can still
give (:func:`available_memory`, from psutil: Linux, macOS and Windows alike).
"""

from __future__ import annotations

from napari_semcolor.errors import SemcolorError

#: full-resolution pixels processed at once (intensity → L*, upsampling, composition): bounds the
#: temporaries to a few hundred MB whatever the image size
TILE_PIXELS = 2**22


def tile_rows(width: int) -> int:
    """Rows of a full-resolution tile of an image ``width`` pixels wide (at least one)."""
    return max(1, TILE_PIXELS // max(1, width))


def available_memory() -> int | None:
    """Bytes of memory the system can still give without swapping; None if unknown."""
    try:
        import psutil
    except ImportError:  # a dependency; without it the guard stands aside rather than stop the run
        return None
    try:
        return int(psutil.virtual_memory().available)
    except (psutil.Error, OSError, RuntimeError):
        return None


def check_memory(shape: tuple[int, int], n_samples: int, has_labels: bool, available: int | None = None, *, in_memory_output: bool = True) -> None:
    """Refuse, before allocating, a run whose full-resolution arrays cannot fit in memory.

    Full resolution is processed in tiles of :data:`TILE_PIXELS`, so per pixel only what is
    kept whole counts: the RGB results (3 bytes per proposal, unless written to a caller's
    ``out``) and the labels (the caller's and an int32 copy, 8), plus a fixed amount for one tile's
    temporaries (about 100 bytes per tile pixel) and a 25% margin.

    Parameters
    ----------
    shape : (H, W)
        Full-resolution image shape.
    n_samples : int
        Number of proposals.
    has_labels : bool
        Whether a label image is given.
    available : int, optional
        Bytes free (default: :func:`available_memory`; nothing is checked when that is unknown).
    in_memory_output : bool
        False when the result goes to the caller's ``out`` (e.g. a memory-mapped TIFF).

    Raises
    ------
    SemcolorError
        The run needs more than ``available``, with what to do about it.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    per_pixel = (8 if has_labels else 0) + (3 * n_samples if in_memory_output else 0)
    need = int((shape[0] * shape[1] * per_pixel + 100 * min(TILE_PIXELS, shape[0] * shape[1])) * 1.25)
    if need > available:
        raise SemcolorError(
            f"a {shape[0]}×{shape[1]} image needs about {need / 2**30:.1f} GB of memory for this run but only "
            f"{available / 2**30:.1f} GB is free; close other programs, ask for fewer proposals, write the "
            "result to a file (out=… / a .tif output), or downsample the image first"
        )
