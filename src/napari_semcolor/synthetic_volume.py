"""Procedural SEM-like volumes (z or t stacks) with known 3D regions, for tests and benchmarks.

Particles are ellipsoids: an object's cross-section grows and shrinks through the planes, so some
objects persist through the whole stack while others appear and end inside it. The whole scene
drifts slowly (``drift`` pixels per plane), as a FIB-SEM stack or an in-situ time series does.
Each plane is rendered like :func:`napari_semcolor.synthetic.make_sem` (gray level per object,
bright rims, shading, noise); label ``i`` is the same object on every plane it cuts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from napari_semcolor.color import compose, image_to_lab
from napari_semcolor.hints import Hint
from napari_semcolor.synthetic import _smooth_noise, region_colors, render


@dataclass
class SyntheticVolume:
    """A generated stack.

    Attributes
    ----------
    image : (z, h, w) uint8
        The gray planes.
    labels : (z, h, w) int32
        True regions: 0 = substrate, 1..n = objects (the same number on every plane).
    drift : (dy, dx)
        Shift of the scene per plane, in pixels.
    """

    image: np.ndarray
    labels: np.ndarray
    drift: tuple[float, float]


def make_sem_volume(
    shape: tuple[int, int, int] = (8, 96, 96), *, seed: int = 0, drift: tuple[float, float] = (0.0, 0.0),
    n_objects: int | None = None, noise: float = 6.0,
) -> SyntheticVolume:
    """Generate an SEM-like stack and its true 3D regions.

    Parameters
    ----------
    shape : (z, h, w)
        Number of planes and plane size in pixels.
    seed : int
        Random seed; the same seed gives the same volume.
    drift : (dy, dx)
        The scene moves this many pixels per plane (sub-pixel values allowed).
    n_objects : int, optional
        Number of objects (default scales with the plane area).
    noise : float
        Standard deviation of the detector noise, in gray levels.

    Returns
    -------
    SyntheticVolume
    """
    nz, h, w = shape
    rng = np.random.default_rng(seed)
    scale = min(h, w)
    n = n_objects or max(4, int(h * w / (scale * scale / 12)))
    # about half the objects span the stack; the others start or end inside it
    r = rng.uniform(0.06, 0.13, n) * scale
    ex = rng.uniform(0.7, 1.3, n)
    cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
    long = rng.random(n) < 0.5
    cz = np.where(long, (nz - 1) / 2, rng.uniform(0, nz - 1, n))
    rz = np.where(long, nz * 4.0 + 1, rng.uniform(0.3, 0.7, n) * nz + 1)
    obj = 150 + rng.uniform(-25, 25, n + 1)
    pad = int(np.ceil(max(abs(drift[0]), abs(drift[1])) * max(nz - 1, 0))) + 2
    base_field = _smooth_noise(rng, (h + 2 * pad, w + 2 * pad), scale / 8) * 18 + 70
    image = np.empty(shape, np.uint8)
    labels = np.zeros(shape, np.int32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for k in range(nz):
        dy, dx = drift[0] * k, drift[1] * k
        height = np.zeros((h, w), np.float32)
        for i in range(n):
            q = 1 - ((k - cz[i]) / rz[i]) ** 2
            if q <= 0.05:
                continue
            ry, rx = r[i] * np.sqrt(q), r[i] * ex[i] * np.sqrt(q)
            y0, y1 = max(int(cy[i] + dy - ry) - 1, 0), min(int(cy[i] + dy + ry) + 2, h)
            x0, x1 = max(int(cx[i] + dx - rx) - 1, 0), min(int(cx[i] + dx + rx) + 2, w)
            if y0 >= y1 or x0 >= x1:
                continue
            box = (slice(y0, y1), slice(x0, x1))
            d2 = ((yy[box] - cy[i] - dy) / ry) ** 2 + ((xx[box] - cx[i] - dx) / rx) ** 2
            inside = (d2 < 1) & (labels[k][box] == 0)
            labels[k][box][inside] = i + 1
            height[box][inside] = np.sqrt(1 - d2[inside])
        base = ndimage.shift(base_field, (dy, dx), order=1, mode="nearest")[pad : pad + h, pad : pad + w]
        plane = render(labels[k], height, base, obj, scale, noise, rng)
        image[k] = np.clip(np.round(plane), 0, 255).astype(np.uint8)
    return SyntheticVolume(image, labels, (float(drift[0]), float(drift[1])))


def interior(labels: np.ndarray, erode: int = 2) -> np.ndarray:
    """Pixels of a labelled plane (h, w) whose (2·erode + 1)² neighbourhood is one region: away from
    every border, so off the bright rims that each border carries on both sides."""
    if not erode:
        return np.ones(labels.shape, bool)
    return ndimage.minimum_filter(labels, 2 * erode + 1) == ndimage.maximum_filter(labels, 2 * erode + 1)


def static_voxels(labels: np.ndarray, erode: int = 2) -> np.ndarray:
    """Voxels (z-1, h, w) inside an object on both plane k and plane k+1: where a static object's
    colour must not flicker. Objects are eroded by ``erode`` pixels so that borders do not count."""
    inner = np.stack([ndimage.binary_erosion(p > 0, iterations=erode) & interior(p, erode) if erode else p > 0 for p in labels])
    return inner[:-1] & inner[1:] & (labels[:-1] == labels[1:])


def region_hints(labels: np.ndarray, plane: int, *, seed: int = 0, size: int = 3) -> dict[int, Hint]:
    """One hint per region of plane ``plane`` of a generated volume, deep inside it, in the region's
    colour (:func:`~napari_semcolor.synthetic.region_colors` of ``seed``, shown at mid lightness)."""
    colors = region_colors(labels, seed=seed)
    hints = {}
    for i in np.unique(labels[plane]):
        inner = ndimage.binary_erosion(labels[plane] == i, iterations=size)
        if inner.any():
            y, x = np.unravel_index(np.argmax(ndimage.distance_transform_edt(inner)), inner.shape)
            swatch = compose(np.full((1, 1), 60, np.float32), colors[int(i)][None, None])[0, 0]
            hints[int(i)] = Hint(int(y) - size // 2, int(x) - size // 2, tuple(float(c) for c in swatch / 255), size, plane=(plane,))
    return hints


def reachable(labels: np.ndarray, hints: list[Hint]) -> np.ndarray:
    """Voxels (z, h, w) of the objects a hint touches, as objects are in 3D: each region's
    connected parts through the stack (6-connected) that hold one of the hint's voxels.

    A particle hidden behind another for some planes and seen again further on is one label of
    the generator but two disconnected parts of the volume: nothing in the gray values says that
    the second part is the hinted particle, so a colouring cannot be asked to know it.
    """
    out = np.zeros(labels.shape, bool)
    for region in np.unique(labels):
        parts, _ = ndimage.label(labels == region)
        touched = {
            int(parts[k, h.y : h.y + h.size, h.x : h.x + h.size][labels[k, h.y : h.y + h.size, h.x : h.x + h.size] == region].max(initial=0))
            for h in hints for k in (h.plane or range(len(labels)))
        }
        out |= np.isin(parts, sorted(touched - {0}))
    return out


def regions_right(
    rgb: np.ndarray, labels: np.ndarray, hints: dict[int, Hint], tolerance: float = 10.0, *, erode: int = 0,
    within: np.ndarray | None = None,
) -> list[float]:
    """Per plane of a coloured stack: the fraction of hinted regions on it whose median a*b* is within
    ΔE_ab ``tolerance`` of their hint's colour at the region's own L* (bright regions cannot hold
    every chroma); NaN on a plane without any hinted region.

    ``erode = 0`` (the raw score) takes every pixel of a region. With ``erode > 0`` only the
    region's :func:`interior` counts (pixels ``erode`` px from every border): each border carries
    a bright rim on both sides whose colour is ambiguous (a mix of the two regions), and a thin
    region can be half rim. A region without interior pixels on a plane is not scored there.
    ``within`` (z, h, w) bool, e.g. :func:`reachable`, limits the scored voxels further.
    """
    out = []
    for k in range(len(rgb)):
        lab = image_to_lab(rgb[k])
        core = interior(labels[k], erode) if within is None else interior(labels[k], erode) & within[k]
        right = []
        for i in [i for i in hints if np.any((labels[k] == i) & core)]:
            inside = lab[(labels[k] == i) & core]
            target = image_to_lab(compose(inside[None, :, 0], np.broadcast_to(hints[i].ab, (1, len(inside), 2))))[0, :, 1:]
            right.append(np.hypot(*(np.median(inside[:, 1:], axis=0) - np.median(target, axis=0))) < tolerance)
        out.append(float(np.mean(right)) if right else float("nan"))
    return out


def flicker(rgb: np.ndarray, labels: np.ndarray) -> float:
    """Mean |Δa*b*| between consecutive planes inside static objects (:func:`static_voxels`)."""
    static = static_voxels(labels)
    total, count = 0.0, 0
    previous = image_to_lab(rgb[0])[..., 1:]
    for k in range(1, len(rgb)):
        current = image_to_lab(rgb[k])[..., 1:]
        d = np.hypot(*np.moveaxis(current - previous, -1, 0))[static[k - 1]]
        total, count = total + float(d.sum()), count + d.size
        previous = current
    return total / max(count, 1)
