"""Dataset utilities shared by every training script.

The validation split is part of the project's reproducibility contract: all models use
:func:`split_files` with its defaults, so their validation numbers are measured on the same images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def list_images(data_dir: str | Path) -> list[Path]:
    """All image files directly inside ``data_dir``, sorted by file name.

    Parameters
    ----------
    data_dir : str or Path
        Folder holding the training images.

    Returns
    -------
    list of Path
        Sorted by name, so the order is the same on every machine.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"training data folder not found: {data_dir}")
    files = [p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: p.name)


def split_files(
    files: list[Path], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Path], list[Path]]:
    """Fixed train/validation split.

    The file list is sorted by name, permuted with ``numpy.random.default_rng(seed)``, and the first
    ``round(val_fraction * n)`` names of the permutation form the validation set. Both returned
    lists are sorted by name. The split depends only on the file names, not on their order or
    their directory.

    Parameters
    ----------
    files : list of Path
        Image files (any order).
    val_fraction : float
        Fraction held out for validation.
    seed : int
        Seed of the permutation; keep the default so all models share one split.

    Returns
    -------
    train, val : list of Path
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("val_fraction must be in [0, 1)")
    files = sorted(files, key=lambda p: Path(p).name)
    n_val = int(round(val_fraction * len(files)))
    order = np.random.default_rng(seed).permutation(len(files))
    val_idx = set(order[:n_val].tolist())
    train = [f for i, f in enumerate(files) if i not in val_idx]
    val = [f for i, f in enumerate(files) if i in val_idx]
    return train, val


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image as RGB float32 in [0, 1], shape (H, W, 3).

    Gray images are replicated to three channels and an alpha channel is dropped.
    """
    from skimage import io

    img = io.imread(str(path))
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[..., :3]
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> CIELAB (D65, 2° observer), float32, same convention as ``color.py``."""
    from skimage.color import rgb2lab

    return rgb2lab(rgb, illuminant="D65", observer="2").astype(np.float32)


def load_lab(path: str | Path, long_side: int | None = None) -> np.ndarray:
    """Read an image and return L*a*b* float32 (H, W, 3), optionally resized first.

    Parameters
    ----------
    path : str or Path
        Image file.
    long_side : int, optional
        If given, the RGB image is resized (anti-aliased, aspect kept) so that its long side has
        this many pixels before the conversion.
    """
    rgb = load_rgb(path)
    if long_side is not None:
        rgb = resize_long_side(rgb, long_side)
    return rgb_to_lab(rgb)


def resize_long_side(img: np.ndarray, long_side: int) -> np.ndarray:
    """Resize (H, W, C) so that max(H, W) == ``long_side``, aspect kept, anti-aliased."""
    from skimage.transform import resize

    h, w = img.shape[:2]
    s = long_side / max(h, w)
    shape = (max(1, int(round(h * s))), max(1, int(round(w * s))))
    return resize(img, shape, order=1, anti_aliasing=s < 1, preserve_range=True).astype(np.float32)


__all__ = ["list_images", "split_files", "load_rgb", "rgb_to_lab", "load_lab", "resize_long_side"]
