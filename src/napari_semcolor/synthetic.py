"""Procedural SEM-like images with known regions: sample data, demo input and test fixtures.

Three specimen kinds imitate what secondary-electron images look like: ``particles`` (rounded
grains, bright rims from the edge effect, shading), ``fibres`` (curved strands) and ``pores``
(dark holes in a bright matrix). Every object is a region in the returned labels (0 = substrate),
so colourings and segmentations can be scored against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

KINDS = ("particles", "fibres", "pores")


@dataclass
class SyntheticSEM:
    """A generated micrograph.

    Attributes
    ----------
    image : (h, w) uint8
        The gray micrograph (including the data bar, if asked for).
    labels : (h, w) int32
        True regions: 0 = substrate/matrix, 1..n = objects; the data bar (if any) is -1.
    """

    image: np.ndarray
    labels: np.ndarray


def make_sem(
    shape: tuple[int, int] = (256, 256), kind: str = "particles", *,
    n_objects: int | None = None, seed: int = 0, noise: float = 6.0, databar: bool = False,
) -> SyntheticSEM:
    """Generate an SEM-like micrograph and its true regions.

    Parameters
    ----------
    shape : (h, w)
        Image size in pixels.
    kind : {"particles", "fibres", "pores"}
        Specimen type.
    n_objects : int, optional
        Number of objects (a sensible default scales with the area).
    seed : int
        Random seed; the same seed gives the same image.
    noise : float
        Standard deviation of the detector noise, in gray levels.
    databar : bool
        Add an instrument data bar (a dark strip with bright text-like marks) at the bottom.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    rng = np.random.default_rng(seed)
    h, w = shape
    bar = max(8, h // 12) if databar else 0
    hs = h - bar
    yy, xx = np.mgrid[0:hs, 0:w].astype(np.float32)
    scale = min(hs, w)
    n = n_objects or max(3, int(hs * w / (scale * scale / 12)))
    labels = np.zeros((hs, w), np.int32)
    height = np.zeros((hs, w), np.float32)  # object "height" drives shading
    if kind == "particles":
        for i in range(1, n + 1):
            r = rng.uniform(0.05, 0.12) * scale
            cy, cx = rng.uniform(r, hs - r), rng.uniform(r, w - r)
            ex = rng.uniform(0.7, 1.3)
            d2 = ((yy - cy) / r) ** 2 + ((xx - cx) / (r * ex)) ** 2
            inside = (d2 < 1) & (labels == 0)
            labels[inside] = i
            height[inside] = np.sqrt(1 - d2[inside])
        base = _smooth_noise(rng, (hs, w), scale / 8) * 18 + 70
        obj = 150 + rng.uniform(-25, 25, n + 1)
    elif kind == "fibres":
        for i in range(1, n + 1):
            width = rng.uniform(0.02, 0.045) * scale
            p0 = rng.uniform([0, 0], [hs, w])
            angle = rng.uniform(0, np.pi)
            bend = rng.uniform(-0.6, 0.6) / scale
            t = (yy - p0[0]) * np.cos(angle) + (xx - p0[1]) * np.sin(angle)
            dist = np.abs(-(yy - p0[0]) * np.sin(angle) + (xx - p0[1]) * np.cos(angle) - bend * t * t)
            inside = (dist < width) & (labels == 0)
            labels[inside] = i
            height[inside] = np.sqrt(np.clip(1 - (dist[inside] / width) ** 2, 0, 1))
        base = _smooth_noise(rng, (hs, w), scale / 6) * 14 + 55
        obj = 165 + rng.uniform(-25, 20, n + 1)
    else:  # pores
        for i in range(1, n + 1):
            r = rng.uniform(0.04, 0.1) * scale
            cy, cx = rng.uniform(r, hs - r), rng.uniform(r, w - r)
            d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / r**2
            inside = (d2 < 1) & (labels == 0)
            labels[inside] = i
            height[inside] = -np.sqrt(1 - d2[inside])
        base = _smooth_noise(rng, (hs, w), scale / 10) * 20 + 160
        obj = 45 + rng.uniform(-15, 15, n + 1)
    img = render(labels, height, base, obj, scale, noise, rng)
    if bar:
        strip = np.full((bar, w), 25.0, np.float32)
        for x0 in range(4, w - 6, max(6, w // 24)):  # text-like marks
            if rng.random() < 0.7:
                strip[bar // 4 : 3 * bar // 4, x0 : x0 + max(2, w // 60)] = 230
        img = np.concatenate([img, strip])
        labels = np.concatenate([labels, np.full((bar, w), -1, np.int32)])
    return SyntheticSEM(np.clip(np.round(img), 0, 255).astype(np.uint8), labels)


def render(
    labels: np.ndarray, height: np.ndarray, base: np.ndarray, obj: np.ndarray, scale: float, noise: float, rng: np.random.Generator,
) -> np.ndarray:
    """The SEM look of one plane: object gray levels and height, bright rims, shading, noise (float)."""
    img = base.copy()
    fg = labels > 0
    img[fg] = obj[labels[fg]] + 45 * np.abs(height[fg]) * np.sign(obj[labels[fg]] - base[fg]) * 0.5
    # secondary-electron edge effect: bright rims at object borders, a touch of directional shading
    edges = ndimage.morphological_gradient(labels, size=3) > 0
    rim = ndimage.gaussian_filter(edges.astype(np.float32), 1.2)
    img += 140 * rim
    gy, gx = np.gradient(ndimage.gaussian_filter(height, 2))
    img += 60 * (gx + gy) * (scale / 256)
    img = ndimage.gaussian_filter(img, 0.7) + rng.normal(0, noise, img.shape)
    return img


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), sigma)
    return field / (field.std() + 1e-6)


def region_colors(labels: np.ndarray, *, seed: int = 0, chroma: tuple[float, float] = (25, 45)) -> dict[int, np.ndarray]:
    """A random a*b* colour per region of ``labels`` (moderate chroma, well-spread hues)."""
    rng = np.random.default_rng(seed)
    ids = [int(v) for v in np.unique(labels) if v >= 0]
    hues = rng.permutation(len(ids)) * (2 * np.pi / max(1, len(ids))) + rng.uniform(0, 2 * np.pi)
    return {i: np.array([np.cos(hh), np.sin(hh)], np.float32) * rng.uniform(*chroma) for i, hh in zip(ids, hues)}


def paint(labels: np.ndarray, colors: dict[int, np.ndarray]) -> np.ndarray:
    """a*b* field (h, w, 2) with each region filled with its colour (0 where not listed)."""
    ab = np.zeros(labels.shape + (2,), np.float32)
    for i, c in colors.items():
        ab[labels == i] = c
    return ab
