"""``colorize()``: the five stages of a run, read top to bottom."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from napari_semcolor.backends import get_backend
from napari_semcolor.errors import check_cancel
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline.inputs import Inputs, prepare_inputs
from napari_semcolor.pipeline.params import RunParams, one_color_flag, run_params
from napari_semcolor.pipeline.propose import propose
from napari_semcolor.pipeline.refine import refine
from napari_semcolor.pipeline.runinfo import run_metadata
from napari_semcolor.pipeline.write import flush, open_outputs, write_proposal

#: the full-resolution write fills the overall progress from 0.7 to 1 (start, span)
WRITE_PROGRESS = (0.7, 0.3)


@dataclass
class ColorizeResult:
    """What :func:`colorize` returns.

    Attributes
    ----------
    rgb : (n_samples, H, W, 3) uint8, or a sequence of n_samples (H, W, 3) uint8 arrays
        The coloured image(s); L* equals the input's L*. With ``out=`` this is the caller's
        output (a list of memory-mapped TIFFs when ``out`` was a path).
    metadata : dict
        Backend, parameters, seed, hints, versions: enough to reproduce the result
        (:func:`~napari_semcolor.pipeline.params_from_metadata` reads it back).
    """

    rgb: np.ndarray
    metadata: dict = field(default_factory=dict)

    @property
    def image(self) -> np.ndarray:
        """The first (or only) proposal, (H, W, 3) uint8."""
        return self.rgb[0]


def colorize(
    image: np.ndarray, backend: str = "propagate", hints: list[Hint] | None = None, labels: np.ndarray | None = None,
    references: dict | None = None, n_samples: int = 1, seed: int = 0, progress: Callable[[float, str], None] | None = None,
    cancel=None, *, working_size: int | None = None, device: str = "auto", options: dict | None = None,
    nan: float | None = None, percentiles: tuple[float, float] | None = None, region_colors: Mapping | None = None,
    one_color_per_region: bool = False, same_gray: float = 0.0, keep_gray: np.ndarray | None = None, out=None,
    one_colour_per_region: bool | None = None,  # deprecated spelling
) -> ColorizeResult:
    """Colour a grayscale micrograph without changing its structure (its L*).

    The backend works at a small working resolution; everything at full resolution runs in row
    tiles, so the input is read piecewise (stages: :mod:`napari_semcolor.pipeline`).

    Parameters
    ----------
    image : (H, W) array-like
        Gray image: uint8, uint16, other integers, bool or float (see
        :func:`napari_semcolor.color.to_lightness`). RGB is accepted with a warning (its L* is used).
        A numpy array, or a lazy one read tile by tile: a memmap (``tifffile.memmap``), dask or zarr.
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
        Backend-specific options (see the backend's ``spec.options``).
    nan : float, optional
        L* value for NaN/inf pixels (otherwise they are an error).
    percentiles : (low, high), optional
        Contrast-stretch the input between these percentiles before colouring.
    region_colors : dict, optional
        Region colour table: label → ``"#rrggbb"``, (r, g, b) or ``"gray"``. A listed region is
        filled with that colour at its own L*, with a soft, edge-aware border at most 2 pixels
        wide outside it; unlisted regions are left to the backend. Needs ``labels``.
    one_color_per_region : bool
        With ``labels``: each region takes its dominant colour (hints still win).
    same_gray : float in [0, 1]
        Strength of "same gray, same colour": pixels of equal L* are pulled to the dominant a*b*
        among them (within each region when ``labels`` are given).
    keep_gray : (H, W) bool array, optional
        Pixels to leave neutral, e.g. an instrument data bar.
    out : array-like, sequence of array-likes, str or Path, optional
        Where to write the result instead of a new in-memory array (for results larger than
        memory): a writable uint8 array of shape (n_samples, H, W, 3) (or (H, W, 3) for one
        proposal) such as an ``np.memmap`` or a zarr array, a list of n_samples (H, W, 3) arrays,
        or a TIFF path (``OUT.tif``; several proposals: ``OUT_0.tif …``), memory-mapped.
    one_colour_per_region : bool, optional
        Deprecated spelling of ``one_color_per_region`` (warns; removed in the next release).

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
    params, spec = run_params(
        backend, n_samples=n_samples, seed=seed, options=options, working_size=working_size, device=device,
        nan=nan, percentiles=percentiles, region_colors=region_colors, same_gray=same_gray,
        one_color_per_region=one_color_flag(one_color_per_region, one_colour_per_region),
    )
    report(0.0, "preparing")

    # 1. input and L*: checked data, L* and hints at working resolution
    inputs = prepare_inputs(image, hints, labels, keep_gray, params, spec, in_memory_output=out is None)
    check_cancel(cancel)
    return run_prepared(inputs, params, spec, references, report, cancel, out, t0)


def run_prepared(
    inputs: Inputs, params: RunParams, spec, references: dict | None, report: Callable[[float, str], None], cancel, out, t0: float,
    model=None,
) -> ColorizeResult:
    """Stages 2–5 of :func:`colorize` on prepared inputs (a :class:`~napari_semcolor.session.Session` caches them).

    ``model`` is the backend (default: ``get_backend(params.backend)``; a session passes one
    that caches the backend's hint-free work).
    """
    model = model or get_backend(params.backend)

    # 2. backend: a*b* proposals at working resolution
    ab, job = propose(model, inputs, params, spec, references, report, cancel)

    rgb, targets = open_outputs(out, params.n_samples, inputs.shape)
    for i, target in enumerate(targets):  # stages 3 and 4, one proposal at a time
        _finish_proposal(i, ab[i], inputs, params, target, report, cancel)
    flush(targets)
    report(1.0, "done")

    # 5. metadata: enough to repeat the run (params_from_metadata reads it back)
    return ColorizeResult(rgb, run_metadata(params, inputs, job, spec, time.perf_counter() - t0))


def _finish_proposal(i: int, ab: np.ndarray, inputs: Inputs, params: RunParams, target, report: Callable[[float, str], None], cancel) -> None:
    """Refine proposal ``i`` to the hints (stage 3) and write it at full resolution (stage 4)."""
    start, span = WRITE_PROGRESS
    n = params.n_samples
    message = f"composing proposal {i + 1}/{n}"
    report(start + span * i / n, message)
    ab = refine(ab, inputs, params)
    check_cancel(cancel)
    write_proposal(ab, inputs, target, cancel=cancel, progress=lambda f: report(start + span * (i + f) / n, message))
