"""Peak RSS and time per backend for large inputs (4096², 8192², 16384²): one fresh process per case.

    python benchmarks/large_images.py [--backends propagate eecnn] [--sizes 4096 8192 16384]

The input is the bundled sample tiled up to the size (cheap to make, realistic texture), with 12
hints. Prints a Markdown table; a case that stops with a SemcolorError prints its message.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def run_one(backend: str, size: int) -> dict:
    import numpy as np

    from napari_semcolor.errors import SemcolorError
    from napari_semcolor.hints import Hint
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.synthetic import make_sem

    tile = make_sem((1024, 1024), "particles", seed=1, n_objects=14).image
    image = np.tile(tile, (size // 1024, size // 1024))
    rng = np.random.default_rng(0)
    hints = [Hint(int(y), int(x), tuple(rng.random(3)), max(1, size // 256)) for y, x in rng.integers(0, size - size // 256, (12, 2))]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    try:
        colorize(image, backend, hints)
        status = "ok"
    except SemcolorError as exc:
        status = f"stopped: {exc}"
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"backend": backend, "size": size, "seconds": seconds, "peak_rss_gb": peak / 2**20, "input_gb": image.nbytes / 2**30, "rss_before_gb": base / 2**20, "status": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["propagate", "eecnn"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192, 16384])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return
    print("| backend | image | time (s) | peak RSS (GB) | result |")
    print("|---|---|---|---|---|")
    for backend in args.backends:
        for size in args.sizes:
            out = subprocess.run([sys.executable, __file__, "--one", backend, str(size)], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"| {backend} | {size}² | – | – | crashed (exit {out.returncode}): {out.stderr.strip().splitlines()[-1][:80] if out.stderr.strip() else ''} |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {backend} | {size}² | {r['seconds']:.1f} | {r['peak_rss_gb']:.2f} | {r['status']} |", flush=True)


if __name__ == "__main__":
    main()
