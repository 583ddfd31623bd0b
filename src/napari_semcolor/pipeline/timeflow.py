"""Colour flowing between volumes along the axis outside them (t of a (t, z, H, W) stack).

A stack with several leading axes is coloured one volume (the last leading axis) at a time. The
volumes of one series along the axis just outside them (t) are coloured in order of their
distance along t to the nearest hinted volume (:class:`Flow`), and each one is pulled towards
its already-coloured neighbours on the side of that hinted volume: at every voxel, a soft prior
equal to the neighbour's a*b* at the same voxel (after aligning the two volumes when asked),
weighted edge-aware by how alike the two voxels' L* are (:func:`time_prior`). That is the link a
z-edge makes between planes, with the neighbour held fixed: colour follows a static or slowly
moving object through time and stops where the gray value changes. Axes further out (a
(c, t, z, H, W) stack) hold independent series.

The flow starts at the volume with the most hints of its series (the first one if none has
any; the earliest of equals) and runs out from it both ways, each volume following its neighbour
one step closer to that start. Hints on any other volume correct the colours it received there
(:func:`~napari_semcolor.pipeline.volume.colorize_volume`), like hints on a backend's colouring
in 2D: a recoloured region changes, the others keep the colours that flowed in, and the change
goes on flowing away from the start (not back towards it).

Only the working-resolution a*b* and L* of the volumes that a volume still to come will use as
a neighbour are kept (the front of the flow: at most one volume on each side of its start), never
the whole series.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from napari_semcolor.pipeline.deep import SolvedVolume, moved
from napari_semcolor.propagation3d import MAX_Z_WEIGHT, linked_weight, plane_shifts

#: at most this many planes are phase-correlated to find the drift between two volumes
ALIGN_PLANES = 16


def flow_order(lead_shape: tuple[int, ...], hinted: dict) -> list[tuple[tuple[int, ...], list[tuple[int, ...]]]]:
    """(volume index, its neighbours to follow) for every volume of a stack, in colouring order.

    ``lead_shape`` is the stack's shape without the planes' axes and without the volume axis
    (``()`` for a single volume); ``hinted`` maps the indices of the volumes with hints to how
    many hint pixels each has. Along the last axis of ``lead_shape`` volumes come in order of
    their distance to the most hinted one of their series (the first one when none is hinted)
    and follow their neighbour one step closer to it.
    """
    if not lead_shape:
        return [((), [])]
    order = []
    T = lead_shape[-1]
    for group in np.ndindex(*lead_shape[:-1]):
        start = max(range(T), key=lambda t: (hinted.get((*group, t), 0), -t))
        for t in sorted(range(T), key=lambda t: (abs(t - start), t)):
            near = [] if t == start else [t + 1 if t < start else t - 1]
            order.append(((*group, t), [(*group, u) for u in near]))
    return order


class Flow:
    """The colouring order of a stack's volumes and the neighbours' colourings still needed.

    Iterate it for (volume index, neighbours to follow); hand each finished volume to
    :meth:`done`. ``held`` maps the volume indices kept to their :class:`SolvedVolume`.
    """

    def __init__(self, lead_shape: tuple[int, ...], hinted: dict, *, spacing: float = 1.0, align: bool | str = False):
        self.order = flow_order(lead_shape, hinted)
        self.spacing, self.align = spacing, align
        self.users: dict = {}
        for index, sources in self.order:
            for s in sources:
                self.users.setdefault(s, set()).add(index)
        self.held: dict[tuple[int, ...], SolvedVolume] = {}

    def __iter__(self) -> Iterator[tuple[tuple[int, ...], list[tuple[int, ...]]]]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def done(self, index: tuple[int, ...], sources: list[tuple[int, ...]], solved: SolvedVolume) -> None:
        """Volume ``index`` is coloured: keep it if a volume to come follows it, drop the
        neighbours it followed once no other volume needs them."""
        if self.users.get(index):
            self.held[index] = solved
        for s in sources:
            self.users[s].discard(index)
            if not self.users[s]:
                self.held.pop(s, None)

    def prior(self, sources: list[tuple[int, ...]], L: np.ndarray, positions: list[int], pixel: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The soft prior (a*b* (n, h, w, 2), weight (n, h, w)) on the planes ``positions`` of a
        volume of L* ``L`` from the coloured neighbour in ``sources`` (None without one);
        ``pixel`` is the working pixel size, in the unit of the ``spacing`` between volumes."""
        if not sources:
            return None
        (source,) = sources
        return time_prior(self.held[source], L, positions, min(pixel / self.spacing, MAX_Z_WEIGHT), self.align)


def time_prior(neighbour: SolvedVolume, L: np.ndarray, positions: list[int], link: float, align: bool | str) -> tuple[np.ndarray, np.ndarray]:
    """The pull of a coloured ``neighbour`` volume on the planes ``positions`` of a volume of L* ``L``:
    its a*b* at the same voxels (moved by the drift between the volumes when ``align``), with
    :func:`~napari_semcolor.propagation3d.linked_weight` of the two L*."""
    ab, Lo = (np.stack(x) for x in zip(*(neighbour.at(k) for k in positions)))
    if align:
        d = volume_shift(Lo, L, subpixel=align != "integer")
        ab = np.stack([moved(p, d) for p in ab])
        Lo = np.stack([moved(p, d) for p in Lo])
    return ab, linked_weight(L, Lo, link=link)


def volume_shift(before: np.ndarray, after: np.ndarray, *, subpixel: bool = True) -> np.ndarray:
    """(dy, dx) drift of a volume's content from ``before`` to ``after`` (n, h, w): the median of the
    planes' phase correlations (at most :data:`ALIGN_PLANES` of them, evenly spread)."""
    picks = np.unique(np.round(np.linspace(0, len(after) - 1, min(len(after), ALIGN_PLANES))).astype(int))
    return np.median([plane_shifts(np.stack([before[k], after[k]]), subpixel=subpixel)[0] for k in picks], axis=0)
