"""The ``semcolor`` command: colour, demo. Its flags are a stable contract for scripts.

    semcolor colorize IN -o OUT [--backend NAME] [--hints HINTS.csv] [--labels LABELS.tif]
                      [--reference LABEL=IMAGE ...] [--samples N] [--seed S]
    semcolor demo -o DIR
    semcolor --version
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from napari_semcolor import __version__
from napari_semcolor.errors import Cancelled, SemcolorError


def _parser() -> argparse.ArgumentParser:
    from napari_semcolor.backends import available

    p = argparse.ArgumentParser(prog="semcolor", description="Colour grayscale microscopy images without altering their structure (L*).")
    p.add_argument("--version", action="version", version=f"napari-semcolor {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("colorize", help="colour one image")
    c.add_argument("input", help="gray image (PNG, TIFF, JPEG; 8 or 16 bit)")
    c.add_argument("-o", "--output", required=True, help="output PNG or TIFF; several samples → OUT_0, OUT_1, …")
    c.add_argument("--backend", default="propagate", choices=available(), help="colouring method (default: propagate)")
    c.add_argument("--hints", help="CSV with header y,x,r,g,b[,size]: patch rows y…y+size−1, columns x…x+size−1, colour 0–255")
    c.add_argument("--labels", help="label image (same size as IN); region borders stop colour")
    c.add_argument("--reference", action="append", default=[], metavar="LABEL=IMAGE", help="colour reference for a region (0 = everything else); repeatable")
    c.add_argument("--samples", type=int, default=1, help="number of proposals (default 1)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--working-size", type=int, help="long side of the working resolution (default: the backend's)")
    c.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="torch device (default auto)")
    c.add_argument("--nan", type=float, help="L* (0–100) to use for NaN/inf pixels instead of failing")
    c.add_argument("--metadata", help="also write the run's metadata (JSON) here")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    d = sub.add_parser("demo", help="colour the bundled synthetic SEM sample and write PNGs")
    d.add_argument("-o", "--output", default="demo", help="output folder (default: demo/)")
    d.add_argument("--backend", default="propagate", choices=available())
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``semcolor`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "colorize":
            return _colorize(args)
        if args.command == "demo":
            return _demo(args)
    except SemcolorError as exc:
        print(f"semcolor: error: {exc}", file=sys.stderr)
        return 2
    except Cancelled:
        print("semcolor: cancelled", file=sys.stderr)
        return 130
    return 1


def _progress(quiet: bool):
    if quiet:
        return None

    def show(fraction: float, message: str) -> None:
        print(f"\r[{'#' * int(fraction * 30):<30}] {fraction:4.0%} {message:<40}", end="", file=sys.stderr, flush=True)
        if fraction >= 1:
            print(file=sys.stderr)

    return show


def _parse_references(items: list[str]) -> dict:
    from napari_semcolor.io import read_image

    refs = {}
    for item in items:
        key, sep, path = item.partition("=")
        if not sep:
            key, path = "0", item
        try:
            label = int(key)
        except ValueError:
            raise SemcolorError(f"--reference {item!r}: expected LABEL=IMAGE with an integer label") from None
        refs[label] = read_image(path)
    return refs


def _colorize(args) -> int:
    from napari_semcolor import hints as hints_mod
    from napari_semcolor.io import numbered, read_image, write_image
    from napari_semcolor.pipeline import colorize

    image = read_image(args.input)
    hints = hints_mod.read_csv(args.hints) if args.hints else []
    labels = read_image(args.labels) if args.labels else None
    result = colorize(
        image,
        args.backend,
        hints,
        labels=labels,
        references=_parse_references(args.reference),
        n_samples=args.samples,
        seed=args.seed,
        progress=_progress(args.quiet),
        working_size=args.working_size,
        device=args.device,
        nan=args.nan,
    )
    for i, rgb in enumerate(result.rgb):
        out = write_image(numbered(args.output, i, len(result.rgb)), rgb)
        if not args.quiet:
            print(out)
    if args.metadata:
        Path(args.metadata).write_text(json.dumps(result.metadata, indent=2))
    return 0


def _demo(args) -> int:
    from napari_semcolor import hints as hints_mod
    from napari_semcolor.io import write_image
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.sample import demo_hints, sem_sample

    out = Path(args.output)
    image, _ = sem_sample()
    hints = demo_hints()
    write_image(out / "sample_gray.png", image)
    out.mkdir(parents=True, exist_ok=True)
    hints_mod.write_csv(hints, out / "sample_hints.csv")
    result = colorize(image, args.backend, hints, progress=_progress(False))
    path = write_image(out / f"sample_{args.backend}.png", result.image)
    side = np.concatenate([np.repeat(image[..., None], 3, axis=-1), result.image], axis=1)
    write_image(out / "sample_side_by_side.png", side)
    print(f"wrote {path} (and sample_gray.png, sample_hints.csv, sample_side_by_side.png) in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
