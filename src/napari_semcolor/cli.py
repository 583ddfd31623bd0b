"""The ``semcolor`` command: colour, demo. Its flags are a stable contract for scripts.

    semcolor colorize IN -o OUT [--backend NAME] [--hints HINTS.csv] [--labels LABELS.tif]
                      [--reference LABEL=IMAGE ...] [--samples N] [--seed S]
                      [--region-color LABEL=#RRGGBB ...] [--region-gray LABEL ...]
    semcolor segment IN -o LABELS.tif [--method otsu|multiotsu|local|hed] [method options]
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
    c.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a backend option, e.g. steps=20 or temperature=1 (diffusion); repeatable")
    c.add_argument("--working-size", type=int, help="long side of the working resolution (default: the backend's)")
    c.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="torch device (default auto)")
    c.add_argument("--nan", type=float, help="L* (0–100) to use for NaN/inf pixels instead of failing")
    c.add_argument("--region-color", action="append", default=[], metavar="LABEL=#RRGGBB", help="fill a region (needs --labels) with this colour at its own lightness; repeatable")
    c.add_argument("--region-gray", action="append", default=[], type=int, metavar="LABEL", help="keep a region (needs --labels) neutral gray; repeatable")
    c.add_argument("--one-colour-per-region", action="store_true", help="with --labels: each region takes its dominant colour")
    c.add_argument("--same-gray", type=float, default=0.0, metavar="S", help="pull pixels of equal gray to one shared colour, strength 0–1 (default 0)")
    c.add_argument("--databar-gray", action="store_true", help="detect the instrument data bar at the bottom and keep it gray")
    c.add_argument("--from-sidecar", metavar="JSON", help="repeat a run: take backend, hints, seed and options from its metadata JSON (from --metadata or the napari writer)")
    c.add_argument("--metadata", help="also write the run's metadata (JSON) here")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    from napari_semcolor.segment import HELP, METHODS, PARAMETERS

    s = sub.add_parser("segment", help="segment an image into regions (a label image)")
    s.add_argument("input", help="gray image (PNG, TIFF, JPEG; 8 or 16 bit)")
    s.add_argument("-o", "--output", required=True, help="output label image (.tif: uint16/int32; .png: uint8/uint16)")
    s.add_argument("--method", default="otsu", choices=METHODS, help="segmentation method (default: otsu)")
    s.add_argument("--classes", type=int, help=f"multiotsu: {HELP['classes']} (default {PARAMETERS['multiotsu']['classes']})")
    s.add_argument("--block-size", type=int, help=f"local: {HELP['block_size']} (default {PARAMETERS['local']['block_size']})")
    s.add_argument("--offset", type=float, help=f"local: {HELP['offset']} (default 0)")
    s.add_argument("--objects", choices=["auto", "bright", "dark"], help=f"otsu, local: {HELP['objects']}")
    s.add_argument("--separate", action=argparse.BooleanOptionalAction, default=None, help="otsu, local, multiotsu: number each connected object separately (default: yes for otsu/local, no for multiotsu)")
    s.add_argument("--smooth", type=float, help=f"thresholds: {HELP['smooth']} (default 1)")
    s.add_argument("--edge-sensitivity", type=float, help=f"hed: {HELP['edge_sensitivity']} (default 0.5)")
    s.add_argument("--min-size", type=int, help=f"{HELP['min_size']} (default 64)")
    s.add_argument("--no-fill-holes", dest="fill_holes", action="store_false", default=None, help="thresholds: keep holes inside regions")
    s.add_argument("--working-size", type=int, help=f"hed: {HELP['working_size']} (default 512)")
    s.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="hed: torch device (default cpu)")
    s.add_argument("--nan", type=float, help="L* (0–100) to use for NaN/inf pixels instead of failing")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    b = sub.add_parser("batch", help="colour many files (Dask: local, or a dask.distributed cluster)")
    b.add_argument("inputs", nargs="+", help='input files or glob patterns, e.g. "IN/*.tif" (quote them)')
    b.add_argument("-o", "--output", required=True, help="output folder: <name>.png (TIFF inputs: <name>.tif) + <name>.<ext>.json sidecars")
    b.add_argument("--backend", default="propagate", choices=available())
    b.add_argument("--hints", help="hints CSV applied to every file (same format as colorize)")
    b.add_argument("--samples", type=int, default=1, help="proposals per file (several → <name>_0, <name>_1, …)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a backend option (as for colorize); repeatable")
    b.add_argument("--nan", type=float, help="L* (0–100) to use for NaN/inf pixels instead of failing")
    b.add_argument("--databar-gray", action="store_true", help="detect each file's instrument data bar and keep it gray")
    b.add_argument("--working-size", type=int)
    b.add_argument("--same-gray", type=float, default=0.0, metavar="S")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    b.add_argument("--workers", type=int, help="local parallel workers (default: one file at a time)")
    b.add_argument("--processes", action="store_true", help="local workers are processes, not threads")
    b.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address (e.g. tcp://host:8786; dask-jobqueue for SLURM/PBS)")
    b.add_argument("-q", "--quiet", action="store_true")

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
        if args.command == "segment":
            return _segment(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "batch":
            return _batch(args)
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


def _parse_options(items: list[str]) -> dict:
    """``["steps=20", "sampler=ddim"]`` → ``{"steps": 20, "sampler": "ddim"}`` (numbers read as numbers)."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SemcolorError(f"--option {item!r}: write KEY=VALUE, e.g. steps=20")
        for kind in (int, float):
            try:
                options[key.strip()] = kind(value)
                break
            except ValueError:
                continue
        else:
            options[key.strip()] = value.strip()
    return options


def _parse_references(items: list[str]) -> dict:
    from napari_semcolor.files.images import read_image

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


def _parse_region_colors(colors: list[str], grays: list[int]) -> dict:
    table: dict = {}
    for item in colors:
        key, sep, colour = item.partition("=")
        try:
            label = int(key)
        except ValueError:
            label = None
        if not sep or label is None:
            raise SemcolorError(f"--region-color {item!r}: expected LABEL=#RRGGBB with an integer label, e.g. 3=#cc3399")
        table[label] = colour
    for label in grays:
        table[label] = "gray"
    return table


def _segment(args) -> int:
    from napari_semcolor.files.images import read_image, write_image
    from napari_semcolor.segment import PARAMETERS, segment

    names = ("classes", "block_size", "offset", "objects", "separate", "smooth", "edge_sensitivity", "min_size", "fill_holes", "working_size", "device")
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    wrong = sorted(set(given) - set(PARAMETERS[args.method]))
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise SemcolorError(f"{flags} do(es) not apply to --method {args.method}")
    labels = segment(read_image(args.input), args.method, progress=_progress(args.quiet), nan=args.nan, **given)
    out_dtype = np.uint8 if labels.max() < 256 and args.output.lower().endswith(".png") else np.uint16 if labels.max() < 65536 else np.int32
    if args.output.lower().endswith(".png") and out_dtype == np.int32:
        raise SemcolorError(f"{labels.max()} regions do not fit in a PNG; write a .tif")
    path = write_image(args.output, labels.astype(out_dtype))
    if not args.quiet:
        print(f"{path}: {int(labels.max())} regions")
    return 0


def _colorize(args) -> int:
    from napari_semcolor import hints as hints_mod
    from napari_semcolor.files.images import create_tiff, numbered, read_image, write_result
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.files.sem_tiff import databar_mask, read_sem_tiff

    options = _parse_options(args.option)  # argument mistakes before reading anything
    pixel_size = None
    if Path(args.input).suffix.lower() in (".tif", ".tiff"):
        sem = read_sem_tiff(args.input, lazy=True)  # uncompressed TIFFs are memory-mapped
        image, pixel_size = sem.data, sem.pixel_size
    else:
        image = read_image(args.input)
    params = {
        "backend": args.backend,
        "hints": hints_mod.read_csv(args.hints) if args.hints else [],
        "n_samples": args.samples,
        "seed": args.seed,
        "options": options,
        "working_size": args.working_size,
        "nan": args.nan,
        "region_colors": _parse_region_colors(args.region_color, args.region_gray),
        "one_color_per_region": args.one_colour_per_region,
        "same_gray": args.same_gray,
    }
    if args.from_sidecar:
        params.update(_params_from_sidecar(args.from_sidecar))
    labels = read_image(args.labels) if args.labels else None
    keep_gray = databar_mask(image) if args.databar_gray and image.ndim == 2 else None
    n = params["n_samples"]
    tiff_out = Path(args.output).suffix.lower() in (".tif", ".tiff") and image.ndim == 2
    outs = [numbered(args.output, i, n) for i in range(n)]
    references = _parse_references(args.reference)
    try:
        result = colorize(
            image,
            labels=labels,
            references=references,
            progress=_progress(args.quiet),
            device=args.device,
            keep_gray=keep_gray,
            # a TIFF result is written tile by tile into a memory-mapped file, never whole in memory
            out=[create_tiff(p, (*image.shape, 3), pixel_size=pixel_size) for p in outs] if tiff_out else None,
            **params,
        )
    except BaseException:
        if tiff_out:  # no half-written results left behind
            for p in outs:
                Path(p).unlink(missing_ok=True)
        raise
    for out, rgb in zip(outs, result.rgb):
        if not tiff_out:
            write_result(out, rgb, pixel_size=pixel_size)
        if not args.quiet:
            print(out)
    if args.metadata:
        Path(args.metadata).write_text(json.dumps(result.metadata, indent=2))
    return 0


def _params_from_sidecar(path: str) -> dict:
    """colorize() arguments recorded in a run's metadata JSON."""
    from napari_semcolor.pipeline import params_from_metadata

    try:
        md = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SemcolorError(f"cannot read the sidecar {path}: {exc}") from exc
    if not isinstance(md, dict) or "backend" not in md:
        raise SemcolorError(f"{path} is not a napari-semcolor metadata file (it has no 'backend')")
    return params_from_metadata(md)


def _batch(args) -> int:
    from napari_semcolor import hints as hints_mod
    from napari_semcolor.batch import run_batch

    params = {
        "backend": args.backend,
        "hints": hints_mod.read_csv(args.hints) if args.hints else [],
        "n_samples": args.samples,
        "seed": args.seed,
        "options": _parse_options(args.option),
        "working_size": args.working_size,
        "nan": args.nan,
        "same_gray": args.same_gray,
        "device": args.device,
        "databar_gray": args.databar_gray,
    }

    def show(done: int, total: int, r) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {r.status:7} {r.input}" + (f" — {r.message}" if r.status == "failed" else ""), file=sys.stderr)

    results = run_batch(args.inputs, args.output, params, workers=args.workers, scheduler=args.scheduler, processes=args.processes, progress=show)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    print(f"{len(results)} files: {counts['done']} coloured, {counts['skipped']} up to date, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


def _demo(args) -> int:
    from napari_semcolor import hints as hints_mod
    from napari_semcolor.files.images import write_image
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
