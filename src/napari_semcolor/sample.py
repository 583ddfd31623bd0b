"""The bundled sample: a generated SEM-like micrograph with a few colour hints.

Used by napari's sample-data menu, ``semcolor demo`` and the docs.
"""

from __future__ import annotations

import numpy as np

from napari_semcolor.hints import Hint
from napari_semcolor.synthetic import make_sem

SAMPLE_SHAPE = (512, 768)
SAMPLE_SEED = 7

# pleasant, distinct colours for the demo (sRGB 0–1): particle hints, then a gray substrate hint
_PALETTE = [(0.85, 0.45, 0.2), (0.25, 0.55, 0.9), (0.3, 0.75, 0.35), (0.8, 0.3, 0.65), (0.95, 0.8, 0.2), (0.2, 0.75, 0.75)]


def sem_sample() -> tuple[np.ndarray, np.ndarray]:
    """The sample micrograph (uint8, with a data bar) and its true regions."""
    sem = make_sem(SAMPLE_SHAPE, "particles", seed=SAMPLE_SEED, n_objects=14, databar=True)
    return sem.image, sem.labels


def demo_hints() -> list[Hint]:
    """One 5-pixel hint at the centre of each particle of the sample, plus gray substrate hints."""
    _, labels = sem_sample()
    hints = []
    for i in range(1, labels.max() + 1):
        ys, xs = np.nonzero(labels == i)
        if len(ys) < 50:
            continue
        k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)  # a pixel of the region near its centre
        hints.append(Hint(int(ys[k]) - 2, int(xs[k]) - 2, _PALETTE[(i - 1) % len(_PALETTE)], 5))
    ys, xs = np.nonzero(labels == 0)
    for k in np.linspace(0, len(ys) - 1, 4).astype(int)[1:-1]:
        hints.append(Hint(int(ys[k]), int(xs[k]), (0.5, 0.5, 0.5), 3))
    return hints


def napari_sample() -> list[tuple]:
    """napari sample-data contribution: the micrograph and its hints as a Points layer."""
    from napari_semcolor.hints import to_points

    image, _ = sem_sample()
    coords, sizes, colors = to_points(demo_hints())
    return [
        (image, {"name": "SEM sample"}, "image"),
        (coords, {"name": "SEM sample hints", "size": np.maximum(sizes, 5), "face_color": colors, "features": {"hint": colors, "hint_size": sizes}}, "points"),
    ]
