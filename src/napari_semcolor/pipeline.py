"""``colorize()``: validate → working resolution → backend → hint correction → upsample → compose.

The pipeline, not the backends, owns resizing, upsampling, hint correction, region masks and RGB
composition, so that every backend stays short and every backend keeps the one invariant: the
output's L* is the input's L*.

Large images: only the working-resolution problem is ever whole in memory. The input is read in
tiles of :data:`TILE_PIXELS` (a statistics pass when the L* map needs one, an area-averaging pass
for the working resolution, one pass per proposal for the full-resolution steps), so a lazy input
(memmap, dask, zarr) stays lazy, and the result goes tile by tile into ``out`` or a uint8 array.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from napari_semcolor import __version__
from napari_semcolor import hints as hints_mod
from napari_semcolor import postprocess
from napari_semcolor import regions as regions_mod
from napari_semcolor.backends import get_backend, get_spec
from napari_semcolor.backends.base import Job
from napari_semcolor.propagation import propagate
from napari_semcolor.color import compose, lightness_mapping
from napari_semcolor.devices import resolve_device
from napari_semcolor.errors import Cancelled, SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.upsample import (
    coefficients_at_rows,
    downsample_rows,
    guided_coefficients,
    resize_nearest,
    working_shape,
)

#: a hint pixel may differ from its hint by this much (ΔE_ab) before a correction is applied
HINT_TOLERANCE = 1.0

#: full-resolution pixels processed at once (intensity → L*, upsampling, composition): bounds the
#: temporaries to a few hundred MB whatever the image size
TILE_PIXELS = 2**22


@dataclass
class ColorizeResult:
    """What :func:`colorize` returns.

    Attributes
    ----------
    rgb : (n_samples, H, W, 3) uint8, or a sequence of n_samples (H, W, 3) uint8 arrays
        The coloured image(s); L* equals the input's L*. With ``out=`` this is the caller's
        output (a list of memory-mapped TIFFs when ``out`` was a path).
    metadata : dict
        Backend, parameters, seed, hints, versions: enough to reproduce the result.
    """

    rgb: np.ndarray
    metadata: dict = field(default_factory=dict)

    @property
    def image(self) -> np.ndarray:
        """The first (or only) proposal, (H, W, 3) uint8."""
        return self.rgb[0]


def colorize(
    image: np.ndarray,
    backend: str = "propagate",
    hints: list[Hint] | None = None,
    labels: np.ndarray | None = None,
    references: dict | None = None,
    n_samples: int = 1,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
    cancel=None,
    *,
    working_size: int | None = None,
    device: str = "auto",
    options: dict | None = None,
    nan: float | None = None,
    percentiles: tuple[float, float] | None = None,
    region_colors: dict | None = None,
    one_colour_per_region: bool = False,
    same_gray: float = 0.0,
    keep_gray: np.ndarray | None = None,
    out=None,
) -> ColorizeResult:
    """Colour a grayscale micrograph without changing its structure.

    The backend works at a small working resolution; everything at full resolution
    (intensity → L*, guided upsampling, hint check, region fills, composition) runs in tiles of
    rows, so the input is read piecewise and never copied whole as floats.

    Parameters
    ----------
    image : (H, W) array-like
        Gray image: uint8, uint16, other integers, bool or float (see
        :func:`napari_semcolor.color.to_lightness`). RGB is accepted with a warning (its L* is used).
        A numpy array, or a lazy one read tile by tile: a numpy memmap (e.g.
        ``tifffile.memmap`` of an uncompressed TIFF), a dask or a zarr array.
    backend : str
        Name of a registered backend (:func:`napari_semcolor.backends.available`).
    hints : list of Hint, optional
        Colour hints in full-resolution pixel coordinates. Gray hints keep their area neutral.
    labels : (H, W) int array, optional
        Regions; their borders are hard boundaries for colour. 0 = unassigned.
    references : dict, optional
        Region label (0 = default) → reference colour image, for reference-based backends.
    n_samples : int
        Number of proposals (stochastic backends give different ones; others repeat).
    seed : int
        Random seed: same inputs and seed, same output.
    progress : callable(fraction, message), optional
        Called with the overall progress in [0, 1].
    cancel : threading.Event-like, optional
        When set, the run stops at the next check and raises :class:`~napari_semcolor.Cancelled`.
    working_size : int, optional
        Long side of the working resolution (default: the backend's own).
    device : {"auto", "cpu", "cuda", "mps"}
        Torch device for network backends.
    options : dict, optional
        Backend-specific options.
    nan : float, optional
        L* value for NaN/inf pixels (otherwise they are an error).
    percentiles : (low, high), optional
        Contrast-stretch the input between these percentiles before colouring.
    region_colors : dict, optional
        Region colour table: label → ``"#rrggbb"``, (r, g, b) or ``"gray"``. A listed region is
        filled with that colour at its own L*, with a soft, edge-aware border at most 2 pixels
        wide outside it; unlisted regions are left to the backend. Needs ``labels``.
    one_colour_per_region : bool
        With ``labels``: each region takes its dominant colour (hints still win).
    same_gray : float in [0, 1]
        Strength of "same gray, same colour": pixels of equal L* are pulled to the dominant a*b*
        among them (within each region when ``labels`` are given).
    keep_gray : (H, W) bool array, optional
        Pixels to leave neutral, e.g. an instrument data bar.
    out : array-like, sequence of array-likes, str or Path, optional
        Where to write the result instead of a new in-memory array (for images whose result does
        not fit in memory): a writable uint8 array of shape (n_samples, H, W, 3) (or (H, W, 3) for
        one proposal) such as an ``np.memmap`` or a zarr array, a list of n_samples (H, W, 3)
        arrays, or a TIFF path (``OUT.tif``; several proposals: ``OUT_0.tif …``), written as an
        uncompressed, memory-mapped TIFF.

    Returns
    -------
    ColorizeResult

    Raises
    ------
    SemcolorError
        Invalid input, with a message that says what to do.
    Cancelled
        The cancel token was set during the run.
    """
    t0 = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    hints = list(hints or [])
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise SemcolorError(f"n_samples must be a whole number ≥ 1; got {n_samples!r}")
    spec = get_spec(backend)
    options = spec.validate_options(options)  # before any work: a typo in a key is an error
    model = get_backend(backend)
    report(0.0, "preparing")
    if not hasattr(image, "shape") or not hasattr(image, "dtype"):
        image = np.asarray(image)
    if len(image.shape) >= 2:  # before anything full-size is allocated
        check_memory(tuple(image.shape[:2]), int(n_samples), labels is not None, in_memory_output=out is None)
    shape = tuple(int(n) for n in image.shape[:2])
    step = max(1, TILE_PIXELS // max(1, shape[-1]))  # rows per full-resolution tile
    to_L = lightness_mapping(image, nan=nan, percentiles=percentiles, chunk_rows=step)  # validates; reads in tiles

    def read_L(r0: int, r1: int) -> np.ndarray:
        return to_L(np.asarray(image[r0:r1]))

    labels = validate_labels(labels, shape)
    fills = regions_mod.parse_region_colors(region_colors, labels)
    if keep_gray is not None and np.shape(keep_gray) != shape:
        raise SemcolorError(f"keep_gray has shape {np.shape(keep_gray)} but the image has shape {shape}")
    if not 0 <= same_gray <= 1:
        raise SemcolorError(f"same_gray is a strength between 0 and 1; got {same_gray}")
    hints_mod.validate(hints, shape)
    work = working_shape(shape, working_size or spec.working_size)
    L_work = downsample_rows(read_L, shape, work, chunk_rows=step)
    labels_work = None if labels is None else resize_nearest(labels, work)
    hint_ab, hint_mask = hints_mod.rasterize(hints, shape, work)
    _check(cancel)

    job = Job(
        L=L_work,
        hint_ab=hint_ab,
        hint_mask=hint_mask,
        labels=labels_work,
        references=dict(references or {}),
        n_samples=int(n_samples),
        seed=int(seed),
        options=options,
        device=resolve_device(device) if spec.uses_torch else "cpu",
        progress=lambda f, m: report(round(0.05 + 0.65 * min(max(f, 0.0), 1.0), 4), m),
        cancel=cancel,
    )
    ab = np.asarray(model.colorize(job), np.float32)
    if ab.shape != (n_samples, *work, 2):
        raise RuntimeError(f"backend {backend!r} returned a*b* of shape {ab.shape}; expected {(n_samples, *work, 2)}")
    _check(cancel)

    rgb, targets = _outputs(out, int(n_samples), shape)
    halo = regions_mod.fill_halo() if fills else 0
    for i in range(n_samples):
        report(0.7 + 0.3 * i / n_samples, f"composing proposal {i + 1}/{n_samples}")
        ab_i = ab[i]
        if one_colour_per_region and labels_work is not None:
            ab_i = postprocess.one_colour_per_region(ab_i, labels_work)
        ab_i = postprocess.same_gray_same_colour(ab_i, L_work, same_gray, labels_work)
        ab_i = correct_to_hints(ab_i, L_work, hint_ab, hint_mask, labels_work)
        _check(cancel)
        ab_at_rows = full_resolution_ab(ab_i, L_work, read_L, shape, hints, labels_work, labels)
        for r0 in range(0, shape[0], step):
            r1 = min(r0 + step, shape[0])
            a0, a1 = max(r0 - halo, 0), min(r1 + halo, shape[0])  # fills need a few rows around
            L_t = read_L(a0, a1)
            ab_t = ab_at_rows(L_t, slice(a0, a1))
            if fills:
                ab_t = regions_mod.fill_regions(ab_t, L_t, labels[a0:a1], fills, chunk_rows=a1 - a0)
            core = slice(r0 - a0, r1 - a0)
            L_t, ab_t = L_t[core], ab_t[core]
            if keep_gray is not None:
                ab_t[np.asarray(keep_gray[r0:r1], bool)] = 0
            targets[i][r0:r1] = compose(L_t, ab_t, chunk_rows=r1 - r0)
            _check(cancel)
            report(0.7 + 0.3 * (i + r1 / shape[0]) / n_samples, f"composing proposal {i + 1}/{n_samples}")
    for target in targets:
        if hasattr(target, "flush"):
            target.flush()
    report(1.0, "done")
    metadata = {
        "napari_semcolor_version": __version__,
        "backend": backend,
        "model_sha256": model_sha256(spec),
        "n_samples": int(n_samples),
        "seed": int(seed),
        "working_shape": list(work),
        "shape": list(shape),
        "device": job.device,
        "options": job.options,
        "hints": [{"y": h.y, "x": h.x, "color": h.hex, "size": h.size, "plane": list(h.plane)} for h in hints],
        "labels": None if labels is None else sorted(int(v) for v in np.unique(labels)),
        "references": sorted(str(k) for k in job.references),
        "region_colors": {str(k): regions_mod.describe(v) for k, v in sorted((region_colors or {}).items(), key=lambda kv: int(kv[0])) if v is not None},
        "one_colour_per_region": bool(one_colour_per_region),
        "same_gray": float(same_gray),
        "keep_gray_pixels": None if keep_gray is None else int(np.count_nonzero(keep_gray)),
        "nan": nan,
        "percentiles": None if percentiles is None else list(percentiles),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return ColorizeResult(rgb, metadata)


def model_sha256(spec) -> str | None:
    """sha256 of the backend's main weight file (its first), None for a backend without weights."""
    if not spec.weights:
        return None
    from napari_semcolor.weights import REGISTRY

    return REGISTRY[spec.weights[0]].sha256


def available_memory() -> int | None:
    """Bytes of memory the system can still give (Linux ``MemAvailable``); None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(shape: tuple[int, int], n_samples: int, has_labels: bool, available: int | None = None, *, in_memory_output: bool = True) -> None:
    """Refuse, before allocating, a run whose full-resolution arrays cannot fit in memory.

    Full resolution is processed in tiles of :data:`TILE_PIXELS`, so per pixel only what is
    kept whole counts: the RGB results (3 bytes per proposal, unless written to a caller's
    ``out``) and the labels (the caller's and an int32 copy, 8), plus a fixed amount for one tile's
    temporaries (about 100 bytes per tile pixel) and a 25% margin.
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


def _outputs(out, n: int, shape: tuple[int, int]):
    """(what ColorizeResult.rgb holds, one row-writable (H, W, 3) target per proposal)."""
    want = (*shape, 3)
    if out is None:
        rgb = np.empty((n, *want), np.uint8)
        return rgb, list(rgb)
    if isinstance(out, (str, Path)):
        from napari_semcolor.files.images import create_tiff, numbered

        targets = [create_tiff(numbered(out, i, n), want) for i in range(n)]
        return targets, targets
    if isinstance(out, (list, tuple)):
        targets = list(out)
    elif tuple(np.shape(out)) == (n, *want):
        targets = [out[i] if isinstance(out, np.ndarray) else _Proposal(out, i) for i in range(n)]
    else:
        targets = [out]
    if len(targets) != n or any(tuple(np.shape(t)) != want for t in targets):
        raise SemcolorError(f"out must have shape {(n, *want)} (or {want} for one proposal, or be a list of {n} such arrays); got {np.shape(out)}")
    if any(np.dtype(t.dtype if hasattr(t, "dtype") else np.asarray(t).dtype) != np.uint8 for t in targets):
        raise SemcolorError("out must be a uint8 array (8-bit RGB)")
    return (out if not isinstance(out, (list, tuple)) and len(np.shape(out)) == 4 else targets), targets


class _Proposal:
    """Rows of proposal ``i`` of a 4D output that has no views (e.g. zarr): ``p[rows] = block``."""

    def __init__(self, out, i: int):
        self.out, self.i = out, i

    def __setitem__(self, rows: slice, block: np.ndarray) -> None:
        self.out[self.i, rows] = block


def _check(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("colourization cancelled")


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


def correct_to_hints(ab: np.ndarray, L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Make a backend's a*b* agree with the hints: spread the residual at hint pixels edge-aware.

    All at working resolution. Pixels far from any hint (or in other regions) keep the backend's
    colour; a hint pulls its own region towards it. Does nothing when the hints are already met.
    """
    mask = hint_mask > 0
    if not mask.any():
        return ab
    residual = np.where(mask[..., None], hint_ab - ab, 0).astype(np.float32)
    if np.abs(residual).max() < HINT_TOLERANCE / 2:
        return ab
    return ab + propagate(L, residual, hint_mask, labels)


def full_resolution_ab(ab: np.ndarray, L_work: np.ndarray, read_L, shape: tuple[int, int], hints: list[Hint], labels_work: np.ndarray | None, labels: np.ndarray | None = None):
    """Guided upsampling to full resolution that still honours the hints there, row by row.

    With labels (at both resolutions) the upsampling is region-aware
    (:mod:`napari_semcolor.regions`): no colour crosses a region border.

    Upsampling can soften a small hint patch. Where a full-resolution patch misses its hint by
    more than :data:`HINT_TOLERANCE`, the residual is spread a short, edge-aware distance at working
    resolution and added to the guided filter's offset B, so the fix is as smooth as the rest.

    Parameters
    ----------
    ab, L_work : a*b* (h, w, 2) and L* (h, w) at working resolution
    read_L : callable(r0, r1) -> (r1 - r0, W) float32
        Full-resolution L* of rows r0:r1 (only the hint patches' rows are read here).
    shape : (H, W)
        Full-resolution shape.
    hints, labels_work, labels : see :func:`colorize`

    Returns
    -------
    callable(L_rows, rows) -> (len(rows), W, 2) float32
        Full-resolution a*b* of the rows ``rows`` (a slice) given their L*.
    """
    if tuple(shape) == L_work.shape:
        return lambda L_rows, rows: np.array(ab[rows], np.float32)
    regional = labels is not None and labels_work is not None
    A, B = regions_mod.region_coefficients(L_work / 100, ab, labels_work) if regional else guided_coefficients(L_work / 100, ab)
    if hints:
        work = L_work.shape
        scale = (work[0] / shape[0], work[1] / shape[1])
        residual = np.zeros(work + (2,), np.float32)
        mask = np.zeros(work, np.float32)
        worst = 0.0
        for h in hints:
            ys, xs = hints_mod.patch_slices(h, shape)
            got = coefficients_at_rows(A, B, read_L(ys.start, ys.stop), ys, shape)[:, xs].reshape(-1, 2).mean(axis=0)
            r = h.ab - got
            worst = max(worst, float(np.hypot(*r)))
            wy, wx = hints_mod.patch_slices(h, shape, scale, work)
            residual[wy, wx] = r
            mask[wy, wx] = 1
        if worst >= HINT_TOLERANCE:
            B = B + propagate(L_work, residual, mask, labels_work, reach=20)
    if regional:
        at_rows = regions_mod.region_interpolator(A, B, labels_work, shape)
        return lambda L_rows, rows: at_rows(L_rows, rows, labels[rows])
    return lambda L_rows, rows: coefficients_at_rows(A, B, L_rows, rows, shape)


def colorize_stack(image: np.ndarray, backend: str = "propagate", hints: list[Hint] | None = None, labels: np.ndarray | None = None, progress: Callable[[float, str], None] | None = None, cancel=None, **kwargs) -> ColorizeResult:
    """Colour an nD stack (z, t, …, H, W) plane by plane, with one call of :func:`colorize` each.

    A hint whose ``plane`` is set applies to that plane only; a hint without a plane applies to
    every plane. ``labels`` may be 2D (the same regions for every plane) or shaped like the stack.
    One proposal per plane (``n_samples`` is not accepted here).

    Returns
    -------
    ColorizeResult
        ``rgb`` has shape ``stack.shape + (3,)``; metadata of the first plane plus ``planes``.
    """
    stack = np.asarray(image) if not hasattr(image, "shape") else image
    if stack.ndim < 3:
        return colorize(stack, backend, hints, labels, progress=progress, cancel=cancel, **kwargs)
    if "n_samples" in kwargs and kwargs["n_samples"] != 1:
        raise SemcolorError("a stack is coloured with one proposal per plane; use n_samples=1 or colour one plane")
    kwargs.pop("n_samples", None)
    lead_shape = stack.shape[:-2]
    if labels is not None and np.ndim(labels) not in (2, stack.ndim):
        raise SemcolorError(f"labels must be 2D or shaped like the stack {stack.shape}; got {np.shape(labels)}")
    planes = list(np.ndindex(*lead_shape))
    rgb = np.empty(stack.shape + (3,), np.uint8)
    report = progress or (lambda fraction, message: None)
    first = None
    for i, index in enumerate(planes):
        plane_hints = [Hint(h.y, h.x, h.rgb, h.size) for h in hints or [] if not h.plane or tuple(h.plane[-len(index):]) == index]
        plane_labels = None if labels is None else (labels if np.ndim(labels) == 2 else labels[index])
        result = colorize(
            stack[index], backend, plane_hints, plane_labels, cancel=cancel,
            progress=lambda f, m, i=i: report((i + f) / len(planes), f"plane {i + 1}/{len(planes)}: {m}"),
            **kwargs,
        )
        rgb[index] = result.image
        first = first or result.metadata
    metadata = {**first, "planes": len(planes), "stack_shape": list(stack.shape), "hints": [{"y": h.y, "x": h.x, "color": h.hex, "size": h.size, "plane": list(h.plane)} for h in hints or []]}
    return ColorizeResult(rgb[None], metadata)
