"""Colour along t (issue 16): a (t, z, H, W) series hinted on its first time point only.

One generated volume (:func:`napari_semcolor.synthetic_volume.make_sem_volume`) is moved
``--step`` pixels per time point. Every region of the middle plane of t = 0 gets one hint; in the
"corrected" case one more hint recolours one region on the middle plane of the last time point.
For each backend the table gives, per time point, the share of hinted regions right on its
planes (interior score, :func:`~napari_semcolor.synthetic_volume.regions_right` with
``erode=2``, mean over the planes), the same for the regions the correction does not touch on
the last time point, whether the corrected region took its new colour there, and seconds.
The same-run reference is one volume (t = 0 alone) through the 3D path.

    python benchmarks/time_series.py [--shape 4 20 128 128] [--step 1] [--align] [--backends propagate eecnn nst diffusion]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
from volume_quality import reference_image

from napari_semcolor.pipeline import colorize_stack
from napari_semcolor.synthetic_volume import make_sem_volume, region_hints, regions_right


def series(shape: tuple[int, int, int, int], step: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(t, z, h, w) gray stack and labels: one generated volume moved ``step`` px to the left per time point."""
    T, z, h, w = shape
    v = make_sem_volume((z, h, w + step * T), seed=seed)
    return tuple(np.stack([a[..., step * t : step * t + w] for t in range(T)]) for a in (v.image, v.labels))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=4, default=(4, 20, 128, 128))
    p.add_argument("--step", type=int, default=1)
    p.add_argument("--align", action="store_true")
    p.add_argument("--backends", nargs="+", default=["propagate", "eecnn", "nst", "diffusion"])
    args = p.parse_args()
    T, Z = args.shape[:2]
    image, labels = series(tuple(args.shape), args.step)
    mid = Z // 2
    hints = {i: dataclasses.replace(h, plane=(0, mid)) for i, h in region_hints(labels[0], mid).items()}
    last = {i: h for i, h in region_hints(labels[-1], mid, seed=5).items() if i in hints and i > 0}
    fixed = max(last, key=lambda i: np.sum(labels[-1, mid] == i))  # the largest object is recoloured
    correction = dataclasses.replace(last[fixed], plane=(T - 1, mid))
    others = {i: h for i, h in hints.items() if i != fixed}
    print(f"series {tuple(args.shape)}, {args.step} px per time point, align={args.align}, {len(hints)} hints on t=0\n")
    print("| backend | case | regions ok per time point | others ok, last t | corrected region ok | seconds | one volume (s) |")
    print("|---|---|---|---|---|---|---|")
    for backend in args.backends:
        extra = {"references": {0: reference_image()}} if backend == "nst" else {}
        t0 = time.perf_counter()
        colorize_stack(image[0], backend, [dataclasses.replace(h, plane=(mid,)) for h in hints.values()], **extra)
        reference = time.perf_counter() - t0
        for case, given in (("t = 0 only", list(hints.values())), ("corrected on last t", [*hints.values(), correction])):
            t0 = time.perf_counter()
            rgb = colorize_stack(image, backend, given, align=args.align, **extra).image
            seconds = time.perf_counter() - t0
            per_t = " / ".join(f"{np.nanmean(regions_right(rgb[t], labels[t], hints, erode=2)):.2f}" for t in range(T))
            kept = np.nanmean(regions_right(rgb[-1], labels[-1], others, erode=2))
            took = regions_right(rgb[-1, mid : mid + 1], labels[-1, mid : mid + 1], {fixed: correction}, erode=2)[0]
            took_cell = f"{took:.0%}" if case != "t = 0 only" else "–"
            print(f"| {backend} | {case} | {per_t} | {kept:.2f} | {took_cell} | {seconds:.1f} | {reference:.1f} |", flush=True)


if __name__ == "__main__":
    main()
