"""Time and peak memory of colouring a stack through its planes (issue 16), ``propagate`` backend.

Each case runs in a fresh subprocess (its first run pays imports and graph building; its peak
RSS is its own). Cases:

* ``memory``: a generated 100 × 512 × 512 uint8 volume in memory, 10 hints (one on each of 10
  planes), the result in memory;
* ``deep``: a generated ``--deep-shape`` volume (default 20 000 × 64 × 64) in memory, hints on
  10 planes: deeper than the voxel budget at the smallest working size, so it is solved on a
  subset of its planes (:mod:`napari_semcolor.pipeline.deep`);
* ``tiff``: a Z × N × N uint8 multi-page TIFF read through ``tifffile.memmap`` (planes tiled from
  a generated 512 × 512 volume, written plane by plane) to a zarr array (``--output zarr``) or a
  TIFF path (``--output tif``, written page by page as planes finish).

Prints a Markdown table (wall-clock and CPU seconds: on a busy machine the CPU time is what the
run itself costs).

    python benchmarks/volume_speed.py [--cases memory deep tiff] [--deep-shape 20000 64 64] [--tiff-shape 200 2048 2048] [--dir /tmp] [--output zarr|tif]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def hints_for(shape, n: int = 10):
    import numpy as np

    from napari_semcolor.hints import Hint

    rng = np.random.default_rng(0)
    planes = np.linspace(0, shape[0] - 1, n).round().astype(int)
    size = max(3, shape[1] // 128)
    return [
        Hint(int(y), int(x), tuple(float(c) for c in rng.random(3)), size, plane=(int(k),))
        for k, (y, x) in zip(planes, rng.integers(0, min(shape[1:]) - size, (n, 2)))
    ]


def run_memory() -> dict:
    from napari_semcolor.pipeline import colorize_stack
    from napari_semcolor.synthetic_volume import make_sem_volume

    image = make_sem_volume((100, 512, 512), seed=1, drift=(0.3, 0.2)).image
    t0, c0 = time.perf_counter(), time.process_time()
    result = colorize_stack(image, "propagate", hints_for(image.shape))
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "working": result.metadata["working_shape"], "shape": list(image.shape)}


def run_deep(shape) -> dict:
    from napari_semcolor.pipeline import colorize_stack
    from napari_semcolor.synthetic_volume import make_sem_volume

    image = make_sem_volume(tuple(shape), seed=5, drift=(0.02, 0.01)).image
    t0, c0 = time.perf_counter(), time.process_time()
    result = colorize_stack(image, "propagate", hints_for(image.shape))
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "working": result.metadata["working_shape"], "shape": list(image.shape)}


def make_tiff(path: Path, shape) -> None:
    import numpy as np
    import tifffile

    from napari_semcolor.synthetic_volume import make_sem_volume

    z, n = shape[0], shape[1]
    base = make_sem_volume((z, 512, 512), seed=1, drift=(0.3, 0.2)).image
    out = tifffile.memmap(path, shape=tuple(shape), dtype=np.uint8, photometric="minisblack")
    reps = (-(-n // 512), -(-shape[2] // 512))
    for k in range(z):
        out[k] = np.tile(base[k], reps)[:n, : shape[2]]
    out.flush()
    del out


def run_tiff(source: str, target: str) -> dict:
    import tifffile

    from napari_semcolor.pipeline import colorize_stack

    image = tifffile.memmap(source)
    out = target
    if target.endswith(".zarr"):
        import zarr

        out = zarr.create_array(store=target, shape=(*image.shape, 3), dtype="uint8", chunks=(1, 512, image.shape[2], 3))
    t0, c0 = time.perf_counter(), time.process_time()
    result = colorize_stack(image, "propagate", hints_for(image.shape), out=out)
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "working": result.metadata["working_shape"], "shape": list(image.shape)}


def child(case: str, args: list[str]) -> None:
    runs = {"memory": run_memory, "deep": lambda *a: run_deep([int(v) for v in a]), "tiff": run_tiff}
    info = runs[case](*args)
    info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", default=["memory"], choices=["memory", "deep", "tiff"])
    p.add_argument("--deep-shape", type=int, nargs=3, default=(20000, 64, 64))
    p.add_argument("--tiff-shape", type=int, nargs=3, default=(200, 2048, 2048))
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--output", choices=["zarr", "tif"], default="zarr")
    args = p.parse_args()
    print("| case | stack (z, h, w) | working (h, w) | first run (s) | CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    for case in args.cases:
        extra = [str(v) for v in args.deep_shape] if case == "deep" else []
        if case == "tiff":
            source, target = Path(args.dir) / "volume_in.tif", Path(args.dir) / f"volume_out.{args.output}"
            make_tiff(source, args.tiff_shape)
            extra = [str(source), str(target)]
        out = subprocess.run([sys.executable, __file__, "--child", case, *extra], capture_output=True, text=True, check=True)
        info = json.loads(out.stdout.strip().splitlines()[-1])
        cells = [case, tuple(info["shape"]), tuple(info["working"]), f"{info['seconds']:.1f}", f"{info['cpu']:.1f}", f"{info['peak_rss_mb']:.0f}"]
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)
        if case == "tiff":
            import shutil

            Path(extra[0]).unlink(missing_ok=True)
            if args.output == "zarr":
                shutil.rmtree(extra[1], ignore_errors=True)
            else:
                Path(extra[1]).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
