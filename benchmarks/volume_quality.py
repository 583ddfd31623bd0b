"""Colouring through a stack (issue 16): hints on 1 plane in 10, per backend, next to plane by plane.

A generated volume (:func:`napari_semcolor.synthetic_volume.make_sem_volume`: ellipsoid particles
that persist, appear and end, slow drift) gets one hint per region on planes 0, 10, 20, …. For
every backend, coloured through the stack and plane by plane, the table gives

* **regions ok (min / mean)**: per plane, the fraction of hinted regions on it (regions that exist
  on a hinted plane) whose median a*b* is within ΔE_ab 10 of the hint colour at the region's own
  L*; the minimum over planes and the mean;
* **interior ok (min / mean)**: the same with each region's median taken over its interior only
  (pixels 2 px from every border, :func:`~napari_semcolor.synthetic_volume.interior`; a region
  with no interior on a plane is not scored there). Every border of the generated planes carries a
  bright rim on both sides whose colour is a mix of the two regions, and a thin region can be half
  rim: the raw score then judges the rim, not the region;
* **reachable ok (min / mean)**: the raw score over the parts of each region connected through
  the stack to one of its hints (:func:`~napari_semcolor.synthetic_volume.reachable`): a particle
  hidden behind another for some planes and seen again is one label of the generator, but nothing
  in the gray values links its second part to the hint;
* **flicker**: mean |Δa*b*| between consecutive planes inside static objects (voxels inside one
  object on both planes, 2 px from its border);
* **seconds** for the whole stack.

The last row is a ceiling for the scene: ``propagate`` plane by plane with every plane hinted.
With ``--labels`` each backend also colours the stack given the generator's true 3D regions as
``labels`` (what a perfect 3D segmentation from the user would give: no colour crosses a border).

    python benchmarks/volume_quality.py [--shape 30 256 256] [--seeds 2] [--backends propagate eecnn nst diffusion] [--labels]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from napari_semcolor.color import compose, to_lightness
from napari_semcolor.pipeline import colorize_stack
from napari_semcolor.synthetic import make_sem, paint, region_colors
from napari_semcolor.synthetic_volume import flicker, make_sem_volume, reachable, region_hints, regions_right


def reference_image() -> np.ndarray:
    """A colour SEM-like image for reference backends (regions in well-spread colours)."""
    sem = make_sem((256, 256), "particles", seed=7)
    return compose(to_lightness(sem.image), paint(sem.labels, region_colors(sem.labels, seed=3)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=3, default=(30, 256, 256))
    p.add_argument("--backends", nargs="+", default=["propagate", "eecnn", "nst", "diffusion"])
    p.add_argument("--every", type=int, default=10, help="hints on one plane in this many")
    p.add_argument("--drift", type=float, nargs=2, default=(0.3, 0.2))
    p.add_argument("--seeds", type=int, nargs="+", default=[2], help="one generated volume per seed")
    p.add_argument("--labels", action="store_true", help="also colour each stack given its true 3D regions")
    args = p.parse_args()
    print("| seed | backend | through | raw min | raw mean | interior min | interior mean | reachable min | reachable mean | flicker | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        one_volume(args, seed)


def one_volume(args, seed: int) -> None:
    volume = make_sem_volume(tuple(args.shape), seed=seed, drift=tuple(args.drift))
    hints: dict[int, object] = {}
    by_region = {}
    for k in range(0, args.shape[0], args.every):
        plane_hints = region_hints(volume.labels, k)
        for i, h in plane_hints.items():
            by_region.setdefault(i, h)  # a region is scored against its first hint (all share its colour)
        hints[k] = list(plane_hints.values())
    all_hints = [h for plane in hints.values() for h in plane]
    score = {"labels": volume.labels, "by_region": by_region, "within": reachable(volume.labels, all_hints)}
    for backend in args.backends:
        extra = {"references": {0: reference_image()}} if backend == "nst" else {}
        for through in ("stack", "planes"):
            t0 = time.perf_counter()
            rgb = colorize_stack(volume.image, backend, all_hints, through=through, **extra).image
            row(seed, backend, through, rgb, time.perf_counter() - t0, **score)
        if args.labels:
            t0 = time.perf_counter()
            rgb = colorize_stack(volume.image, backend, all_hints, labels=volume.labels, **extra).image
            row(seed, backend, "stack, true 3D labels", rgb, time.perf_counter() - t0, **score)
    if "propagate" in args.backends:  # the ceiling: the same regions hinted on every plane, plane by plane
        every = [h for k in range(args.shape[0]) for h in region_hints(volume.labels, k).values()]
        t0 = time.perf_counter()
        rgb = colorize_stack(volume.image, "propagate", every, through="planes").image
        row(seed, "propagate", "planes, every plane hinted", rgb, time.perf_counter() - t0, **score)


def row(seed: int, backend: str, through: str, rgb: np.ndarray, seconds: float, *, labels: np.ndarray, by_region: dict, within: np.ndarray) -> None:
    scores = [regions_right(rgb, labels, by_region), regions_right(rgb, labels, by_region, erode=2), regions_right(rgb, labels, by_region, within=within)]
    cells = " | ".join(f"{np.nanmin(s):.0%} | {np.nanmean(s):.0%}" for s in scores)
    print(f"| {seed} | {backend} | {through} | {cells} | {flicker(rgb, labels):.2f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
