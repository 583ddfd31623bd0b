"""EE-CNN backend speed: one forward at a given size, and the working-resolution path of large images.

    python benchmarks/eecnn_speed.py [--threads 2]

"backend alone N²" runs the backend on an N x N L* (384 is its working size). "path N²" is what the pipeline does with an N x N
image: resize L* to the backend's working size (long side), run the backend, bilinearly upsample
a*b* back to N x N (the pipeline uses edge-aware upsampling instead; its cost is not included).
"pipeline N²" is the full ``napari_semcolor.pipeline.colorize`` (uint8 input, working size, EE-CNN,
edge-aware upsampling, RGB composition). Peak RSS is the process high-water mark after each row.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def _job(L):
    from napari_semcolor.backends.base import Job
    from napari_semcolor.backends.eecnn import EECNNBackend

    options = EECNNBackend.spec.validate_options({})
    return Job(L=L, hint_ab=np.zeros(L.shape + (2,), np.float32), hint_mask=np.zeros(L.shape, np.float32), options=options)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> None:  # noqa: D103
    import torch
    import torch.nn.functional as F

    from napari_semcolor.backends.eecnn import EECNNBackend

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    backend = EECNNBackend()
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    backend.colorize(_job((rng.random((64, 64)) * 100).astype(np.float32)))
    print(f"torch threads {torch.get_num_threads()}; first call (weights load + sha256) {time.perf_counter() - t:.2f} s")
    print(f"| case | time (s, best of {args.repeats}) | peak RSS (MB) |")
    print("|---|---|---|")
    for n in (384, 512):
        Ln = (rng.random((n, n)) * 100).astype(np.float32)
        best = min(_timed(lambda Ln=Ln: backend.colorize(_job(Ln))) for _ in range(args.repeats))
        print(f"| backend alone {n}² | {best:.3f} | {_peak_mb():.0f} |")
    for n in (2048, 4096):
        L = (rng.random((n, n)) * 100).astype(np.float32)

        def path(L: np.ndarray = L) -> np.ndarray:
            t = torch.from_numpy(L)[None, None]
            s = backend.working_size / max(L.shape)
            small = F.interpolate(t, scale_factor=s, mode="area")[0, 0].numpy()
            ab = backend.colorize(_job(small))[0]
            ab_t = torch.from_numpy(ab).permute(2, 0, 1)[None]
            return F.interpolate(ab_t, size=L.shape, mode="bilinear", align_corners=False)[0].numpy()

        best = min(_timed(path) for _ in range(args.repeats))
        print(f"| path {n}² (working {backend.working_size}) | {best:.3f} | {_peak_mb():.0f} |")
    from napari_semcolor.pipeline import colorize

    for n in (512, 2048, 4096):
        yy, xx = np.mgrid[0:n, 0:n]
        img = (127 + 100 * np.sin(xx / 23.0) * np.cos(yy / 31.0)).astype(np.uint8)
        best = min(_timed(lambda img=img: colorize(img, backend="eecnn")) for _ in range(args.repeats))
        print(f"| pipeline {n}² | {best:.3f} | {_peak_mb():.0f} |")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
