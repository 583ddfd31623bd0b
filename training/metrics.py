"""Colourisation metrics shared by training logs and benchmarks (numpy, no torch): the one PSNR,
SSIM and colourfulness of the project (images in [0, 1] by default, ``data_range=255`` for uint8)."""

from __future__ import annotations

import numpy as np


def lab_to_rgb_keep_L(lab: np.ndarray) -> np.ndarray:
    """CIELAB -> sRGB in [0, 1], pulling out-of-gamut colours in by reducing chroma at fixed L*.

    The core's gamut mapping (:func:`napari_semcolor.color.gamut_scale`) without 8-bit rounding.
    """
    from napari_semcolor.color import gamut_scale, lab_to_rgb

    lab = np.array(lab, np.float32)
    lab[..., 1:] *= gamut_scale(lab[..., 0], lab[..., 1:])[..., None]
    return lab_to_rgb(lab)


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """PSNR in dB of two images with values in [0, ``data_range``] (1 for floats, 255 for uint8).

    Identical images give ``inf``.
    """
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)) / data_range**2
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """SSIM of two RGB images with values in [0, ``data_range``] (channel-averaged)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=-1, data_range=data_range))


def colourfulness(rgb: np.ndarray, data_range: float = 1.0) -> float:
    """Hasler & Süsstrunk (2003) colourfulness of an RGB image with values in [0, ``data_range``]
    (on a 0-255 scale)."""
    rgb = rgb.astype(np.float64) * (255.0 / data_range)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def mean_abs_dab(ab_pred: np.ndarray, ab_true: np.ndarray) -> float:
    """Mean Euclidean distance in the a*b* plane."""
    return float(np.mean(np.linalg.norm(ab_pred - ab_true, axis=-1)))


__all__ = ["lab_to_rgb_keep_L", "psnr", "ssim", "colourfulness", "mean_abs_dab"]
