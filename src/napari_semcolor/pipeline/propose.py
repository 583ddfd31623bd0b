"""Stage 2, the backend: one :class:`~napari_semcolor.backends.base.Job` in, a*b* proposals out.

Everything the backend sees is at working resolution; it returns only a*b* (the output's L* is
the input's, by construction).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from napari_semcolor.backends.base import Backend, Job
from napari_semcolor.backends.spec import BackendSpec
from napari_semcolor.devices import resolve_device
from napari_semcolor.errors import check_cancel
from napari_semcolor.pipeline.inputs import Inputs
from napari_semcolor.pipeline.params import RunParams

#: the backend's own progress fills the overall progress from 0.05 to 0.7 (start, span)
BACKEND_PROGRESS = (0.05, 0.65)


def propose(
    model: Backend, inputs: Inputs, params: RunParams, spec: BackendSpec, references: dict | None,
    report: Callable[[float, str], None], cancel=None,
) -> tuple[np.ndarray, Job]:
    """Run the backend on the working-resolution problem.

    Parameters
    ----------
    model : Backend
        The backend instance (``get_backend(params.backend)``).
    inputs : Inputs
        From :func:`~napari_semcolor.pipeline.inputs.prepare_inputs`.
    params : RunParams
    spec : BackendSpec
        Whether the backend uses torch (then ``params.device`` is resolved, else "cpu").
    references : dict, optional
        Region label → reference image, passed through as given.
    report : callable(fraction, message)
        Overall progress; the backend's fills :data:`BACKEND_PROGRESS`.
    cancel : threading.Event-like, optional

    Returns
    -------
    ab : (n_samples, h, w, 2) float32
        The proposals at working resolution.
    job : Job
        What the backend was given (its device and references go into the metadata).
    """
    start, span = BACKEND_PROGRESS
    job = Job(
        L=inputs.L_work,
        hint_ab=inputs.hint_ab,
        hint_mask=inputs.hint_mask,
        labels=inputs.labels_work,
        references=dict(references or {}),
        n_samples=params.n_samples,
        seed=params.seed,
        options=params.options,
        device=resolve_device(params.device) if spec.uses_torch else "cpu",
        progress=lambda f, m: report(round(start + span * min(max(f, 0.0), 1.0), 4), m),
        cancel=cancel,
    )
    ab = np.asarray(model.colorize(job), np.float32)
    expected = (params.n_samples, *inputs.work, 2)
    if ab.shape != expected:
        raise RuntimeError(f"backend {params.backend!r} returned a*b* of shape {ab.shape}; expected {expected}")
    check_cancel(cancel)
    return ab, job
