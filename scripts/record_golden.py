"""Record every backend's output on the bundled sample, for the behaviour-preserving test.

Refactors must not change what users get: ``tests/test_golden.py`` colours the bundled sample
with the same calls and compares every proposal with the thumbnails this script writes (8 × 8
block means of the uint8 RGB; the arrays themselves would be 7 MB). Thumbnails with a tolerance,
not hashes of the bytes: another numpy/scipy/torch release or CPU may round a few pixels the
other way, which is not a change of behaviour. Re-record only when a change of output is
intended (and say so in the commit message):

    python scripts/record_golden.py tests/data/golden_sample.npz

The cases use only the public ``colorize`` arguments, fixed seeds, and an NST fit bounded by
iterations, not by seconds (a time budget would depend on the machine's speed).
"""

from __future__ import annotations

import sys

import numpy as np


def golden_cases() -> dict[str, dict]:
    """name → keyword arguments of ``napari_semcolor.colorize`` for the bundled sample."""
    from napari_semcolor.sample import demo_hints, sem_sample

    image, labels = sem_sample()
    hints = demo_hints()
    reference = np.zeros((64, 96, 3), np.uint8)  # a two-colour reference: warm left, cool right
    reference[..., 0] = np.linspace(40, 230, 96)[None].astype(np.uint8)
    reference[..., 1] = 90
    reference[..., 2] = np.linspace(220, 50, 96)[None].astype(np.uint8)
    reference[::8] //= 2  # some lightness structure to learn from
    nst_options = {"iterations": 20, "seconds": 1000.0}
    cases = {
        "propagate": dict(image=image, backend="propagate", hints=hints),
        "propagate_regions": dict(
            image=image, backend="propagate", hints=hints, labels=labels,
            region_colors={1: "#cc3399", 2: "gray"}, same_gray=0.5, keep_gray=_databar(image),
        ),
        "propagate_one_per_region": dict(image=image, backend="propagate", hints=hints, labels=labels, one_color_per_region=True),
        "eecnn": dict(image=image, backend="eecnn", n_samples=2),
        "eecnn_hints": dict(image=image, backend="eecnn", hints=hints[:3]),
        "nst": dict(image=image, backend="nst", references={0: reference}, seed=1, options=nst_options),
        "diffusion": dict(image=image, backend="diffusion", hints=hints, n_samples=2, seed=3),
        "diffusion_auto": dict(image=image, backend="diffusion", n_samples=2, seed=5, options={"steps": 4, "sampler": "ddim"}),
    }
    # recorded before colorize() kept the sample's data bar gray by default: the same calls
    return {name: kwargs if "keep_gray" in kwargs else {**kwargs, "databar_gray": False} for name, kwargs in cases.items()}


def _databar(image: np.ndarray) -> np.ndarray:
    from napari_semcolor.files.sem_tiff import databar_mask

    return databar_mask(image)


BLOCK = 8


def thumbnails(rgb) -> np.ndarray:
    """(n, H, W, 3) uint8 proposals → (n, H // 8, W // 8, 3) float32 means of 8 × 8 blocks."""
    rgb = np.asarray(rgb, np.float32)
    n, h, w, c = rgb.shape
    h, w = h // BLOCK * BLOCK, w // BLOCK * BLOCK
    return rgb[:, :h, :w].reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK, c).mean(axis=(2, 4))


def main(path: str) -> None:
    from napari_semcolor import colorize

    out = {}
    for name, kwargs in golden_cases().items():
        rgb = np.asarray(colorize(**kwargs).rgb)
        out[name] = thumbnails(rgb)
        print(f"{name}: {rgb.shape}", flush=True)
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden_sample.npz")
