"""Time of each segmentation method at 512², 2048², 4096² (one process per size). Prints a Markdown table.

The ``hed`` row needs the HED port (``napari_semcolor.nets.hed`` and ``models/hed_bsds500.safetensors``);
without it the row reports "n/a" and the watershed step alone is timed with a Sobel stand-in edge map
(``hed (sobel stand-in)``), which shows what the non-network part costs.

    python benchmarks/segment_speed.py [--sizes 512 2048 4096] [--repeat 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time

METHODS = ["otsu", "multiotsu", "local", "hed", "hed (sobel stand-in)"]


def run_one(size: int, method: str, repeat: int) -> dict:
    from napari_semcolor.segment import segment, sobel_edges
    from napari_semcolor.synthetic import make_sem

    if method == "hed" and importlib.util.find_spec("napari_semcolor.nets.hed") is None:
        return {"time": None, "regions": None}
    image = make_sem((size, size), "particles", seed=1, n_objects=12).image
    kwargs = {"edges": sobel_edges} if method.startswith("hed (") else {}
    name = method.split(" ")[0]
    if name == "hed":
        segment(image[:64, :64], name, **kwargs)  # load the network once, outside the timing
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        labels = segment(image, name, **kwargs)
        times.append(time.perf_counter() - t0)
    return {"time": min(times), "regions": int(labels.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 4096])
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args.repeat)))
        return
    print("| method | " + " | ".join(f"{s}² (s)" for s in args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for method in args.methods:
        cells = []
        for size in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(size), method, "--repeat", str(args.repeat)], capture_output=True, text=True, check=True
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            cells.append("n/a" if r["time"] is None else f"{r['time']:.2f} ({r['regions']} regions)")
        print(f"| {method} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
