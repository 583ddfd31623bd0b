"""Peak RSS and time per backend for large inputs (4096², 8192², 16384²): one fresh process per case.

    python benchmarks/large_images.py [--backends propagate eecnn nst diffusion] [--sizes 4096 8192 16384]
                                      [--inputs numpy memmap] [--tmp DIR]

Inputs: ``numpy`` — the bundled-style generated sample (1024², particles) tiled up to the size, in
memory, result in memory (the Python API's default); ``memmap`` — the same image written once as an
uncompressed TIFF in ``--tmp``, memory-mapped read-only (``tifffile.memmap``) and coloured into a
memory-mapped TIFF result (``out=``), as ``semcolor colorize IN.tif -o OUT.tif`` does. 12 hints,
one proposal; ``nst`` gets a generated 512² colour reference. Peak RSS is the child's
``ru_maxrss`` (it includes the pages of memory-mapped files that were resident). Prints a Markdown
table; a case that stops with a SemcolorError prints its message.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_image(size: int):
    import numpy as np

    from napari_semcolor.synthetic import make_sem

    tile = make_sem((1024, 1024), "particles", seed=1, n_objects=14).image
    return np.tile(tile, (size // 1024, size // 1024))


def make_reference():
    from napari_semcolor.color import compose, to_lightness
    from napari_semcolor.synthetic import make_sem, paint, region_colors

    sem = make_sem((512, 512), "particles", seed=7, n_objects=10)
    return compose(to_lightness(sem.image), paint(sem.labels, region_colors(sem.labels, seed=8)))


def run_one(backend: str, size: int, inputs: str, tmp: str) -> dict:
    import numpy as np

    from napari_semcolor.errors import SemcolorError
    from napari_semcolor.hints import Hint
    from napari_semcolor.pipeline import colorize

    rng = np.random.default_rng(0)
    hints = [Hint(int(y), int(x), tuple(rng.random(3)), max(1, size // 256)) for y, x in rng.integers(0, size - size // 256, (12, 2))]
    references = {0: make_reference()} if backend == "nst" else None
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    try:
        if inputs == "memmap":
            import tifffile

            image = tifffile.memmap(Path(tmp) / f"in_{size}.tif", mode="r")
            out = Path(tmp) / f"out_{backend}_{size}.tif"
            colorize(image, backend, hints, references=references, out=out)
            out.unlink()
        else:
            image = make_image(size)
            t0 = time.perf_counter()  # the synthetic input is not part of the run's time (its memory is)
            colorize(image, backend, hints, references=references)
        status = "ok"
    except SemcolorError as exc:
        status = f"stopped: {exc}"
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "backend": backend, "size": size, "inputs": inputs, "seconds": seconds,
        "peak_rss_gb": peak / 2**20, "rss_before_gb": base / 2**20, "status": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["propagate", "eecnn", "nst", "diffusion"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192, 16384])
    parser.add_argument("--inputs", nargs="+", default=["numpy", "memmap"], choices=["numpy", "memmap"])
    parser.add_argument("--tmp", help="folder for the memory-mapped input and output TIFFs (default: a temporary one)")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.one[2], args.one[3])))
        return
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if "memmap" in args.inputs:
            import tifffile

            for size in args.sizes:
                tifffile.imwrite(Path(tmp) / f"in_{size}.tif", make_image(size))  # uncompressed: memory-mappable
        print("| backend | image | input → output | time (s) | peak RSS (GB) | result |")
        print("|---|---|---|---|---|---|", flush=True)
        for backend in args.backends:
            for size in args.sizes:
                for inputs in args.inputs:
                    kind = "numpy → memory" if inputs == "numpy" else "memmap TIFF → memmap TIFF"
                    out = subprocess.run([sys.executable, __file__, "--one", backend, str(size), inputs, tmp], capture_output=True, text=True)
                    if out.returncode != 0:
                        last = out.stderr.strip().splitlines()[-1][:80] if out.stderr.strip() else ""
                        print(f"| {backend} | {size}² | {kind} | – | – | crashed (exit {out.returncode}): {last} |", flush=True)
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    print(f"| {backend} | {size}² | {kind} | {r['seconds']:.1f} | {r['peak_rss_gb']:.2f} | {r['status']} |", flush=True)


if __name__ == "__main__":
    main()
