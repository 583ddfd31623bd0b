"""Colourisation metrics shared by training logs and benchmarks (numpy, no torch)."""

from __future__ import annotations

import numpy as np


def lab_to_rgb_keep_L(lab: np.ndarray, iters: int = 10) -> np.ndarray:
    """CIELAB -> sRGB in [0, 1], pulling out-of-gamut colours in by reducing chroma at fixed L*.

    A per-pixel bisection on the chroma scale factor; RGB is never clipped by more than rounding.
    """
    from skimage.color import lab2rgb

    from napari_semcolor.nets.eecnn import _lab_to_linear_rgb

    lab = lab.astype(np.float64)

    def in_gamut(scale: np.ndarray) -> np.ndarray:
        trial = lab.copy()
        trial[..., 1:] *= scale[..., None]
        rgb = _lab_to_linear_rgb(trial)
        return np.all((rgb >= -1e-4) & (rgb <= 1 + 1e-4), axis=-1)

    ok = in_gamut(np.ones(lab.shape[:-1]))
    if not ok.all():
        lo = np.zeros(lab.shape[:-1])
        hi = np.ones(lab.shape[:-1])
        for _ in range(iters):
            mid = (lo + hi) / 2
            good = in_gamut(mid)
            lo = np.where(good, mid, lo)
            hi = np.where(good, hi, mid)
        lab[..., 1:] *= np.where(ok, 1.0, lo)[..., None]
    return np.clip(lab2rgb(lab), 0.0, 1.0).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two images in [0, 1]."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two RGB images in [0, 1] (channel-averaged)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness of an RGB image in [0, 1] (on a 0-255 scale)."""
    rgb = rgb.astype(np.float64) * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def mean_abs_dab(ab_pred: np.ndarray, ab_true: np.ndarray) -> float:
    """Mean Euclidean distance in the a*b* plane."""
    return float(np.mean(np.linalg.norm(ab_pred - ab_true, axis=-1)))


__all__ = ["lab_to_rgb_keep_L", "psnr", "ssim", "colourfulness", "mean_abs_dab"]
