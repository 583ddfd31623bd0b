"""Live colouring latency: per-edit preview and full resolution, next to the first run.

For each backend (``--backends``, default ``propagate``) and size, in a fresh subprocess (so
"first run" includes what a new napari session pays), on the bundled generator's particles with
12 hints (``nst``: a generated colour micrograph as the reference, default fit options):

* ``colorize()`` first run, then a second run on the same image (same process);
* a :class:`napari_semcolor.Session`: its construction, the first preview, then the median
  preview latency over ``--edits`` hint edits (each adds or moves one hint), and its
  full-resolution ``colorize``.

Wall-clock and CPU (process) time are both printed: on a loaded machine the CPU time is close
to what an idle machine's wall clock would show. The load average and a fixed reference
(a single-threaded 512² float64 matrix product, 20 times) are printed with the table, so runs on
different machines or loads can be compared.

    python benchmarks/live_latency.py [--sizes 512 2048 8192] [--edits 5] [--backends propagate eecnn nst]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def reference_seconds() -> float:
    """Best of 3 of twenty 512 × 512 float64 matrix products (one BLAS thread)."""
    import numpy as np

    a = np.random.default_rng(0).random((512, 512))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(20):
            a @ a
        best = min(best, time.perf_counter() - t)
    return best


def _hints(size: int, n: int, seed: int):
    import numpy as np

    from napari_semcolor.hints import Hint

    rng = np.random.default_rng(seed)
    return [Hint(int(y), int(x), tuple(float(v) for v in rng.random(3)), max(1, size // 256)) for y, x in rng.integers(0, size - 8, (n, 2))]


def _image(size: int):
    """The generator's particles; above 2048² the 2048² image enlarged with fresh detector noise
    (the generator's smoothing filters grow with the image and take many minutes at 8192²)."""
    import numpy as np

    from napari_semcolor.synthetic import make_sem

    base = min(size, 2048)
    image = make_sem((base, base), "particles", seed=1, n_objects=12).image
    if size == base:
        return image
    k = -(-size // base)
    big = np.repeat(np.repeat(image, k, axis=0), k, axis=1)[:size, :size].astype(np.int16)
    big += np.random.default_rng(1).integers(-6, 7, big.shape, dtype=np.int16)
    return np.clip(big, 0, 255).astype(image.dtype)


def _backend_args(backend: str) -> dict:
    """What a backend needs besides the image: ``nst`` a colour reference (generated)."""
    if backend != "nst":
        return {}
    from napari_semcolor.color import compose, to_lightness
    from napari_semcolor.synthetic import make_sem, paint, region_colors

    ref = make_sem((256, 256), "particles", seed=5, n_objects=8)
    return {"references": {0: compose(to_lightness(ref.image), paint(ref.labels, region_colors(ref.labels, seed=6)))}}


def run_one(size: int, edits: int, backend: str = "propagate") -> dict:
    import statistics

    from napari_semcolor import Session, colorize

    image = _image(size)
    hints = _hints(size, 12, 0)
    extra = _hints(size, edits, 1)
    args = _backend_args(backend)
    r = {"size": size, "backend": backend}
    _, r["first_wall"], r["first_cpu"] = _timed(lambda: colorize(image, backend, hints, **args))
    _, r["again_wall"], r["again_cpu"] = _timed(lambda: colorize(image, backend, hints, **args))
    session, r["init_wall"], r["init_cpu"] = _timed(lambda: Session(image, backend, **args))
    _, r["preview1_wall"], r["preview1_cpu"] = _timed(lambda: session.preview(hints))
    walls, cpus, current = [], [], list(hints)
    for i, h in enumerate(extra):  # even edits add a hint, odd ones move the last one
        current = current + [h] if i % 2 == 0 else current[:-1] + [h]
        _, w, c = _timed(lambda hints=current: session.preview(hints))
        walls.append(w)
        cpus.append(c)
    r["edit_wall"], r["edit_cpu"] = statistics.median(walls), statistics.median(cpus)
    _, r["full_wall"], r["full_cpu"] = _timed(lambda: session.colorize(current))
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 8192])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["propagate"], help="live backends to measure (propagate, eecnn, nst)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.edits, args.backends[0])))
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    here = os.path.dirname(os.path.abspath(__file__))
    code = "import sys; sys.path.insert(0, sys.argv[1]); import live_latency as m; print(m.reference_seconds())"
    ref = float(subprocess.run([sys.executable, "-c", code, here], capture_output=True, text=True, check=True, env=env).stdout)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start: {load} on {os.cpu_count()} CPUs; reference (20 × 512² matmul, 1 thread): {ref:.3f} s")
    print("Times in seconds, wall (CPU). 'edit' = median preview latency per hint edit after the first run.\n")
    print("| backend | image | colorize first run | colorize again | Session() | first preview | preview per edit | Session.colorize |")
    print("|---|---|---|---|---|---|---|---|")
    for backend in args.backends:
        for size in args.sizes:
            command = [sys.executable, __file__, "--one", str(size), "--edits", str(args.edits), "--backends", backend]
            r = json.loads(subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout.strip().splitlines()[-1])
            cells = [f"{r[k + '_wall']:.3f} ({r[k + '_cpu']:.3f})" for k in ("first", "again", "init", "preview1", "edit", "full")]
            print(f"| {backend} | {size}² | " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
