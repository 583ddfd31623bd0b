"""Quality of the diffusion proposals next to ``propagate``, with simulated user hints.

Protocol (iColoriT-style): each validation image (the shared split of
``training.data.split_files``) is centre-cropped to a square and resized to 256²; its
L* is the gray input; N ∈ {0, 1, 2, 5, 10, 20, 50} hints of 2×2 px at uniform locations (seeded
per image and N), each with the mean colour of its patch. Both backends run through
``pipeline.colorize`` with the same hints. Reported: PSNR and SSIM of the sRGB result against the
original, and colourfulness (Hasler & Süsstrunk) next to the original's; for diffusion the mean
over 9 proposals and the best of 9 (PSNR), and the backend's starting point alone (``network=False``:
``propagate`` mixed with the appearance guess, for networks that use it) to show what the network adds. Diversity: mean pairwise a*b* distance between the 9
proposals, over the whole image with no hints, and near (≤ 4 px) / far from the hints with 50.

    python -m benchmarks.diffusion_quality --data ../shared/data/semcolorful/train [--images 59] [--steps 10] [--temperature T]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

SIZE = 256
U8 = 255  # data_range of the metrics: the results are uint8
COUNTS = (0, 1, 2, 5, 10, 20, 50)


def load_square(path, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Centre square crop resized to ``size``²: (truth uint8 RGB rendered with its own L*, L*/100 float gray)."""
    from skimage.transform import resize

    from napari_semcolor.color import compose, rgb_to_lab
    from training.data import load_rgb

    rgb = load_rgb(path)
    h, w = rgb.shape[:2]
    c = min(h, w)
    y, x = (h - c) // 2, (w - c) // 2
    rgb = resize(rgb[y : y + c, x : x + c], (size, size), order=1, anti_aliasing=c > size).astype(np.float32)
    lab = rgb_to_lab(np.clip(rgb, 0, 1))
    truth = compose(lab[..., 0], lab[..., 1:])  # the original as the pipeline would render it
    return truth, lab[..., 0] / 100


def make_hints(truth: np.ndarray, n: int, seed: int):
    """``n`` 2×2 hints at uniform locations, each with its patch's mean colour."""
    from napari_semcolor.hints import Hint

    rng = np.random.default_rng(seed)
    hints = []
    for _ in range(n):
        y, x = (int(v) for v in rng.integers(0, SIZE - 1, 2))
        rgb = truth[y : y + 2, x : x + 2].reshape(-1, 3).mean(axis=0) / 255
        hints.append(Hint(y, x, tuple(float(v) for v in rgb), 2))
    return hints


def pairwise_ab(ab: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean a*b* distance between all pairs of proposals (n, h, w, 2), optionally only ``where``."""
    d = [np.linalg.norm(ab[i] - ab[j], axis=-1) for i, j in itertools.combinations(range(len(ab)), 2)]
    d = np.stack(d)
    return float(d.mean() if where is None else d[:, where].mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--images", type=int, default=0, help="use the first N validation images (0 = all)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--temperature", type=float, help="default: the backend's (0.6 with hints, 1 without)")
    p.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    args = p.parse_args()

    import torch
    from scipy import ndimage

    from napari_semcolor.color import image_to_lab
    from napari_semcolor.pipeline import colorize
    from training.data import list_images, split_files
    from training.metrics import colourfulness, psnr, ssim

    torch.set_num_threads(args.threads)
    _, val = split_files(list_images(args.data))
    if args.images:
        val = val[: args.images]
    rows = {
        n: {k: [] for k in ("prop_psnr", "prop_ssim", "prop_cf", "start_psnr", "diff_psnr", "diff_best", "diff_ssim", "diff_cf", "gt_cf")}
        for n in args.counts
    }
    div_none, div_near, div_far = [], [], []
    t0 = time.perf_counter()
    options = {"steps": args.steps} if args.temperature is None else {"steps": args.steps, "temperature": args.temperature}
    for i, path in enumerate(val):
        truth, gray = load_square(path)
        for n in args.counts:
            hints = make_hints(truth, n, seed=1000 * n + i)
            r = rows[n]
            prop = colorize(gray, "propagate", hints).image
            diff = colorize(gray, "diffusion", hints, n_samples=9, seed=i, device="cpu", options=options).rgb
            r["gt_cf"].append(colourfulness(truth, U8))
            r["prop_psnr"].append(psnr(prop, truth, U8))
            r["prop_ssim"].append(ssim(prop, truth, U8))
            r["prop_cf"].append(colourfulness(prop, U8))
            start = colorize(gray, "diffusion", hints, device="cpu", options={"network": False}).image
            r["start_psnr"].append(psnr(start, truth, U8))
            scores = [psnr(d, truth, U8) for d in diff]
            r["diff_psnr"].append(np.mean(scores))
            r["diff_best"].append(np.max(scores))
            r["diff_ssim"].append(np.mean([ssim(d, truth, U8) for d in diff]))
            r["diff_cf"].append(np.mean([colourfulness(d, U8) for d in diff]))
            ab = np.stack([image_to_lab(d)[..., 1:] for d in diff])
            if n == 0:
                div_none.append(pairwise_ab(ab))
            if n == 50:
                mask = np.zeros((SIZE, SIZE), bool)
                for h in hints:
                    mask[h.y : h.y + h.size, h.x : h.x + h.size] = True
                near = ndimage.binary_dilation(mask, iterations=4)
                div_near.append(pairwise_ab(ab, near))
                div_far.append(pairwise_ab(ab, ~near))
        print(f"# image {i + 1}/{len(val)} done, {time.perf_counter() - t0:.0f}s", flush=True)

    temperature = "the backend's default (0.6 with hints, 1 without)" if args.temperature is None else args.temperature
    print(f"\n{len(val)} validation images at {SIZE}², 2×2 hints, diffusion {args.steps} steps, temperature {temperature}, 9 proposals\n")
    print(
        "| hints | propagate PSNR | starting point alone (no network) | diffusion PSNR (mean of 9) | diffusion PSNR (best of 9) "
        "| propagate SSIM | diffusion SSIM | colourfulness: truth / propagate / diffusion |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.counts:
        r = {k: float(np.mean(v)) for k, v in rows[n].items()}
        print(
            f"| {n} | {r['prop_psnr']:.2f} | {r['start_psnr']:.2f} | {r['diff_psnr']:.2f} | {r['diff_best']:.2f} "
            f"| {r['prop_ssim']:.3f} | {r['diff_ssim']:.3f} | {r['gt_cf']:.1f} / {r['prop_cf']:.1f} / {r['diff_cf']:.1f} |"
        )
    if div_none:
        print(f"\nDiversity, mean pairwise a*b* distance of the 9 proposals: no hints {np.mean(div_none):.2f}", end="")
    if div_near:
        print(f"; 50 hints: ≤ 4 px from a hint {np.mean(div_near):.2f}, elsewhere {np.mean(div_far):.2f}", end="")
    print()


if __name__ == "__main__":
    main()
