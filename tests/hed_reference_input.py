"""The fixed synthetic image on which the HED port is compared with the original Keras model.

Only numpy arithmetic that IEEE 754 rounds exactly (+, -, *, /, sqrt, comparisons) is used, so the
image is the same bit for bit on every machine; ``tests/test_hed.py`` checks its sha256.
Imported by file path from ``tests/test_hed.py`` and ``scripts/make_hed_reference.py``.
"""

from __future__ import annotations

import numpy as np

#: (name, height, width): an even size, and an odd one that exercises 'same' pooling of odd sizes
#: and non-integer resize factors.
CASES: tuple[tuple[str, int, int], ...] = (
    ("hed_keras_reference", 64, 96),
    ("hed_keras_reference_odd", 45, 77),
)

# (centre y, centre x, radius) as fractions of the height, the width and the shorter side, and the
# disc's gray level.
_DISCS = (
    (0.35, 0.25, 0.22, 0.9),
    (0.60, 0.62, 0.30, 0.15),
    (0.30, 0.80, 0.15, 0.65),
)


def make_input(height: int, width: int) -> np.ndarray:
    """Uint8 (height, width) image: a diagonal gradient with three flat discs and a dark ring.

    Parameters
    ----------
    height, width : int
        Image size.

    Returns
    -------
    np.ndarray
        uint8 image.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = 0.25 + 0.35 * x / (width - 1) + 0.15 * y / (height - 1)
    short = min(height, width)
    for fy, fx, fr, level in _DISCS:
        d = np.sqrt((y - fy * height) ** 2 + (x - fx * width) ** 2)
        img = np.where(d <= fr * short, level, img)
        if level > 0.5:
            img = np.where((d > fr * short) & (d <= fr * short + 2.0), 0.05, img)
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
