"""NST-CNN speed: fit + apply for a 2048 x 2048 content image, one reference and three region references.

    python benchmarks/nst_speed.py [--size 2048] [--threads 1] [--option match_chroma=0]

Generated images only. Each reference is a 512 x 512 colour micrograph; the three-region case uses
a three-class intensity split of the content as labels. "first run" clears the fit cache, "re-run"
hits it. Times are wall seconds of the whole ``colorize()`` call (working resolution, fit, apply,
same-gray post-process, chroma matching, region-aware guided upsampling, composition).
``--option KEY=NUMBER`` passes backend options (``match_chroma=0`` leaves the chroma matching out).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from napari_semcolor.backends import nstcnn
from napari_semcolor.color import compose, to_lightness
from napari_semcolor.pipeline import colorize
from napari_semcolor.synthetic import make_sem, paint, region_colors


def reference(seed: int) -> np.ndarray:
    sem = make_sem((512, 512), "particles", seed=seed, n_objects=12)
    return compose(to_lightness(sem.image), paint(sem.labels, region_colors(sem.labels, seed=seed + 1)))


def parse_option(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    return key, float(value)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--option", type=parse_option, action="append", default=[], help="backend option KEY=NUMBER")
    args = p.parse_args()
    gray = make_sem((args.size, args.size), "particles", seed=5, n_objects=40).image
    L = to_lightness(gray)
    labels = np.digitize(L, np.percentile(L, [33, 66])).astype(np.int32)
    refs = [reference(s) for s in (1, 2, 3)]
    opts = {"threads": args.threads, **dict(args.option)}
    cases = {
        "one reference": dict(references={0: refs[0]}),
        "three region references": dict(labels=labels, references={0: refs[0], 1: refs[1], 2: refs[2]}),
    }
    print(f"| {args.size}² content, {args.threads} thread(s) | first run (fit + apply), s | re-run (cached), s |")
    print("|---|---|---|")
    for name, kw in cases.items():
        nstcnn.clear_cache()
        first = timed(lambda kw=kw: colorize(gray, "nst", options=opts, **kw))
        again = timed(lambda kw=kw: colorize(gray, "nst", options=opts, **kw))
        print(f"| {name} | {first:.2f} | {again:.2f} |")


if __name__ == "__main__":
    main()
