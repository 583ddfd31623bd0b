"""``colorize()``: validate → working resolution → backend → hint correction → upsample → compose.

The pipeline, not the backends, owns resizing, upsampling, hint correction, region masks and RGB
composition, so that every backend stays short and every backend keeps the one invariant: the
output's L* is the input's L*.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from napari_semcolor import __version__
from napari_semcolor import hints as hints_mod
from napari_semcolor.backends import get_backend
from napari_semcolor.backends.base import Job
from napari_semcolor.backends.propagate import propagate
from napari_semcolor.color import compose, to_lightness
from napari_semcolor.devices import resolve_device
from napari_semcolor.errors import Cancelled, SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.upsample import (
    apply_coefficients,
    downsample,
    guided_coefficients,
    resize_nearest,
    upsample_coefficients,
    working_shape,
)

#: a hint pixel may differ from its hint by this much (ΔE_ab) before a correction is applied
HINT_TOLERANCE = 1.0


@dataclass
class ColorizeResult:
    """What :func:`colorize` returns.

    Attributes
    ----------
    rgb : (n_samples, H, W, 3) uint8
        The coloured image(s); L* equals the input's L*.
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
) -> ColorizeResult:
    """Colour a grayscale micrograph without changing its structure.

    Parameters
    ----------
    image : (H, W) array
        Gray image: uint8, uint16, other integers, bool or float (see
        :func:`napari_semcolor.color.to_lightness`). RGB is accepted with a warning (its L* is used).
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
    model = get_backend(backend)
    report(0.0, "preparing")
    L = to_lightness(image, nan=nan, percentiles=percentiles)
    shape = L.shape
    labels = validate_labels(labels, shape)
    hints_mod.validate(hints, shape)
    work = working_shape(shape, working_size or model.working_size)
    L_work = downsample(L, work)
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
        options=dict(options or {}),
        device=resolve_device(device) if getattr(model, "uses_torch", True) else "cpu",
        progress=lambda f, m: report(round(0.05 + 0.65 * min(max(f, 0.0), 1.0), 4), m),
        cancel=cancel,
    )
    ab = np.asarray(model.colorize(job), np.float32)
    if ab.shape != (n_samples, *work, 2):
        raise RuntimeError(f"backend {backend!r} returned a*b* of shape {ab.shape}; expected {(n_samples, *work, 2)}")
    _check(cancel)

    rgb = np.empty((n_samples, *shape, 3), np.uint8)
    for i in range(n_samples):
        report(0.7 + 0.3 * i / n_samples, f"composing proposal {i + 1}/{n_samples}")
        ab_i = correct_to_hints(ab[i], L_work, hint_ab, hint_mask, labels_work)
        _check(cancel)
        ab_full = upsample(ab_i, L_work, L, hints, labels_work)
        if labels is not None:
            ab_full = keep_inside_regions(ab_full, ab_i, labels, labels_work)
        _check(cancel)
        rgb[i] = compose(L, ab_full)
    report(1.0, "done")
    metadata = {
        "napari_semcolor_version": __version__,
        "backend": backend,
        "model_sha256": getattr(model, "model_sha256", None),
        "n_samples": int(n_samples),
        "seed": int(seed),
        "working_shape": list(work),
        "shape": list(shape),
        "device": job.device,
        "options": job.options,
        "hints": [{"y": h.y, "x": h.x, "color": h.hex, "size": h.size, "plane": list(h.plane)} for h in hints],
        "labels": None if labels is None else sorted(int(v) for v in np.unique(labels)),
        "references": sorted(str(k) for k in job.references),
        "nan": nan,
        "percentiles": None if percentiles is None else list(percentiles),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return ColorizeResult(rgb, metadata)


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


def upsample(ab: np.ndarray, L_work: np.ndarray, L: np.ndarray, hints: list[Hint], labels_work: np.ndarray | None) -> np.ndarray:
    """Guided upsampling to full resolution that still honours the hints there.

    Upsampling can soften a small hint patch. Where a full-resolution patch misses its hint by
    more than :data:`HINT_TOLERANCE`, the residual is spread a short, edge-aware distance at working
    resolution and added to the guided filter's offset B, so the fix is as smooth as the rest.
    """
    if L.shape == L_work.shape:
        return ab.copy()
    A, B = guided_coefficients(L_work / 100, ab)
    if hints:
        work, shape = L_work.shape, L.shape
        scale = (work[0] / shape[0], work[1] / shape[1])
        residual = np.zeros(work + (2,), np.float32)
        mask = np.zeros(work, np.float32)
        worst = 0.0
        for h in hints:
            ys, xs = hints_mod.patch_slices(h, shape)
            got = apply_coefficients(A, B, L, ys)[:, xs].reshape(-1, 2).mean(axis=0)
            r = h.ab - got
            worst = max(worst, float(np.hypot(*r)))
            wy, wx = hints_mod.patch_slices(h, shape, scale, work)
            residual[wy, wx] = r
            mask[wy, wx] = 1
        if worst >= HINT_TOLERANCE:
            B = B + propagate(L_work, residual, mask, labels_work, reach=20)
    return upsample_coefficients(A, B, L)


def keep_inside_regions(ab_full: np.ndarray, ab_work: np.ndarray, labels: np.ndarray, labels_work: np.ndarray) -> np.ndarray:
    """Stop colour bleeding across region borders introduced by upsampling.

    A full-resolution pixel whose region differs from the working-resolution region under it
    (a thin band along borders) takes its own region's mean colour instead of its neighbour's.
    """
    under = resize_nearest(labels_work, labels.shape)
    wrong = under != labels
    if not wrong.any():
        return ab_full
    ids = labels_work.ravel()
    lut_ids, inv = np.unique(ids, return_inverse=True)
    sums = np.zeros((len(lut_ids), 2))
    np.add.at(sums, inv, ab_work.reshape(-1, 2))
    means = sums / np.bincount(inv)[:, None]
    pos = np.searchsorted(lut_ids, labels[wrong])
    pos = np.clip(pos, 0, len(lut_ids) - 1)
    known = lut_ids[pos] == labels[wrong]
    fill = ab_full[wrong]
    fill[known] = means[pos[known]]
    ab_full[wrong] = fill
    return ab_full
