"""NST-CNN quality on the fixed validation split: oracle and transfer tests.

    python -m benchmarks.nst_quality --data ../shared/data/semcolorful/train [--limit N] [--threads 1]

Oracle (issue 5): reference = the ground-truth colour image itself, input = its gray (L* rounded to
8 bits) → PSNR (RGB), SSIM, colourfulness (Hasler & Süsstrunk, ratio of means to the ground truth's)
and seconds per image (fit + apply + pipeline, cache cleared first), next to plain gray.
Transfer: reference = the next validation image → sliced Wasserstein distance (SW1, a*b* units)
of the output's a*b* to the reference's, to the gray image's (a* = b* = 0), and the fraction of
images whose output is closer to the reference than to gray.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from napari_semcolor.backends import nstcnn
from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.pipeline import colorize
from training.data import list_images, load_rgb, split_files
from training.metrics import colourfulness, psnr, ssim


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, n_dirs: int = 32, n_q: int = 64) -> float:
    """Sliced Wasserstein-1 distance between two a*b* point clouds (n, 2)."""
    angles = np.linspace(0, np.pi, n_dirs, endpoint=False)
    q = np.linspace(0, 1, n_q)
    return float(np.mean([np.mean(np.abs(np.quantile(x @ d, q) - np.quantile(y @ d, q))) for d in np.stack([np.cos(angles), np.sin(angles)], 1)]))


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """The 8-bit gray input of a colour image: its L* scaled to 0–255."""
    return np.round(image_to_lab(rgb)[..., 0] * 2.55).astype(np.uint8)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=0, help="first N validation images only (0 = all)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    _, val = split_files(list_images(args.data))
    if args.limit:
        val = val[: args.limit]
    images = [load_rgb(f) for f in val]
    opts = {"threads": args.threads}
    rows = {"nst": [], "gray": []}
    cf_true, cf_nst, times, transfer = [], [], [], []
    for i, gt in enumerate(images):
        gt = gt[..., :3]
        gray = gray_of(gt)
        nstcnn.clear_cache()
        t0 = time.perf_counter()
        out = colorize(gray, "nst", references={0: gt}, options=opts).image
        times.append(time.perf_counter() - t0)
        gray_rgb = compose(to_lightness(gray), np.zeros(gray.shape + (2,), np.float32)).astype(np.float32) / 255
        a = out.astype(np.float32) / 255
        b = gt.astype(np.float32) / (255 if gt.dtype == np.uint8 else 1)
        rows["nst"].append((psnr(a, b), ssim(a, b)))
        rows["gray"].append((psnr(gray_rgb, b), ssim(gray_rgb, b)))
        cf_true.append(colourfulness(b))
        cf_nst.append(colourfulness(a))
        ref = images[(i + 1) % len(images)][..., :3]
        t_out = colorize(gray, "nst", references={0: ref}, options=opts).image
        o, r = image_to_lab(t_out)[..., 1:].reshape(-1, 2), image_to_lab(ref)[..., 1:].reshape(-1, 2)
        transfer.append((sliced_wasserstein(o, r), sliced_wasserstein(o, np.zeros_like(o)), sliced_wasserstein(np.zeros_like(r), r)))
    n = len(images)
    print(f"oracle, {n} validation images (reference = ground truth)")
    print("| method | PSNR (dB) | SSIM | colourfulness / GT | s per image |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        arr = np.array(r)
        cf = np.mean(cf_nst) / np.mean(cf_true) if name == "nst" else 0.0
        sec = f"{np.mean(times):.2f} (max {np.max(times):.2f})" if name == "nst" else "–"
        print(f"| {name} | {arr[:, 0].mean():.2f} | {arr[:, 1].mean():.4f} | {cf:.2f} | {sec} |")  # gray: 0 by construction
    t = np.array(transfer)
    print(f"\ntransfer, {n} images (reference = the next validation image)")
    print("| SW1(out, ref) | SW1(out, gray) | SW1(gray, ref) | closer to ref than to gray |")
    print("|---|---|---|---|")
    print(f"| {t[:, 0].mean():.2f} | {t[:, 1].mean():.2f} | {t[:, 2].mean():.2f} | {np.mean(t[:, 0] < t[:, 1]):.0%} |")


if __name__ == "__main__":
    main()
