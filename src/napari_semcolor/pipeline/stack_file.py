"""A stack on disk coloured into a file: the CLI's and batch's path to :func:`~.stack.colorize_stack`.

The input (a multi-page TIFF, memory-mapped when uncompressed, or a zarr array) is read plane by
plane and the result is written plane by plane (a multi-page TIFF with the input's pixel size, or
a zarr array): neither is ever whole in memory. The result is written next to the output and
moved there once complete: a failed or cancelled run leaves no half-written result behind and
keeps an earlier run's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from napari_semcolor.errors import SemcolorError
from napari_semcolor.files.stacks import finish_stack_output, publish_output, read_stack, remove_partial, stack_output, staged_output


def default_spacing(pixel_size: tuple[float, float] | None, ndim: int) -> tuple[float, ...] | None:
    """Voxel size of an ``ndim`` stack: its pixel size in-plane and the same along the other axes
    (isotropic), or None (every axis 1) when the file does not say."""
    if pixel_size is None:
        return None
    step = float(np.mean(pixel_size))
    return (step,) * (ndim - 2) + tuple(float(v) for v in pixel_size)


def check_spacing_count(spacing: Sequence[float] | None, shape: tuple[int, ...]) -> None:
    """``--spacing`` must give one number per axis of the stack."""
    if spacing is not None and len(spacing) != len(shape):
        axes = ",".join("TZYX"[-len(shape):]) if len(shape) <= 4 else f"{len(shape)} numbers"
        raise SemcolorError(f"--spacing has {len(spacing)} numbers but the stack {shape} has {len(shape)} axes: give {axes}")


def colorize_stack_file(
    src: str | Path, out: str | Path, *, spacing: Sequence[float] | None = None, labels=None, databar_gray: bool = True,
    metadata: dict | None = None, **kwargs,
) -> tuple[dict, tuple[float, float] | None]:
    """Colour the stack in ``src`` into ``out`` (``.tif``/``.tiff``: a page per plane; ``.zarr``).

    Parameters
    ----------
    src, out : path
        A multi-page TIFF or a zarr array, and where the result goes.
    spacing : sequence of float, optional
        Voxel size along every axis; default :func:`default_spacing` of the file's pixel size.
    labels : array-like, optional
        Regions: 2D (every plane) or shaped like the stack.
    databar_gray : bool
        Keep the instrument data bar (as detected on the first plane) gray on every plane.
    metadata : dict, optional
        Extra entries for the run's metadata (stored with a zarr result).
    **kwargs
        :func:`~.stack.colorize_stack`'s other arguments (backend, hints, through, align, progress, …).

    Returns
    -------
    (metadata, pixel size)
        The run's metadata and the input's pixel size (y, x) in metres, or None.
    """
    from napari_semcolor.files.sem_tiff import databar_mask
    from napari_semcolor.pipeline.stack import colorize_stack

    stack, pixel_size = read_stack(src)
    shape = tuple(int(s) for s in stack.shape)
    if len(shape) < 3:
        raise SemcolorError(f"{src} holds one {shape} image, not a stack")
    check_spacing_count(spacing, shape)
    spacing = spacing or default_spacing(pixel_size, len(shape))
    keep_gray = databar_mask(np.asarray(stack[(0,) * (len(shape) - 2)])) if databar_gray else None
    staged = staged_output(out)  # an earlier result in ``out`` stays until this one is complete
    try:
        target = stack_output(staged, shape)
        result = colorize_stack(stack, labels=labels, keep_gray=keep_gray, spacing=spacing, out=target, pixel_size=pixel_size, **kwargs)
        md = {**result.metadata, "spacing": None if spacing is None else list(spacing), **(metadata or {})}
        del result  # a TIFF result is mapped from the file: not kept open after the run
        finish_stack_output(staged, pixel_size, {"semcolor": json.loads(json.dumps(md, default=str))})
        publish_output(staged, out)
    except BaseException:
        remove_partial(staged)
        raise
    return md, pixel_size


def read_labels(path: str | Path):
    """Labels for a stack: a stack of them (TIFF or zarr, read lazily) or one 2D label image."""
    from napari_semcolor.files.images import read_image
    from napari_semcolor.files.stacks import stack_shape

    return read_stack(path)[0] if stack_shape(path) else read_image(path)
