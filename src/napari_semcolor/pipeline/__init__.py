"""``colorize()``: a gray image in, colour proposals with the input's L* out, in five stages.

The pipeline, not the backends, owns resizing, upsampling, hint correction, region masks and RGB
composition, so that every backend stays short and keeps the one invariant: the output's L* is
the input's L*. A run reads top to bottom in :func:`~.run.colorize`:

0. :mod:`.params` — the run's parameters checked into a frozen :class:`RunParams` (backend
   options typed against the backend's spec) before any work.
1. :mod:`.inputs` — input and L*: data checked against the image and the memory
   (:mod:`.memory`), intensity → L*, L*, labels and hints at the working resolution.
2. :mod:`.propose` — the backend: a :class:`~napari_semcolor.backends.base.Job` in, a*b*
   proposals at working resolution out.
3. :mod:`.refine` — refinement to the hints: one colour per region, same gray → same colour,
   then the correction that makes every proposal meet the hints.
4. :mod:`.write` — the full-resolution write: guided upsampling (still honouring the hints),
   region fills, ``keep_gray``, composition into the outputs, tile by tile.
5. :mod:`.runinfo` — the run's metadata, beside its inverse :func:`params_from_metadata`.

Large images: only the working-resolution problem is ever whole in memory. The input is read in
tiles of :data:`.memory.TILE_PIXELS`, so a lazy input (memmap, dask, zarr) stays lazy, and the
result goes tile by tile into ``out`` or a uint8 array. :mod:`.stack` colours nD stacks: through
the stack as one volume (:mod:`.volume`, hints on a few planes colour every plane) or plane by plane.
"""

from napari_semcolor.pipeline.inputs import Inputs, prepare_inputs, validate_labels
from napari_semcolor.pipeline.memory import available_memory, check_memory
from napari_semcolor.pipeline.params import RunParams, run_params
from napari_semcolor.pipeline.propose import propose
from napari_semcolor.pipeline.refine import HINT_TOLERANCE, correct_to_hints, refine
from napari_semcolor.pipeline.run import ColorizeResult, colorize
from napari_semcolor.pipeline.runinfo import model_sha256, params_from_metadata, run_metadata
from napari_semcolor.pipeline.stack import colorize_stack
from napari_semcolor.pipeline.write import full_resolution_ab, open_outputs, write_proposal

__all__ = [
    "colorize",
    "colorize_stack",
    "ColorizeResult",
    "RunParams",
    "run_params",
    "Inputs",
    "prepare_inputs",
    "validate_labels",
    "propose",
    "refine",
    "correct_to_hints",
    "HINT_TOLERANCE",
    "full_resolution_ab",
    "open_outputs",
    "write_proposal",
    "run_metadata",
    "params_from_metadata",
    "model_sha256",
    "available_memory",
    "check_memory",
]
