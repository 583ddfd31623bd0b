"""Time and peak memory of the `propagate` backend through the whole pipeline.

Each size runs in a fresh subprocess, so its peak RSS is its own, and its first run pays what a
new process pays (imports, the affinity graphs, which later runs on the same image reuse). Prints a
Markdown table.

    python benchmarks/propagate_speed.py [--sizes 512 2048 4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc


def run_one(size: int, repeat: int) -> dict:
    import numpy as np

    from napari_semcolor.hints import Hint
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((size, size), "particles", seed=1, n_objects=12)
    rng = np.random.default_rng(0)
    hints = [Hint(int(y), int(x), tuple(rng.random(3)), max(1, size // 256)) for y, x in rng.integers(0, size - 8, (12, 2))]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        colorize(sem.image, "propagate", hints)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()  # numpy reports its buffers to tracemalloc: the run's own peak allocation
    colorize(sem.image, "propagate", hints)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "size": size, "first_s": times[0], "best_s": min(times), "median_s": sorted(times)[len(times) // 2],
        "peak_rss_mb": peak / 1024, "run_peak_mb": traced_peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 4096])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.repeat)))
        return
    print("| image | first run (s) | best time (s) | median time (s) | peak allocated by the run (MB) | peak RSS of the process (MB) |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {size}² | {r['first_s']:.2f} | {r['best_s']:.2f} | {r['median_s']:.2f} | {r['run_peak_mb']:.0f} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
