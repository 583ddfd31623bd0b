"""Stage 1, input and L*: check the data, map intensity to L*, and bring it to the working resolution.

Only the working-resolution problem is ever whole in memory: the image is read in row tiles
(a statistics pass when the L* map needs one, an area-averaging pass for the working
resolution), so a lazy input (memmap, dask, zarr) stays lazy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from napari_semcolor import hints as hints_mod
from napari_semcolor import regions
from napari_semcolor.backends.spec import BackendSpec
from napari_semcolor.color import lightness_mapping
from napari_semcolor.errors import SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import memory
from napari_semcolor.pipeline.params import RunParams
from napari_semcolor.upsample import downsample_rows, resize_nearest, working_shape


@dataclass(frozen=True)
class Inputs:
    """The run's data, checked, at full and at working resolution.

    Attributes
    ----------
    image : (H, W) array-like
        The input as given (a lazy array stays lazy); read through ``read_L`` only.
    shape : (H, W)
        Full-resolution shape.
    tile_rows : int
        Rows per full-resolution tile.
    read_L : callable(r0, r1) -> (r1 - r0, W) float32
        L* of full-resolution rows r0:r1.
    hints : list of Hint
        In full-resolution pixel coordinates.
    labels : (H, W) int32 or None
        Regions at full resolution.
    fills : dict
        The region colour table as label → a*b* (:func:`napari_semcolor.regions.parse_region_colors`).
    keep_gray : (H, W) bool array-like or None
        Pixels to leave neutral.
    work : (h, w)
        Working shape.
    L_work : (h, w) float32
        L* at working resolution.
    labels_work : (h, w) int32 or None
        Regions at working resolution (nearest neighbour).
    hint_ab, hint_mask : (h, w, 2), (h, w) float32
        The hints rasterised at working resolution (:func:`napari_semcolor.hints.rasterize`).
    """

    image: Any
    shape: tuple[int, int]
    tile_rows: int
    read_L: Callable[[int, int], np.ndarray]
    hints: list[Hint]
    labels: np.ndarray | None
    fills: dict
    keep_gray: Any
    work: tuple[int, int]
    L_work: np.ndarray
    labels_work: np.ndarray | None
    hint_ab: np.ndarray
    hint_mask: np.ndarray


def prepare_inputs(
    image, hints: list[Hint] | None, labels, keep_gray, params: RunParams, spec: BackendSpec, *, in_memory_output: bool = True, to_L=None,
) -> Inputs:
    """Check the data against each other and the memory, and compute what the backend works on.

    Parameters
    ----------
    image, hints, labels, keep_gray : see :func:`~napari_semcolor.pipeline.colorize`
    params : RunParams
    spec : BackendSpec
        The backend's, for its default working size.
    in_memory_output : bool
        False when the result is written to the caller's ``out`` (it then costs no memory).
    to_L : callable(block) -> L*, optional
        The intensity → L* map to use (default: the image's own,
        :func:`~napari_semcolor.color.lightness_mapping`); a stack passes one map for all planes.

    Raises
    ------
    SemcolorError
        Any input that does not fit the image or cannot be read, or a run too large for memory.
    """
    hints = list(hints or [])
    return with_hints(prepare_image(image, labels, keep_gray, params, spec, in_memory_output=in_memory_output, hints=hints, to_L=to_L), hints)


def prepare_image(image, labels, keep_gray, params: RunParams, spec: BackendSpec, *, in_memory_output: bool = True, hints=(), to_L=None) -> Inputs:
    """:func:`prepare_inputs` without hints: the part that depends only on the image (cacheable).

    ``hints`` are only checked here (before the image is read), not rasterised; add them with
    :func:`with_hints`.
    """
    if not hasattr(image, "shape") or not hasattr(image, "dtype"):
        image = np.asarray(image)
    if len(image.shape) >= 2:  # before anything full-size is allocated
        memory.check_memory(tuple(image.shape[:2]), params.n_samples, labels is not None, in_memory_output=in_memory_output)
    shape = tuple(int(n) for n in image.shape[:2])
    rows = memory.tile_rows(shape[-1])
    if to_L is None:
        to_L = lightness_mapping(image, nan=params.nan, percentiles=params.percentiles, chunk_rows=rows)  # validates; reads in tiles
    elif len(image.shape) != 2:
        raise SemcolorError(f"expected a 2D gray plane (h, w); got shape {tuple(image.shape)}")

    def read_L(r0: int, r1: int) -> np.ndarray:
        return to_L(np.asarray(image[r0:r1]))

    labels = validate_labels(labels, shape)
    fills = regions.parse_region_colors(params.region_colors, labels)
    if keep_gray is not None and np.shape(keep_gray) != shape:
        raise SemcolorError(f"keep_gray has shape {np.shape(keep_gray)} but the image has shape {shape}")
    hints_mod.validate(list(hints), shape)
    work = working_shape(shape, params.working_size or spec.working_size)
    return Inputs(
        image=image,
        shape=shape,
        tile_rows=rows,
        read_L=read_L,
        hints=[],
        labels=labels,
        fills=fills,
        keep_gray=keep_gray,
        work=work,
        L_work=downsample_rows(read_L, shape, work, chunk_rows=rows),
        labels_work=None if labels is None else resize_nearest(labels, work),
        hint_ab=np.zeros(work + (2,), np.float32),
        hint_mask=np.zeros(work, np.float32),
    )


def with_hints(inputs: Inputs, hints: list[Hint] | None) -> Inputs:
    """``inputs`` with ``hints`` (checked against the image) rasterised at the working resolution."""
    hints = list(hints or [])
    hint_ab, hint_mask = hints_mod.rasterize(hints, inputs.shape, inputs.work)  # validates
    return replace(inputs, hints=hints, hint_ab=hint_ab, hint_mask=hint_mask)


def validate_labels(labels, shape: tuple[int, int]) -> np.ndarray | None:
    """Check a label image against the image shape; return it as int32 (or None)."""
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.shape != shape:
        raise SemcolorError(
            f"the labels have shape {arr.shape} but the image has shape {shape}; use a Labels layer "
            "made from this image (or resize it)"
        )
    if arr.dtype == bool:
        return arr.astype(np.int32)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise SemcolorError(f"labels must be whole numbers (an integer image); got dtype {arr.dtype}")
    if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
        raise SemcolorError("label values must fit in 32 bits")
    return arr.astype(np.int32)
