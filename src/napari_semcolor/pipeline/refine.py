"""Stage 3, refinement to the hints: region and gray-level constraints, then the hints themselves.

All at working resolution, one proposal at a time, in this order: one colour per region (if
asked), same gray → same colour (if asked), and last the correction that makes the proposal
agree with every hint, so that no constraint undoes a hint.
"""

from __future__ import annotations

import numpy as np

from napari_semcolor import postprocess
from napari_semcolor.pipeline.inputs import Inputs
from napari_semcolor.pipeline.material import material_colour
from napari_semcolor.pipeline.params import RunParams
from napari_semcolor.propagation import propagate

#: a hint pixel may differ from its hint by this much (ΔE_ab) before a correction is applied
HINT_TOLERANCE = 1.0


def refine(ab: np.ndarray, inputs: Inputs, params: RunParams, spread=None) -> np.ndarray:
    """One proposal's a*b* (h, w, 2) with the run's constraints applied, ending with the hints.

    ``spread`` as for :func:`correct_to_hints`.
    """
    if params.one_color_per_region and inputs.labels_work is not None:
        ab = postprocess.one_color_per_region(ab, inputs.labels_work)
    ab = postprocess.same_gray_same_color(ab, inputs.L_work, params.same_gray, inputs.labels_work)
    return correct_to_hints(ab, inputs.L_work, inputs.hint_ab, inputs.hint_mask, inputs.labels_work, spread)


def correct_to_hints(
    ab: np.ndarray, L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, labels: np.ndarray | None, spread=None,
    *, read: str = "pixel", cancel=None,
) -> np.ndarray:
    """Make a backend's a*b* agree with the hints: spread the residual at hint pixels edge-aware.

    All at working resolution. Pixels far from any hint (or in other regions) keep the backend's
    colour; a hint pulls its own region towards it. Does nothing when the hints are already met.
    ``spread(residual, hint_mask)`` replaces the propagation of the residual (default:
    :func:`~napari_semcolor.propagation.propagate` on ``L`` and ``labels``; a live session's
    preview passes its cached solve). ``read``: where the backend's colour is read against a
    hint: ``"pixel"``, at the hint's own pixels; ``"material"``, the median over the material
    around the hint (:func:`~.material.material_colour`, the region shifted as a whole), the hint
    pixels then set to the hint.
    """
    mask = hint_mask > 0
    if not mask.any():
        return ab
    at = material_colour(ab, L, mask, labels) if read == "material" else ab
    residual = np.where(mask[..., None], hint_ab - at, 0).astype(np.float32)
    out = ab
    if np.abs(residual).max() >= HINT_TOLERANCE / 2:
        out = ab + (propagate(L, residual, hint_mask, labels, cancel=cancel) if spread is None else spread(residual, hint_mask))
    if read == "material" and np.abs(out[mask] - hint_ab[mask]).max() >= HINT_TOLERANCE / 2:
        out = out.copy()
        out[mask] = hint_ab[mask]
    return out
