"""The small protocol every colouring backend follows.

A backend sees only the working-resolution problem: L* in [0, 100], the rasterised hints and the
region labels, all at the same (h, w). It returns a*/b* proposals. The pipeline owns everything
else (validation, resizing, tiling, upsampling, hint correction, region masks, RGB composition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from napari_semcolor.backends.spec import BackendSpec
from napari_semcolor.errors import Cancelled, check_cancel

ProgressFn = Callable[[float, str], None]


@dataclass
class Job:
    """Everything a backend may use, at working resolution.

    Attributes
    ----------
    L : (h, w) float32
        Lightness L* in [0, 100].
    hint_ab : (h, w, 2) float32
        a*, b* of the hints where ``hint_mask`` is 1, 0 elsewhere.
    hint_mask : (h, w) float32
        1 where a hint is given (a gray hint has mask 1 and ab 0), 0 elsewhere.
    labels : (h, w) int32 or None
        Region labels (0 = unassigned); region borders are hard boundaries for colour.
    references : dict
        Region label (0 = default) -> reference exactly as the caller passed it (any size and
        dtype; a backend validates and converts it, see :mod:`.nstcnn`).
    n_samples : int
        Number of proposals wanted.
    seed : int
        Seed for anything random; same seed, same output.
    options : dict
        The backend's options as ``spec.validate_options`` returns them: every option of its
        spec present and typed, None where the option is automatic. The pipeline validates them;
        a caller that builds a Job itself passes ``Backend.spec.validate_options({...})``.
    device : str
        "cpu", "cuda", "mps" (already resolved from "auto" by the pipeline).
    """

    L: np.ndarray
    hint_ab: np.ndarray
    hint_mask: np.ndarray
    labels: np.ndarray | None = None
    references: dict = field(default_factory=dict)
    n_samples: int = 1
    seed: int = 0
    options: dict = field(default_factory=dict)
    device: str = "cpu"
    progress: ProgressFn | None = None
    cancel: object | None = None  # anything with ``is_set() -> bool`` (threading.Event)

    def report(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] of this backend's own work."""
        if self.progress is not None:
            self.progress(float(fraction), message)

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop."""
        check_cancel(self.cancel)


class Backend(Protocol):
    """A colouring backend: ``colorize(job) -> ab`` of shape (n_samples, h, w, 2), float32.

    ``spec`` says what it is and can do (:class:`~napari_semcolor.backends.spec.BackendSpec`);
    ``job.options`` arrive validated against it, every option present (None = automatic).
    """

    spec: BackendSpec

    def colorize(self, job: Job) -> np.ndarray: ...


__all__ = ["Job", "Backend", "ProgressFn", "Cancelled"]
