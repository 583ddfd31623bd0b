"""Do the diffusion proposals differ where the hints leave room, and agree next to the hints?

Protocol: the shared validation split (``training.data.split_files``), each image centre-cropped
and resized to 256² as in :mod:`benchmarks.diffusion_quality`, with the same 10 simulated 2×2 hints
(true colours, ``make_hints``, seed ``1000·n + i``). Each setting runs ``pipeline.colorize`` with
4 proposals (working resolution 128, the backend's own). Distances to the hints are measured in
the 256² image's pixels. Reported per setting, as means over the images:

* mean pairwise ΔE_ab between the proposals (L* is the same in all, so ΔE_ab is the a*b*
  distance of the 8-bit results) within 5 px of a hint and farther than 30 px from every hint;
* PSNR of the best proposal and of the mean proposal PSNR, next to ``propagate``'s.

"before" is the previous behaviour (``explore=0``: one starting point and one noise temperature
for every pixel), "after" the backend's defaults — same images, hints and seeds, same run.

    python -m benchmarks.diffusion_diversity --data ../shared/data/semcolorful/train [--images 59]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

HINTS = 10
NEAR, FAR = 5, 30
SETTINGS = {"before": {"explore": 0.0}, "after": {}}


def pairwise_de(ab: np.ndarray, where: np.ndarray) -> float:
    """Mean a*b* distance (ΔE_ab at equal L*) over all pairs of proposals (n, h, w, 2), at ``where``."""
    if not where.any():
        return float("nan")
    pairs = itertools.combinations(range(len(ab)), 2)
    return float(np.mean([np.linalg.norm(ab[i][where] - ab[j][where], axis=-1).mean() for i, j in pairs]))


def hint_distance(hints, shape: tuple[int, int]) -> np.ndarray:
    """Euclidean distance (px) of every pixel to the nearest hint pixel."""
    from scipy import ndimage

    mask = np.zeros(shape, bool)
    for h in hints:
        mask[h.y : h.y + h.size, h.x : h.x + h.size] = True
    return ndimage.distance_transform_edt(~mask)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--images", type=int, default=0, help="use the first N validation images (0 = all)")
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    import torch

    from benchmarks.diffusion_quality import U8, load_square, make_hints
    from napari_semcolor.color import image_to_lab
    from napari_semcolor.pipeline import colorize
    from training.data import list_images, split_files
    from training.metrics import psnr

    torch.set_num_threads(args.threads)
    _, val = split_files(list_images(args.data))
    if args.images:
        val = val[: args.images]
    rows = {name: {k: [] for k in ("near", "far", "best", "mean")} for name in SETTINGS}
    prop_psnr, far_share = [], []
    t0 = time.perf_counter()
    for i, path in enumerate(val):
        truth, gray = load_square(path)
        hints = make_hints(truth, HINTS, seed=1000 * HINTS + i)
        dist = hint_distance(hints, gray.shape)
        near, far = dist <= NEAR, dist > FAR
        far_share.append(far.mean())
        prop_psnr.append(psnr(colorize(gray, "propagate", hints).image, truth, U8))
        for name, extra in SETTINGS.items():
            options = {"steps": args.steps, **extra}
            rgb = colorize(gray, "diffusion", hints, n_samples=args.samples, seed=i, device="cpu", options=options).rgb
            ab = np.stack([image_to_lab(x)[..., 1:] for x in rgb])
            scores = [psnr(x, truth, U8) for x in rgb]
            r = rows[name]
            r["near"].append(pairwise_de(ab, near))
            r["far"].append(pairwise_de(ab, far))
            r["best"].append(max(scores))
            r["mean"].append(float(np.mean(scores)))
        print(f"# image {i + 1}/{len(val)} done, {time.perf_counter() - t0:.0f}s", flush=True)

    print(
        f"\n{len(val)} validation images at 256², {HINTS} hints of 2×2 px, {args.samples} proposals, "
        f"{args.steps} steps; {100 * np.mean(far_share):.0f}% of the pixels are > {FAR} px from a hint\n"
    )
    print(f"| setting | ΔE near (≤ {NEAR} px) | ΔE far (> {FAR} px) | PSNR best of {args.samples} | PSNR mean proposal | propagate PSNR |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        m = {k: float(np.nanmean(v)) for k, v in r.items()}
        print(f"| {name} | {m['near']:.2f} | {m['far']:.2f} | {m['best']:.2f} | {m['mean']:.2f} | {np.mean(prop_psnr):.2f} |")


if __name__ == "__main__":
    main()
