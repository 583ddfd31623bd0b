"""A stack coloured as one volume: the stages of :func:`~.run.colorize`, through the planes.

1. every plane's L*, labels and hints at one working resolution, chosen for the whole volume
   (:func:`volume_working_size`: a bounded number of voxels, planes downsampled, z kept);
2. a*b* for the whole volume at that resolution, consistent through the planes (backends colour
   a plane at their own working resolution, as in 2D, and their a*b* go down to the volume's: a
   100 × 512² volume is worked at 122² a plane, eecnn's features and nst's fit are made for 384²):

   * ``propagate``: the hints spread through the stack in 3D (:mod:`napari_semcolor.propagation3d`);
   * backends with several proposals (``diffusion``, ``eecnn``): the hinted planes (or the middle
     one) are coloured with one shared seed and the others follow from them through the stack, so
     one proposal is one colouring of the whole stack;
   * the others (``nst``, …): each plane is coloured, the colourings are smoothed
     through the planes where the gray value holds (a static object keeps its colour), and the
     hints are imposed in 3D;
3. plane by plane: refinement, guided upsampling with the plane's own L* and composition into
   the plane's output (:func:`~.write.write_proposal`); the input is read one plane at a time.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from napari_semcolor.backends import get_backend
from napari_semcolor.backends.base import Job
from napari_semcolor.color import lightness_mapping
from napari_semcolor.errors import check_cancel
from napari_semcolor.pipeline import memory
from napari_semcolor.pipeline.deep import SolvedVolume, solved_planes
from napari_semcolor.pipeline.inputs import Inputs, prepare_inputs
from napari_semcolor.pipeline.material import material_colour
from napari_semcolor.pipeline.params import MIN_WORKING_SIZE, RunParams, run_params
from napari_semcolor.pipeline.propose import propose
from napari_semcolor.pipeline.refine import correct_to_hints, refine
from napari_semcolor.pipeline.runinfo import run_metadata
from napari_semcolor.pipeline.stack import plane_of
from napari_semcolor.pipeline.timeflow import Flow
from napari_semcolor.pipeline.write import write_proposal
from napari_semcolor.propagation3d import plane_shifts, propagate_stack, propagate_volume, smooth_through_planes
from napari_semcolor.upsample import downsample, working_shape

#: the volume's working resolution holds at most about this many voxels
VOXEL_BUDGET = 1_500_000
#: per-plane backends: pull of each voxel to its own plane's colour (smaller = smoother through z)
PLANE_WEIGHT = 0.02
#: stochastic backends: at most this many key planes are coloured by the backend
MAX_KEY_PLANES = 8
#: progress: preparing the planes up to this fraction, the volume's a*b* up to the next
PHASES = (0.15, 0.5)


def volume_working_size(n_planes: int, shape: tuple[int, int], long_side: int) -> int:
    """Long side of the planes' working resolution: ``long_side`` unless the volume would hold
    more than :data:`VOXEL_BUDGET` voxels (never below the smallest working size)."""
    work = working_shape(shape, long_side)
    voxels = n_planes * work[0] * work[1]
    if voxels <= VOXEL_BUDGET:
        return max(work)
    return max(MIN_WORKING_SIZE, int(max(work) * np.sqrt(VOXEL_BUDGET / voxels)))


def colorize_volume(
    stack, backend: str, by_plane: dict, labels, targets: dict, report, cancel, *, spacing: tuple[float, ...],
    align: bool | str = False, references: dict | None = None, keep_gray=None, **kwargs,
) -> dict:
    """Colour ``stack`` (..., n, H, W) as volumes through its last leading axis into ``targets``.

    The arguments are :func:`~.stack.colorize_stack`'s, checked; ``by_plane`` maps every plane
    index to its hints. With several leading axes, colour flows between the volumes along the
    axis just outside them (:mod:`.timeflow`); a volume deeper than the voxel budget allows is
    solved on a subset of its planes (:mod:`.deep`). Returns the run metadata of the first plane
    of the first volume.
    """
    t0 = time.perf_counter()
    params, spec = run_params(backend, **kwargs)
    shape = tuple(stack.shape)
    n = shape[-3]
    params = _iteration_bound(params, spec, kwargs.get("options"))
    own = params.working_size or spec.working_size
    params = replace(params, working_size=volume_working_size(n, shape[-2:], own))
    plane_voxels = int(np.prod(working_shape(shape[-2:], params.working_size)))
    # one intensity → L* map for the whole stack: a plane's own stretch would make the same
    # material differ in L* from plane to plane (float data, percentiles) and cut the z-edges
    to_L = lightness_mapping(_TallImage(stack), nan=params.nan, percentiles=params.percentiles, chunk_rows=memory.tile_rows(shape[-1]))
    hinted: dict = {}
    for index, found in by_plane.items():  # hint pixels per volume: the flow starts at the most hinted
        hinted[index[:-1]] = hinted.get(index[:-1], 0) + sum(h.size**2 for h in found)
    flow = Flow(shape[:-3], hinted, spacing=spacing[-4] if len(shape) > 3 else 1.0, align=align)
    metadata, first = None, None
    for o, (head, sources) in enumerate(flow):
        planes = [(*head, k) for k in range(n)]
        volume = _Volume(stack, planes, labels, keep_gray, by_plane, params, spec, to_L)
        volume.own = replace(params, working_size=own)
        volume.solved = solved_planes(n, plane_voxels, [k for k, index in enumerate(planes) if by_plane[index]], VOXEL_BUDGET)
        part = lambda f, m, o=o: report((o + f) / len(flow), m)  # noqa: E731
        follow = (lambda L, positions, pixel, sources=sources: flow.prior(sources, L, positions, pixel)) if sources else None
        solved, job = _volume_ab(volume, references, spacing[-3:], align, part, cancel, follow)
        md = _write_planes(volume, solved, job, targets, part, cancel)
        flow.done(head, sources, solved)
        if first is None or head < first:
            metadata, first = md, head
    report(1.0, "done")
    return {**metadata, "seconds": round(time.perf_counter() - t0, 3)}


def _iteration_bound(params: RunParams, spec, options: dict | None) -> RunParams:
    """``params`` with a backend's fit bounded by its iterations alone, unless the caller set its time.

    A fit stopped on time (nst's ``seconds``) depends on the machine's load: between runs of the
    benchmark volume the same nst colouring had 33–62% of its regions right. One fit colours
    every plane of a volume, so it is worth waiting for, and a volume must come out the same
    every time.
    """
    timed = [o for o in spec.options if o.name == "seconds" and o.max is not None]
    if not timed or "seconds" in (options or {}):
        return params
    return replace(params, options={**params.options, "seconds": float(timed[0].max)})


class _Volume:
    """One volume's planes: the working-resolution data of the planes it is solved on (``solved``,
    all by default), and every plane's full inputs on demand."""

    def __init__(self, stack, planes: list, labels, keep_gray, by_plane: dict, params: RunParams, spec, to_L):
        self.stack, self.planes, self.labels, self.keep_gray = stack, planes, labels, keep_gray
        self.by_plane, self.params, self.spec, self.to_L = by_plane, params, spec, to_L
        self.small: list[Inputs] = []  # one per solved plane
        self.own = params  # the backend's own working resolution for one plane (colorize_volume sets it)
        self.solved = list(range(len(planes)))

    def inputs(self, k: int, params: RunParams | None = None) -> Inputs:
        """Plane ``k``'s checked inputs (reads the plane), at the volume's working resolution or ``params``'."""
        index = self.planes[k]
        return prepare_inputs(
            self.stack[index], self.by_plane[index], plane_of(self.labels, index), plane_of(self.keep_gray, index),
            params or self.params, self.spec, in_memory_output=False, to_L=self.to_L,
        )

    def own_inputs(self, i: int) -> Inputs:
        """The ``i``-th solved plane's inputs at the backend's own working resolution (the plane as
        the backend sees it in 2D); the volume's own when they are the same."""
        if self.own.working_size == self.params.working_size:
            return self.small[i]
        return replace(self.inputs(self.solved[i], self.own), image=None, labels=None, read_L=None, keep_gray=None)

    def prepare(self, report, cancel) -> None:
        """The solved planes' working-resolution data, read one plane at a time (full-size parts dropped)."""
        for i, k in enumerate(self.solved):
            check_cancel(cancel)
            self.small.append(replace(self.inputs(k), image=None, labels=None, read_L=None, keep_gray=None))
            report(PHASES[0] * (i + 1) / len(self.solved), f"reading plane {k + 1}/{len(self.planes)}")

    def stacked(self, name: str) -> np.ndarray | None:
        values = [getattr(s, name) for s in self.small]
        return None if values[0] is None else np.stack(values)


class _TallImage:
    """A stack seen as one tall 2D image, its planes one under the other (``image[r0:r1]`` reads
    only the planes those rows are on): what :func:`~napari_semcolor.color.lightness_mapping` reads."""

    def __init__(self, stack):
        self.stack, self.dtype = stack, stack.dtype
        self.planes = list(np.ndindex(*stack.shape[:-2]))
        self.rows = int(stack.shape[-2])
        self.shape = (len(self.planes) * self.rows, int(stack.shape[-1]))

    def __getitem__(self, rows: slice) -> np.ndarray:
        r0, r1 = rows.start or 0, min(self.shape[0], self.shape[0] if rows.stop is None else rows.stop)
        H = self.rows
        parts = [
            np.asarray(self.stack[(*self.planes[p], slice(max(r0, p * H) - p * H, min(r1, (p + 1) * H) - p * H))])
            for p in range(r0 // H, (r1 - 1) // H + 1)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.shape[1]), self.dtype)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:  # percentiles of float data need it whole
        return self[0 : self.shape[0]] if dtype is None else self[0 : self.shape[0]].astype(dtype)


def _volume_ab(volume: _Volume, references, spacing, align, report, cancel, follow=None) -> tuple[SolvedVolume, Job]:
    """The volume's a*b* at working resolution on its solved planes, and the first plane's Job.

    ``follow(L, positions, pixel)``, when given, is the soft prior of the volume's coloured
    neighbours (:meth:`.timeflow.Flow.prior`).
    """
    volume.prepare(report, cancel)
    params, spec = volume.params, volume.spec
    L, lab = volume.stacked("L_work"), volume.stacked("labels_work")
    hint_ab, hint_mask = volume.stacked("hint_ab"), volume.stacked("hint_mask")
    H, W = volume.small[0].shape
    h, w = L.shape[1:]
    positions = volume.solved
    gaps = spacing[0] if len(positions) == len(volume.planes) else spacing[0] * np.diff(positions).astype(np.float64)
    solve = {
        "spacing": (gaps, spacing[1] * H / h, spacing[2] * W / w),
        "shifts": plane_shifts(L, subpixel=align != "integer") if align else None,
        "cancel": cancel,
    }
    flow = follow(L, positions, float(np.mean(solve["spacing"][1:]))) if follow else None
    start, end = PHASES
    report(start, "colouring through the stack")
    data = (L, hint_ab, hint_mask, lab)
    if flow is not None and (params.backend == "propagate" or spec.proposals):
        # a volume the flow reaches takes its neighbour's colours; its own hints correct them
        report(start + (end - start) * 0.5, "following the neighbouring volume")
        ab, job = _impose_hints(_pulled_to(flow, L, lab, solve), data, solve), _job(data, references, params)
    elif params.backend == "propagate":
        step = lambda f: report(start + (end - start) * f, "propagating through the stack")  # noqa: E731
        ab = propagate_stack(L, hint_ab, hint_mask, lab, progress=step, **solve)
        job = _job(data, references, params)
    elif spec.proposals:
        ab, job = _from_key_planes(volume, data, references, solve, report, cancel)
    else:
        ab, job = _from_every_plane(volume, data, references, solve, flow, report, cancel)
    return SolvedVolume(positions, ab, L, solve["shifts"]), job


def _job(data: tuple, references, params: RunParams) -> Job:
    """The Job of the volume's first plane as a backend would have seen it (for the run's metadata)."""
    L, hint_ab, hint_mask, lab = data
    return Job(L=L[0], hint_ab=hint_ab[0], hint_mask=hint_mask[0], labels=None if lab is None else lab[0],
               references=dict(references or {}), options=params.options, seed=params.seed)


def _backend_planes(volume: _Volume, keys, shape: tuple[int, int], references, report, cancel) -> tuple[dict, Job | None]:
    """{solved plane i: a*b* (h, w, 2) at the volume's working resolution} of the backend's
    colouring of the planes ``keys``, each at the backend's own resolution; and the first Job."""
    start, end = PHASES
    model = get_backend(volume.params.backend)
    planes, job = {}, None
    for i, k in enumerate(keys):
        step = lambda f, m, i=i: report(start + (end - start) * 0.8 * (i + f) / len(keys), f"plane {keys[i] + 1}: {m}")  # noqa: E731
        own = volume.own_inputs(k)
        got, first = propose(model, own, volume.own, volume.spec, references, step, cancel)
        got = got if own.work == shape else downsample(got[0], shape)[None]
        planes[k], job = got[0], job or first
    return planes, job


def _from_key_planes(volume: _Volume, data: tuple, references, solve: dict, report, cancel) -> tuple[np.ndarray, Job]:
    """Backends with several proposals: the key planes' colourings are the volume's, the rest
    follows through the stack."""
    L, hint_ab, hint_mask, lab = data
    mask = hint_mask > 0
    planes, job = _backend_planes(volume, _key_planes(hint_mask), L.shape[1:], references, report, cancel)
    prior = np.zeros(L.shape + (2,), np.float32)
    weight = np.zeros(L.shape, np.float32)
    for k, ab_k in planes.items():  # a key plane meets its hints as in 2D, each region shifted as a whole
        prior[k] = correct_to_hints(ab_k, L[k], hint_ab[k], mask[k], None if lab is None else lab[k], read="material", cancel=cancel)
        weight[k] = 1.0
    ab = propagate_volume(L, hint_ab, hint_mask, lab, prior=prior, prior_weight=weight, **solve)
    return ab, job or _job(data, references, volume.params)


def _from_every_plane(volume: _Volume, data: tuple, references, solve: dict, flow, report, cancel) -> tuple[np.ndarray, Job]:
    """Per-plane backends: every plane coloured, smoothed through the planes, moved towards the
    coloured neighbour volumes, then the hints imposed in 3D."""
    L, hint_ab, hint_mask, lab = data
    planes, job = _backend_planes(volume, range(len(L)), L.shape[1:], references, report, cancel)
    own = np.stack([planes[k] for k in range(len(L))])
    ab = smooth_through_planes(L, own, lab, weight=PLANE_WEIGHT, spacing=solve["spacing"], shifts=solve["shifts"])
    if flow is not None:
        # the neighbours' colours as a correction spread in 3D (in-plane edges too): a voxel whose
        # gray value changed since the neighbour (weight ~0) takes its surroundings' correction
        # instead of falling back to its own plane's colour, which ignores the hints
        ab = ab + _pulled_to(((flow[0] - ab).astype(np.float32), flow[1]), L, lab, solve)
    start, end = PHASES
    report(start + (end - start) * 0.9, "hints through the stack")
    return _impose_hints(ab, data, solve), job


def _pulled_to(soft: tuple[np.ndarray, np.ndarray], L: np.ndarray, lab, solve: dict) -> np.ndarray:
    """The volume's values with no hard constraint, only the soft pull ``soft`` = (values, weight)
    (:func:`~napari_semcolor.propagation3d.propagate_volume`): voxels with little weight take
    their surroundings' values, edge-aware."""
    values, weight = soft
    return propagate_volume(L, np.zeros(values.shape, np.float32), np.zeros(L.shape, bool), lab, prior=values, prior_weight=weight, **solve)


def _impose_hints(ab: np.ndarray, data: tuple, solve: dict) -> np.ndarray:
    """``ab`` corrected to meet the hints in 3D: the residual at hint voxels (against the colour
    of their material, :func:`~.material.material_colour`) spread edge-aware through the stack."""
    L, hint_ab, hint_mask, lab = data
    mask = hint_mask > 0
    if not mask.any():
        return ab
    local = np.stack([material_colour(ab[k], L[k], mask[k], None if lab is None else lab[k]) for k in range(len(ab))])
    residual = np.where(mask[..., None], hint_ab - local, 0).astype(np.float32)
    ab = ab + propagate_stack(L, residual, mask, lab, **solve)
    ab[mask] = hint_ab[mask]
    return ab


def _key_planes(hint_mask: np.ndarray) -> list[int]:
    """The planes a stochastic backend colours: the hinted ones (at most :data:`MAX_KEY_PLANES`, evenly
    spread), else the middle plane."""
    hinted = np.flatnonzero(hint_mask.reshape(len(hint_mask), -1).any(axis=1))
    if hinted.size == 0:
        return [len(hint_mask) // 2]
    if hinted.size > MAX_KEY_PLANES:
        hinted = hinted[np.round(np.linspace(0, hinted.size - 1, MAX_KEY_PLANES)).astype(int)]
    return [int(k) for k in hinted]


def _write_planes(volume: _Volume, solved: SolvedVolume, job: Job, targets: dict, report, cancel) -> dict:
    """Refine and write every plane at full resolution; returns the first plane's metadata."""
    start, n = PHASES[1], len(volume.planes)
    metadata = None
    for k, index in enumerate(volume.planes):
        check_cancel(cancel)
        inputs = volume.inputs(k)
        message = f"writing plane {k + 1}/{n}"
        report(start + (1 - start) * k / n, message)
        write_proposal(
            refine(solved.at(k)[0], inputs, volume.params), inputs, targets[index], cancel=cancel,
            progress=lambda f, k=k, message=message: report(start + (1 - start) * (k + f) / n, message),
        )
        if metadata is None:
            metadata = run_metadata(volume.params, inputs, job, volume.spec, 0.0)
    return metadata
