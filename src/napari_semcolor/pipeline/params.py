"""The parameters of one run: what :func:`~napari_semcolor.pipeline.colorize` was asked to do.

They are checked once, before any work, into a frozen :class:`RunParams` that every stage reads
and the run's metadata records (:mod:`.runinfo`), so a sidecar says exactly what the run used.
The data (image, hints, labels, references, ``keep_gray``, ``out``) are not parameters: they
travel through the stages as :class:`~napari_semcolor.pipeline.inputs.Inputs`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from napari_semcolor.backends import get_spec
from napari_semcolor.backends.spec import BackendSpec
from napari_semcolor.errors import SemcolorError


@dataclass(frozen=True)
class RunParams:
    """The checked parameters of one run (see :func:`~napari_semcolor.pipeline.colorize`).

    Attributes
    ----------
    backend : str
        Registered backend name.
    n_samples, seed : int
        Number of proposals; random seed.
    options : dict
        The backend's options, typed and complete (``BackendSpec.validate_options``).
    working_size : int or None
        Long side of the working resolution; None = the backend's own.
    device : str
        Requested torch device ("auto" until the backend stage resolves it).
    nan, percentiles : intensity → L* mapping (:func:`napari_semcolor.color.to_lightness`).
    region_colors : mapping or None
        The region colour table as given (label → colour or "gray").
    one_color_per_region : bool
        Each region takes its dominant colour.
    same_gray : float in [0, 1]
        Strength of "same gray, same colour".
    """

    backend: str
    n_samples: int = 1
    seed: int = 0
    options: dict = field(default_factory=dict)
    working_size: int | None = None
    device: str = "auto"
    nan: float | None = None
    percentiles: tuple[float, float] | None = None
    region_colors: Mapping | None = None
    one_color_per_region: bool = False
    same_gray: float = 0.0


#: smallest working resolution (long side, pixels): below it no backend has anything to work with
MIN_WORKING_SIZE = 32


def run_params(
    backend: str,
    *,
    n_samples: int = 1,
    seed: int = 0,
    options: dict | None = None,
    working_size: int | None = None,
    device: str = "auto",
    nan: float | None = None,
    percentiles: tuple[float, float] | None = None,
    region_colors: Mapping | None = None,
    one_color_per_region: bool = False,
    same_gray: float = 0.0,
) -> tuple[RunParams, BackendSpec]:
    """Check a run's parameters before any work; return them with the backend's spec.

    Raises
    ------
    SemcolorError
        A bad number of samples or ``same_gray``, an unknown backend, or an unknown option or a
        bad option value (the message lists the backend's options).
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise SemcolorError(f"n_samples must be a whole number ≥ 1; got {n_samples!r}")
    if not 0 <= same_gray <= 1:
        raise SemcolorError(f"same_gray is a strength between 0 and 1; got {same_gray}")
    if working_size is not None and (isinstance(working_size, bool) or not isinstance(working_size, (int, np.integer)) or working_size < MIN_WORKING_SIZE):
        raise SemcolorError(f"working_size is the long side of the working resolution, a whole number ≥ {MIN_WORKING_SIZE}; got {working_size!r}")
    spec = get_spec(backend)
    params = RunParams(
        backend=backend,
        n_samples=int(n_samples),
        seed=int(seed),
        options=spec.validate_options(options),  # before any work: a typo in a key is an error
        working_size=working_size,
        device=device,
        nan=nan,
        percentiles=percentiles,
        region_colors=region_colors,
        one_color_per_region=bool(one_color_per_region),
        same_gray=same_gray,
    )
    return params, spec


def one_color_flag(one_color_per_region: bool, one_colour_per_region: bool | None, *, stacklevel: int = 3) -> bool:
    """The ``one_color_per_region`` flag, also given by its deprecated spelling ``one_colour_per_region``.

    The old spelling warns (:class:`DeprecationWarning`, pointing ``stacklevel`` frames up) and is
    accepted until the next release; either spelling set means set.
    """
    if one_colour_per_region is None:
        return bool(one_color_per_region)
    warnings.warn(
        "one_colour_per_region is deprecated and will be removed in the next release; use one_color_per_region",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return bool(one_color_per_region or one_colour_per_region)
