"""NST-CNN quality on the fixed validation split: oracle and transfer tests.

    python -m benchmarks.nst_quality --data ../shared/data/semcolorful/train [--limit N] [--threads 1]
        [--option match_chroma=0] [--weak]

Oracle (issue 5): reference = the ground-truth colour image itself, input = its gray (L* rounded to
8 bits) → PSNR (RGB), SSIM, colourfulness (Hasler & Süsstrunk, ratio of means to the ground truth's)
and seconds per image (fit + apply + pipeline, cache cleared first), next to plain gray.
Transfer: reference = the next validation image → sliced Wasserstein distance (SW1, a*b* units)
of the output's a*b* to the reference's, to the gray image's (a* = b* = 0), and the fraction of
images whose output is closer to the reference than to gray; PSNR and colourfulness against the
content's own colouring, and the output's mean chroma C* over the reference's.
Weak references (``--weak``, issue 13): the first two validation images' a*b* scaled to mean chroma
5, 10, 20 and 40 as references for the next image, and the bundled sample's ``propagate`` result
(mean chroma 8.9) for the sample → the output's mean chroma over the reference's.
``--option KEY=VALUE`` passes backend options (``match_chroma=0``: the output before issue 13).
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


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean C* of an RGB image."""
    lab = image_to_lab(rgb)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def with_chroma(rgb: np.ndarray, target: float) -> np.ndarray:
    """``rgb`` with its a*b* scaled to mean chroma ``target`` (L* kept; sRGB clips the strongest)."""
    lab = image_to_lab(rgb)
    return compose(lab[..., 0], lab[..., 1:] * (target / max(mean_chroma(rgb), 1e-6)))


def weak_references(val: list, opts: dict) -> None:
    """Print the output's mean chroma against weak (and strong) references' (see module doc)."""
    from napari_semcolor.sample import demo_hints, sem_sample

    sample, _ = sem_sample()
    cases = [("sample, its propagate result", sample, colorize(sample, "propagate", hints=demo_hints()).image)]
    for i in (0, 1):
        src, content = load_rgb(val[i])[..., :3], gray_of(load_rgb(val[i + 1])[..., :3])
        cases += [(f"{val[i].name} x C* {c} → {val[i + 1].name}", content, with_chroma(src, c)) for c in (5, 10, 20, 40)]
    print("\nweak references: mean chroma of the output / of the reference")
    print("| reference → content | reference C* | output C* | ratio |")
    print("|---|---|---|---|")
    for name, content, ref in cases:
        nstcnn.clear_cache()
        out = colorize(content, "nst", references={0: ref}, options=opts).image
        print(f"| {name} | {mean_chroma(ref):.1f} | {mean_chroma(out):.1f} | {mean_chroma(out) / mean_chroma(ref):.2f} |", flush=True)


def parse_option(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    return key, float(value)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=0, help="first N validation images only (0 = all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--option", type=parse_option, action="append", default=[], help="backend option KEY=NUMBER")
    p.add_argument("--weak", action="store_true", help="also the weak-reference chroma table")
    args = p.parse_args()
    _, val = split_files(list_images(args.data))
    opts = {"threads": args.threads, **dict(args.option)}
    if args.weak:
        weak_references(val, opts)
    if args.limit:
        val = val[: args.limit]
    images = [load_rgb(f) for f in val]
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
        t = t_out.astype(np.float32) / 255
        transfer.append((
            sliced_wasserstein(o, r), sliced_wasserstein(o, np.zeros_like(o)), sliced_wasserstein(np.zeros_like(r), r),
            psnr(t, b), colourfulness(t) / colourfulness(b), mean_chroma(t_out) / mean_chroma(ref),
        ))
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
    print("| SW1(out, ref) | SW1(out, gray) | SW1(gray, ref) | closer to ref than to gray | PSNR (dB) | colourfulness / GT | C* out / ref |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {t[:, 0].mean():.2f} | {t[:, 1].mean():.2f} | {t[:, 2].mean():.2f} | {np.mean(t[:, 0] < t[:, 1]):.0%} "
        f"| {t[:, 3].mean():.2f} | {t[:, 4].mean():.2f} | {t[:, 5].mean():.2f} (min {t[:, 5].min():.2f}) |"
    )


if __name__ == "__main__":
    main()
