"""A toy colouring backend for the tests that add a backend from outside the package.

It paints one flat colour, ``a* = chroma·cos(hue)``, ``b* = chroma·sin(hue)``, everywhere (the
pipeline keeps L* and still corrects to any hints). Register it with::

    from napari_semcolor import backends
    backends.register("toy", "toy_backend:ToyBackend")   # tests/ is on sys.path under pytest
    ...
    backends.unregister("toy")

Options: ``hue`` (float, degrees, 0–360, default :data:`HUE`) and ``chroma`` (float, 0–100,
default :data:`CHROMA`).
"""

from __future__ import annotations

import numpy as np

from napari_semcolor.backends import BackendSpec, Job, Option

HUE = 30.0
CHROMA = 40.0


def flat_ab(hue: float, chroma: float) -> np.ndarray:
    """The toy's colour as (a*, b*) for a hue in degrees and a chroma."""
    angle = np.deg2rad(hue)
    return np.array([chroma * np.cos(angle), chroma * np.sin(angle)], np.float32)


class ToyBackend:
    """One flat colour of the given hue and chroma (a test backend)."""

    spec = BackendSpec(
        name="toy",
        summary="one flat colour everywhere (a test backend)",
        working_size=64,
        options=(
            Option("hue", float, HUE, "hue angle of the colour in degrees", min=0.0, max=360.0),
            Option("chroma", float, CHROMA, "chroma of the colour", min=0.0, max=100.0),
        ),
    )

    def colorize(self, job: Job) -> np.ndarray:
        job.check_cancel()
        ab = flat_ab(job.options["hue"], job.options["chroma"])
        out = np.broadcast_to(ab, (job.n_samples, *job.L.shape, 2)).astype(np.float32)
        job.report(1.0, "toy colour")
        return out
