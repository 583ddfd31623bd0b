"""``colorize_stack()``: an nD stack (z, t, …, H, W) coloured through its planes, or plane by plane."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from napari_semcolor.errors import SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import memory
from napari_semcolor.pipeline.params import one_color_flag
from napari_semcolor.pipeline.run import ColorizeResult, colorize

THROUGH = ("stack", "planes")


def colorize_stack(
    image, backend: str = "propagate", hints: list[Hint] | None = None, labels=None,
    progress: Callable[[float, str], None] | None = None, cancel=None, *, through: str = "stack",
    spacing: Sequence[float] | None = None, align: bool | str = False, out=None,
    pixel_size: tuple[float, float] | None = None, **kwargs
) -> ColorizeResult:
    """Colour an nD stack (z, t, …, H, W): hints on a few planes colour every plane.

    With ``through="stack"`` (the default) the stack is coloured as one volume
    (:mod:`napari_semcolor.pipeline.volume`): ``propagate`` spreads the hints through the planes,
    edge-aware in 3D; the other backends colour each plane and their a*b* are made consistent
    between neighbouring planes (no flicker); ``diffusion`` colours its key planes and the rest
    follows from them. Stacks with several leading axes (t, z, …) are coloured one volume (the
    last leading axis) at a time, and colour flows between the volumes along the axis just
    outside them (t; axes further out are independent series): hints on one time point colour
    every time point (:mod:`~napari_semcolor.pipeline.timeflow`). A volume too deep for the voxel
    budget is solved on planes spread evenly through it and on every hinted plane, and interpolated between them
    (:mod:`~napari_semcolor.pipeline.deep`). ``through="planes"`` colours every plane on its own
    with :func:`colorize` (a hint then applies to its own plane only).

    Input is read plane by plane (a memmap, dask or zarr stack stays lazy) and the result is
    written plane by plane (into ``out`` when given); progress is reported per plane and
    ``cancel`` is checked between planes.

    Parameters
    ----------
    image : (..., H, W) array-like
        The gray stack.
    backend : str
        Registered backend name.
    hints : list of Hint, optional
        A hint whose ``plane`` is set (the trailing leading coordinates, e.g. ``(z,)``) sits on
        that plane; a hint without a plane applies to every plane.
    labels : (H, W) or (..., H, W) int array-like, optional
        The same regions for every plane, or regions per plane (shaped like the stack).
    progress : callable(fraction, message), optional
    cancel : threading.Event-like, optional
    through : {"stack", "planes"}
        Colour through the stack (default) or plane by plane.
    spacing : sequence of float, optional
        Voxel size along every axis of ``image`` (a napari layer's ``scale``): thick planes, and
        distant time points, couple less than thin or close ones. Default: isotropic.
    align : bool or {"integer", "subpixel"}
        Align consecutive planes (phase correlation) before linking them, and consecutive
        volumes along t: for drifting stacks and time series. True means "subpixel".
    out : array-like, str or Path, optional
        Where to write the result instead of a new in-memory array: a writable uint8 array of shape
        ``image.shape + (3,)`` (numpy memmap, zarr array, ``tifffile.memmap``), or a TIFF path
        (written one RGB page per plane as the planes finish, then mapped read-only).
    pixel_size : (y, x) float, optional
        The pixel size in metres, stored in every page of a TIFF ``out`` (its resolution tags).
    **kwargs
        The other keyword arguments of :func:`colorize` (one proposal: ``n_samples`` must be 1).

    Returns
    -------
    ColorizeResult
        ``rgb`` has shape ``(1,) + image.shape + (3,)`` (with ``out``: ``out`` itself, or a view of
        it with that shape); metadata of the first plane plus ``planes``, ``stack_shape``,
        ``through`` and every hint with its plane.

    Raises
    ------
    SemcolorError
        Bad input: a hint on a plane outside the stack, labels or ``out`` of the wrong shape, …
    """
    if "one_colour_per_region" in kwargs:  # warn once, not once per plane
        kwargs["one_color_per_region"] = one_color_flag(kwargs.pop("one_color_per_region", False), kwargs.pop("one_colour_per_region"))
    stack = image if hasattr(image, "shape") and hasattr(image, "dtype") else np.asarray(image)
    if len(stack.shape) < 3:
        return colorize(stack, backend, hints, labels, progress=progress, cancel=cancel, out=out, **kwargs)
    if through not in THROUGH:
        raise SemcolorError(f"through must be one of {THROUGH}; got {through!r}")
    if kwargs.pop("n_samples", 1) != 1:
        raise SemcolorError("a stack is coloured with one proposal; use n_samples=1 or colour one plane")
    shape = tuple(int(s) for s in stack.shape)
    check_per_plane("labels", labels, shape)
    check_per_plane("keep_gray", kwargs.get("keep_gray"), shape)
    by_plane = split_hints(hints or [], shape[:-2])
    memory.check_memory((int(np.prod(shape[:-1])), shape[-1]), 1, labels is not None, in_memory_output=out is None)
    spacing = check_spacing(spacing, len(shape))
    result, targets = open_stack_output(out, shape, pixel_size)
    report = progress or (lambda fraction, message: None)
    try:
        if through == "stack":
            from napari_semcolor.pipeline.volume import colorize_volume

            metadata = colorize_volume(stack, backend, by_plane, labels, targets, report, cancel, spacing=spacing, align=align, **kwargs)
        else:
            metadata = _plane_by_plane(stack, backend, by_plane, labels, targets, report, cancel, **kwargs)
    except BaseException:
        abandon_stack_output(result)  # (mapping a TIFF with no page yet would hide the error)
        raise
    result = finish_stack_output(result)
    for target in targets.values():
        if hasattr(target, "flush"):
            target.flush()
    metadata = {**metadata, "planes": len(targets), "stack_shape": list(shape), "through": through, "hints": [h.to_dict() for h in hints or []]}
    return ColorizeResult(result, metadata)


def _plane_by_plane(stack, backend, by_plane: dict, labels, targets: dict, report, cancel, **kwargs) -> dict:
    first = None
    planes = list(targets)
    for i, index in enumerate(planes):
        result = colorize(
            stack[index], backend, by_plane[index], plane_of(labels, index), cancel=cancel, out=targets[index],
            progress=lambda f, m, i=i: report((i + f) / len(planes), f"plane {i + 1}/{len(planes)}: {m}"),
            **{**kwargs, "keep_gray": plane_of(kwargs.get("keep_gray"), index)},
        )
        first = first or result.metadata
    return first


def plane_of(data, index: tuple[int, ...]):
    """Plane ``index`` of per-plane data given as one 2D array (every plane) or shaped like the stack."""
    if data is None or np.ndim(data) == 2:
        return data
    return np.asarray(data[index])


def check_per_plane(name: str, data, shape: tuple[int, ...]) -> None:
    """``data`` must be None, 2D like a plane or shaped like the stack."""
    if data is not None and tuple(np.shape(data)) not in (shape[-2:], shape):
        raise SemcolorError(f"{name} must be 2D {shape[-2:]} (every plane) or shaped like the stack {shape}; got {np.shape(data)}")


def check_spacing(spacing, ndim: int) -> tuple[float, ...]:
    """The voxel size along every axis (default 1), checked: ``ndim`` finite positive numbers."""
    if spacing is None:
        return (1.0,) * ndim
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError) as exc:
        raise SemcolorError(f"spacing must be {ndim} numbers, one voxel size per axis; got {spacing!r}") from exc
    if len(values) != ndim or not all(np.isfinite(v) and v > 0 for v in values):
        raise SemcolorError(f"spacing must be {ndim} positive numbers, one voxel size per axis; got {spacing!r}")
    return values


def split_hints(hints: list[Hint], lead_shape: tuple[int, ...]) -> dict[tuple[int, ...], list[Hint]]:
    """Each plane's hints (with ``plane`` cleared); a hint without a plane goes to every plane.

    Raises
    ------
    SemcolorError
        A hint on a plane outside the stack, or with fewer plane coordinates than the stack has.
    """
    planes = {index: [] for index in np.ndindex(*lead_shape)}
    n = len(lead_shape)
    for i, h in enumerate(hints):
        if not h.plane:
            for found in planes.values():
                found.append(h)
            continue
        index = tuple(int(v) for v in h.plane[-n:])
        if len(h.plane) < n:
            raise SemcolorError(
                f"hint {i} is on plane {tuple(h.plane)} but the stack has {n} leading axes {lead_shape}: "
                "give one coordinate per axis"
            )
        if index not in planes:
            raise SemcolorError(
                f"hint {i} is on plane {tuple(h.plane)} but the stack has planes {tuple(s - 1 for s in lead_shape)} "
                "at most (counting from 0); move or delete it"
            )
        planes[index].append(dataclasses.replace(h, plane=()))
    return planes


def open_stack_output(out, shape: tuple[int, ...], pixel_size: tuple[float, float] | None = None):
    """(what ``ColorizeResult.rgb`` holds, {plane index: row-writable (H, W, 3) target}).

    A TIFF path is written page by page as the planes are finished (:class:`_TiffPages`, each page
    with ``pixel_size``): nothing of it is mapped in memory, so its size does not count in the
    process's memory.
    """
    want = (*shape, 3)
    planes = list(np.ndindex(*shape[:-2]))
    if out is None:
        rgb = np.empty(want, np.uint8)
        return rgb[None], {index: rgb[index] for index in planes}
    if isinstance(out, (str, Path)):
        pages = _TiffPages(out, want, pixel_size)
        return pages, {index: _TiffPlane(pages, index) for index in planes}
    got = tuple(np.shape(out))
    if got not in (want, (1, *want)):
        raise SemcolorError(f"out must have shape {want} (the stack's plus RGB); got {got}")
    if np.dtype(getattr(out, "dtype", np.uint8)) != np.uint8:
        raise SemcolorError("out must be a uint8 array (8-bit RGB)")
    lead = (0,) if len(got) == len(want) + 1 else ()
    targets = {index: out[lead + index] if isinstance(out, np.ndarray) else _PlaneRows(out, lead + index, want[-3:]) for index in planes}
    # rgb[0] must be the stack: an array without views (zarr) of the stack's shape goes in a list
    return (out if lead else out[None] if isinstance(out, np.ndarray) else [out]), targets


def abandon_stack_output(result) -> None:
    """A failed or cancelled run: a TIFF path's file and the planes waiting for their page are removed."""
    if isinstance(result, _TiffPages):
        result.abandon()


def finish_stack_output(result):
    """The result once every plane is written: a TIFF path's file is closed and mapped read-only."""
    if isinstance(result, _TiffPages):
        return result.close()[None]
    return result


class _TiffPages:
    """A stack written to a TIFF file one RGB page per plane, in order, as the planes are finished.

    Each plane's target is a :class:`_TiffPlane`; a finished plane is appended to the file as the
    next page, with the pixel size (y, x, metres) if given. Planes finished ahead of their turn
    (the volumes of a time series are coloured outwards from the hinted one) wait in a temporary
    file next to the output until the pages before them are written: nothing waits in memory.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, path, shape: tuple[int, ...], pixel_size: tuple[float, float] | None = None):
        import tifffile

        from napari_semcolor.files.images import tiff_resolution

        path = Path(path)
        if path.suffix.lower() not in (".tif", ".tiff"):
            raise SemcolorError(f"cannot write {path.name} plane by plane: give an output ending in .tif or .tiff")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.shape, self.whole = path, shape[-3:], shape
        self.writer = tifffile.TiffWriter(path, bigtiff=int(np.prod(shape)) > 2**31)
        self.resolution = tiff_resolution(pixel_size)
        self.order = list(np.ndindex(*shape[:-3]))
        self.written = 0
        self.waiting: dict[tuple[int, ...], Path] = {}
        self.spill: Path | None = None

    def finished(self, index: tuple[int, ...], plane: np.ndarray) -> None:
        """Plane ``index`` is complete: appended if it is the next page (with any waiting planes
        that follow it), else kept aside until it is."""
        if index != self.order[self.written]:
            if self.spill is None:
                import tempfile

                self.spill = Path(tempfile.mkdtemp(prefix=f".{self.path.stem}-", dir=self.path.parent))
            self.waiting[index] = self.spill / ("_".join(map(str, index)) + ".npy")
            np.save(self.waiting[index], plane)
            return
        self._append(plane)
        while self.written < len(self.order) and self.order[self.written] in self.waiting:
            kept = self.waiting.pop(self.order[self.written])
            self._append(np.load(kept))
            kept.unlink()

    def _append(self, plane: np.ndarray) -> None:
        self.writer.write(plane, photometric="rgb", contiguous=True, **self.resolution)
        self.written += 1

    def close(self) -> np.ndarray:
        """Close the complete file; returns it memory-mapped read-only, (planes..., H, W, 3) (the pages
        of a stack with several leading axes are read back in the stack's shape, not as one series)."""
        import tifffile

        self._release()
        return tifffile.memmap(self.path, mode="r").reshape(self.whole)

    def abandon(self) -> None:
        """Close and remove the unfinished file (its pages are not the stack's)."""
        self._release()
        self.path.unlink(missing_ok=True)

    def _release(self) -> None:
        import shutil

        self.writer.close()
        if self.spill is not None:
            shutil.rmtree(self.spill, ignore_errors=True)


class _TiffPlane:
    """One plane of a :class:`_TiffPages` output: rows go into a one-plane buffer, handed over when full."""

    dtype = np.dtype(np.uint8)

    def __init__(self, pages: _TiffPages, index: tuple[int, ...]):
        self.pages, self.index, self.shape = pages, index, pages.shape
        self.buffer: np.ndarray | None = None
        self.rows = 0

    def __setitem__(self, rows: slice, block: np.ndarray) -> None:
        if self.buffer is None:
            self.buffer = np.zeros(self.shape, np.uint8)
        self.buffer[rows] = block
        self.rows += rows.stop - rows.start
        if self.rows >= self.shape[0]:
            self.pages.finished(self.index, self.buffer)
            self.buffer, self.rows = None, 0


class _PlaneRows:
    """Rows of one plane of an output without views (e.g. zarr): ``p[rows] = block``."""

    dtype = np.dtype(np.uint8)

    def __init__(self, out, index: tuple[int, ...], shape: tuple[int, int, int]):
        self.out, self.index, self.shape = out, index, shape

    def __setitem__(self, rows: slice, block: np.ndarray) -> None:
        self.out[(*self.index, rows)] = block
