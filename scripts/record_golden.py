"""Record every backend's output on the bundled sample, for the behaviour-preserving test.

Refactors must not change what users get: ``tests/test_golden.py`` colours the bundled sample
with the same calls and compares the sha256 of every proposal with the file this script writes (the arrays themselves
would be 7 MB). Re-record only when a change of output is intended (and say so in the commit
message):

    python scripts/record_golden.py tests/data/golden_sample.json

The cases use only the public ``colorize`` arguments, fixed seeds, and an NST fit bounded by
iterations, not by seconds (a time budget would depend on the machine's speed).
"""

from __future__ import annotations

import hashlib
import json
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
    return {
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


def _databar(image: np.ndarray) -> np.ndarray:
    from napari_semcolor.files.sem_tiff import databar_mask

    return databar_mask(image)


def fingerprints(rgb) -> list[str]:
    """sha256 of each proposal's uint8 bytes."""
    return [hashlib.sha256(np.ascontiguousarray(p, np.uint8).tobytes()).hexdigest() for p in rgb]


def main(path: str) -> None:
    from napari_semcolor import colorize

    out = {}
    for name, kwargs in golden_cases().items():
        rgb = np.asarray(colorize(**kwargs).rgb)
        out[name] = {"shape": list(rgb.shape), "sha256": fingerprints(rgb)}
        print(f"{name}: {rgb.shape}", flush=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden_sample.json")
