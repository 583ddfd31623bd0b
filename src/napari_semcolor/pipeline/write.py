"""Stage 4, the full-resolution write: guided upsampling, region fills, ``keep_gray``, composition.

One proposal at a time, tile by tile of :data:`~napari_semcolor.pipeline.memory.TILE_PIXELS`:
each tile's L* is read from the input, its a*b* interpolated from the working-resolution
coefficients, and the RGB composed straight into the output (``out`` or a new uint8 array), so
no full-resolution float array ever exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from napari_semcolor import hints as hints_mod
from napari_semcolor import regions
from napari_semcolor.color import compose
from napari_semcolor.errors import SemcolorError, check_cancel
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline.inputs import Inputs
from napari_semcolor.pipeline.refine import HINT_TOLERANCE
from napari_semcolor.propagation import propagate
from napari_semcolor.upsample import coefficients_at_rows, guided_coefficients

#: pixels computed at once inside a tile: the full-resolution steps (upsampling, composition) make
#: several float32 temporaries each, which stay in cache at this size (a 2048² propagate run took
#: 0.38 s of CPU in blocks of 2¹⁷ pixels, 0.57 s in one block), and a cancelled run stops sooner
BLOCK_PIXELS = 2**17


def write_proposal(ab: np.ndarray, inputs: Inputs, target, *, progress: Callable[[float], None] | None = None, cancel=None) -> None:
    """Compose one proposal at full resolution into ``target``, tile by tile.

    Parameters
    ----------
    ab : (h, w, 2) float32
        The refined proposal at working resolution.
    inputs : Inputs
    target : row-writable (H, W, 3) uint8
        ``target[r0:r1] = block`` is all that is used.
    progress : callable(fraction), optional
        Called after each tile with the fraction of rows written.
    cancel : threading.Event-like, optional
    """
    H, W = inputs.shape
    ab_at_rows = full_resolution_ab(ab, inputs.L_work, inputs.read_L, inputs.shape, inputs.hints, inputs.labels_work, inputs.labels)
    halo = regions.fill_halo() if inputs.fills else 0  # fills need a few rows around a tile
    block = max(1, BLOCK_PIXELS // max(1, W))
    for r0 in range(0, H, inputs.tile_rows):
        r1 = min(r0 + inputs.tile_rows, H)
        a0, a1 = max(r0 - halo, 0), min(r1 + halo, H)
        L_t = inputs.read_L(a0, a1)
        if inputs.fills:
            ab_t = regions.fill_regions(ab_at_rows(L_t, slice(a0, a1)), L_t, inputs.labels[a0:a1], inputs.fills, chunk_rows=a1 - a0)
        for b0 in range(r0, r1, block):  # the tile read at once, computed in cache-sized blocks
            b1 = min(b0 + block, r1)
            L_b = L_t[b0 - a0 : b1 - a0]
            ab_b = ab_t[b0 - a0 : b1 - a0] if inputs.fills else ab_at_rows(L_b, slice(b0, b1))
            if inputs.keep_gray is not None:
                ab_b[np.asarray(inputs.keep_gray[b0:b1], bool)] = 0
            target[b0:b1] = compose(L_b, ab_b, chunk_rows=b1 - b0)
            check_cancel(cancel)
        if progress is not None:
            progress(r1 / H)


def full_resolution_ab(
    ab: np.ndarray, L_work: np.ndarray, read_L, shape: tuple[int, int], hints: list[Hint],
    labels_work: np.ndarray | None, labels: np.ndarray | None = None,
):
    """Guided upsampling to full resolution that still honours the hints there, row by row.

    With labels (at both resolutions) the upsampling is region-aware
    (:mod:`napari_semcolor.regions`): no colour crosses a region border.

    Upsampling can soften a small hint patch. Where a full-resolution patch misses its hint by
    more than :data:`~napari_semcolor.pipeline.refine.HINT_TOLERANCE`, the residual is spread a
    short, edge-aware distance at working resolution and added to the guided filter's offset B,
    so the fix is as smooth as the rest.

    Parameters
    ----------
    ab, L_work : a*b* (h, w, 2) and L* (h, w) at working resolution
    read_L : callable(r0, r1) -> (r1 - r0, W) float32
        Full-resolution L* of rows r0:r1 (only the hint patches' rows are read here).
    shape : (H, W)
        Full-resolution shape.
    hints, labels_work, labels : see :func:`~napari_semcolor.pipeline.colorize`

    Returns
    -------
    callable(L_rows, rows) -> (len(rows), W, 2) float32
        Full-resolution a*b* of the rows ``rows`` (a slice) given their L*.
    """
    if tuple(shape) == L_work.shape:
        return lambda L_rows, rows: np.array(ab[rows], np.float32)
    regional = labels is not None and labels_work is not None
    A, B = regions.region_coefficients(L_work / 100, ab, labels_work) if regional else guided_coefficients(L_work / 100, ab)
    offset = _hint_offset(A, B, L_work, read_L, shape, hints, labels_work) if hints else None
    if offset is not None:
        B = B + offset
    if regional:
        at_rows = regions.region_interpolator(A, B, labels_work, shape)
        return lambda L_rows, rows: at_rows(L_rows, rows, labels[rows])
    return lambda L_rows, rows: coefficients_at_rows(A, B, L_rows, rows, shape)


def _hint_offset(
    A: np.ndarray, B: np.ndarray, L_work: np.ndarray, read_L, shape: tuple[int, int],
    hints: list[Hint], labels_work: np.ndarray | None,
) -> np.ndarray | None:
    """What to add to B so that every hint patch meets its hint at full resolution (None if all do)."""
    work = L_work.shape
    scale = (work[0] / shape[0], work[1] / shape[1])
    residual = np.zeros(work + (2,), np.float32)
    mask = np.zeros(work, np.float32)
    worst = 0.0
    for h in hints:
        ys, xs = hints_mod.patch_slices(h, shape)
        got = coefficients_at_rows(A, B, read_L(ys.start, ys.stop), ys, shape)[:, xs].reshape(-1, 2).mean(axis=0)
        r = h.ab - got
        worst = max(worst, float(np.hypot(*r)))
        wy, wx = hints_mod.patch_slices(h, shape, scale, work)
        residual[wy, wx] = r
        mask[wy, wx] = 1
    if worst < HINT_TOLERANCE:
        return None
    return propagate(L_work, residual, mask, labels_work, reach=20)


def open_outputs(out, n: int, shape: tuple[int, int]):
    """Where the proposals go: (what ``ColorizeResult.rgb`` holds, one row-writable (H, W, 3) target per proposal).

    See ``out`` in :func:`~napari_semcolor.pipeline.colorize` for what is accepted.
    """
    want = (*shape, 3)
    if out is None:
        rgb = np.empty((n, *want), np.uint8)
        return rgb, list(rgb)
    if isinstance(out, (str, Path)):
        from napari_semcolor.files.images import create_tiff, numbered

        targets = [create_tiff(numbered(out, i, n), want) for i in range(n)]
        return targets, targets
    if isinstance(out, (list, tuple)):
        targets = list(out)
    elif tuple(np.shape(out)) == (n, *want):
        targets = [out[i] if isinstance(out, np.ndarray) else _Proposal(out, i) for i in range(n)]
    else:
        targets = [out]
    if len(targets) != n or any(tuple(np.shape(t)) != want for t in targets):
        raise SemcolorError(f"out must have shape {(n, *want)} (or {want} for one proposal, or be a list of {n} such arrays); got {np.shape(out)}")
    if any(np.dtype(t.dtype if hasattr(t, "dtype") else np.asarray(t).dtype) != np.uint8 for t in targets):
        raise SemcolorError("out must be a uint8 array (8-bit RGB)")
    return (out if not isinstance(out, (list, tuple)) and len(np.shape(out)) == 4 else targets), targets


def flush(targets) -> None:
    """Flush the targets that buffer (memory-mapped files)."""
    for target in targets:
        if hasattr(target, "flush"):
            target.flush()


class _Proposal:
    """Rows of proposal ``i`` of a 4D output that has no views (e.g. zarr): ``p[rows] = block``."""

    def __init__(self, out, i: int):
        self.out, self.i = out, i

    def __setitem__(self, rows: slice, block: np.ndarray) -> None:
        self.out[self.i, rows] = block

