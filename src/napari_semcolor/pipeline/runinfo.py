"""Stage 5, the run's metadata, and its inverse: the :func:`colorize` arguments that repeat the run.

:func:`run_metadata` records what a run used (backend, parameters, hints, seed, versions);
:func:`params_from_metadata` reads such a record (a ``--metadata`` file, a batch or napari-writer
sidecar) back into keyword arguments of :func:`~napari_semcolor.pipeline.colorize`. They sit side
by side so that a key recorded is a key read back. The data (image, labels, references,
``keep_gray``) are described but not stored: the caller passes them again.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping

import numpy as np

from napari_semcolor import __version__, regions
from napari_semcolor.backends.base import Job
from napari_semcolor.backends.spec import BackendSpec
from napari_semcolor.errors import SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline.inputs import Inputs
from napari_semcolor.pipeline.params import RunParams


def run_metadata(params: RunParams, inputs: Inputs, job: Job, spec: BackendSpec, seconds: float) -> dict:
    """What a run used, as JSON-ready values: enough to reproduce its result.

    Parameters
    ----------
    params : RunParams
    inputs : Inputs
        The checked data (hints, labels, ``keep_gray``, shapes).
    job : Job
        What the backend was given (its resolved device, the reference labels).
    spec : BackendSpec
        The backend's (for the weights' sha256).
    seconds : float
        The run's duration.

    Returns
    -------
    dict
        ``params_from_metadata(run_metadata(...))`` gives the run's arguments back.
    """
    region_colors = sorted((params.region_colors or {}).items(), key=lambda kv: int(kv[0]))
    return {
        "napari_semcolor_version": __version__,
        "backend": params.backend,
        "model_sha256": model_sha256(spec),
        "n_samples": params.n_samples,
        "seed": params.seed,
        "working_shape": list(inputs.work),
        "shape": list(inputs.shape),
        "device": job.device,
        "options": job.options,
        "hints": [h.to_dict() for h in inputs.hints],
        "labels": None if inputs.labels is None else sorted(int(v) for v in np.unique(inputs.labels)),
        "references": sorted(str(k) for k in job.references),
        "region_colors": {str(k): regions.describe(v) for k, v in region_colors if v is not None},
        "one_color_per_region": params.one_color_per_region,
        "same_gray": float(params.same_gray),
        "keep_gray_pixels": None if inputs.keep_gray is None else int(np.count_nonzero(inputs.keep_gray)),
        "nan": params.nan,
        "percentiles": None if params.percentiles is None else list(params.percentiles),
        "python": platform.python_version(),
        "seconds": round(seconds, 3),
    }


def params_from_metadata(md: Mapping) -> dict:
    """Keyword arguments of :func:`~napari_semcolor.pipeline.colorize` recorded in a run's metadata.

    The inverse of :func:`run_metadata` for everything that is a parameter: backend, hints, seed,
    number of proposals, working size, options, ``nan``, ``percentiles``, region colours,
    ``one_color_per_region`` (also read from its old key ``one_colour_per_region``) and
    ``same_gray``. The device is left to the caller (the machine may differ).

    Raises
    ------
    SemcolorError
        ``md`` is not napari-semcolor run metadata, or a hint in it cannot be read.
    """
    if not isinstance(md, Mapping) or "backend" not in md:
        raise SemcolorError("this is not napari-semcolor run metadata (it has no 'backend')")
    out = {
        "backend": md["backend"],
        "hints": [Hint.from_dict(h) for h in md.get("hints") or []],
        "seed": md.get("seed", 0),
        "n_samples": md.get("n_samples", 1),
    }
    if md.get("working_shape"):
        out["working_size"] = max(md["working_shape"])
    for key in ("options", "nan", "same_gray"):
        if md.get(key) is not None:
            out[key] = md[key]
    one_color = md.get("one_color_per_region", md.get("one_colour_per_region"))
    if one_color is not None:
        out["one_color_per_region"] = bool(one_color)
    if md.get("percentiles"):
        out["percentiles"] = tuple(md["percentiles"])
    if md.get("region_colors"):
        out["region_colors"] = {int(k): v for k, v in md["region_colors"].items()}
    return out


def model_sha256(spec: BackendSpec) -> str | None:
    """sha256 of the backend's main weight file (its first), None for a backend without weights."""
    if not spec.weights:
        return None
    from napari_semcolor.weights import REGISTRY

    return REGISTRY[spec.weights[0]].sha256
