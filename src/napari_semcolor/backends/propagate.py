"""The ``propagate`` backend: colourization by optimisation, the hint colours spread edge-aware.

No weights, no training: the instant backend and the floor the learned backends must beat. The
solver itself is :mod:`napari_semcolor.propagation`.
"""

from __future__ import annotations

import numpy as np

from napari_semcolor.backends.base import Job
from napari_semcolor.backends.spec import BackendSpec
from napari_semcolor.propagation import propagate


class PropagateBackend:
    """Optimisation-based hint propagation: no hints → gray."""

    spec = BackendSpec(
        name="propagate",
        summary="hint colours spread along similar gray values, stopped by edges (no weights; instant)",
        working_size=384,
        needs_hints=True,
        live=True,
    )

    def colorize(self, job: Job) -> np.ndarray:
        job.report(0.0, "building affinities")
        ab = propagate(job.L, job.hint_ab, job.hint_mask, job.labels, cancel=job.cancel)
        job.report(1.0, "propagated")
        return np.repeat(ab[None], job.n_samples, axis=0)
