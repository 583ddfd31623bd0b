"""The ``semcolor`` command line: its subcommands and flags (a stable contract for scripts).

Defaults and ranges are the docks' (proposals 1–16, seed 0–2³¹−1, same gray 0, device auto, data
bar kept gray / left out of regions), so a run gives the same result from either. A number out of
range exits 2 with a message before any file is read.
"""

from __future__ import annotations

import argparse
import math

from napari_semcolor import __version__
from napari_semcolor.devices import DEVICES

DEVICE_CHOICES = list(DEVICES)
#: the docks' ranges, shared so that a setting means the same in both
MAX_SAMPLES = 16
MAX_SEED = 2**31 - 1
#: smallest working resolution (long side, pixels) that is still an image
MIN_WORKING_SIZE = 32


def whole(lo: int, hi: int | None = None):
    """An argparse type: a whole number in [lo, hi], else a message saying the range."""
    span = f"≥ {lo}" if hi is None else f"from {lo} to {hi}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {span}; got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected a whole number {span}; got {value}")
        return value

    return parse


def number(lo: float, hi: float):
    """An argparse type: a finite number in [lo, hi] (no NaN, no inf)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not lo <= value <= hi:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"expected a number from {lo:g} to {hi:g}; got {text!r}")
        return value

    return parse


def finite(text: str) -> float:
    """An argparse type: any finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from napari_semcolor.backends import available

    p = argparse.ArgumentParser(prog="semcolor", description="Colour grayscale microscopy images without altering their structure (L*).")
    p.add_argument("--version", action="version", version=f"napari-semcolor {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    _add_colorize(sub, available())
    _add_segment(sub)
    _add_batch(sub, available())

    k = sub.add_parser("backends", help="list the colouring backends, or one backend's options")
    k.add_argument("name", nargs="?", choices=available(), help="a backend: show what it can do and its options (for --option KEY=VALUE)")

    d = sub.add_parser("demo", help="colour the bundled synthetic SEM sample and write PNGs")
    d.add_argument("-o", "--output", default="demo", help="output folder (default: demo/)")
    d.add_argument("--backend", default="propagate", choices=available())
    return p


def _add_colorize(sub, backends: list[str]) -> None:
    c = sub.add_parser("colorize", help="colour one image or a stack")
    c.add_argument("input", help="gray image (PNG, TIFF, JPEG; 8 or 16 bit), or a stack: a multi-page TIFF or a .zarr array")
    c.add_argument(
        "-o", "--output", required=True,
        help="output PNG or TIFF; several samples → OUT_0, OUT_1, …; a stack → a multi-page TIFF (a page per plane) or a .zarr",
    )
    c.add_argument("--backend", default="propagate", choices=backends, help="colouring method (default: propagate)")
    c.add_argument(
        "--hints", help="CSV with header y,x,r,g,b[,size][,plane]: patch rows y…y+size−1, columns x…x+size−1, colour 0–255, "
        "plane of a stack from 0 (empty: every plane)",
    )
    c.add_argument("--labels", help="label image (same size as IN); region borders stop colour")
    c.add_argument("--reference", action="append", default=[], metavar="LABEL=IMAGE", help="colour reference for a region (0 = everything else); repeatable")
    c.add_argument("--samples", type=whole(1, MAX_SAMPLES), default=1, help=f"number of proposals, 1–{MAX_SAMPLES} (default 1)")
    c.add_argument("--seed", type=whole(0, MAX_SEED), default=0, help="random seed (default 0)")
    c.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="a backend option, e.g. steps=20 or temperature=1 (diffusion); repeatable"
    )
    c.add_argument(
        "--working-size", type=whole(MIN_WORKING_SIZE), help=f"long side of the working resolution, ≥ {MIN_WORKING_SIZE} px (default: the backend's)"
    )
    c.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="torch device (default auto)")
    c.add_argument("--nan", type=number(0, 100), help="L* (0–100) to use for NaN/inf pixels instead of failing")
    c.add_argument(
        "--region-color", action="append", default=[], metavar="LABEL=#RRGGBB",
        help="fill a region (needs --labels) with this colour at its own lightness; repeatable",
    )
    c.add_argument("--region-gray", action="append", default=[], type=int, metavar="LABEL", help="keep a region (needs --labels) neutral gray; repeatable")
    c.add_argument("--one-color-per-region", action="store_true", help="with --labels: each region takes its dominant colour")
    # the British spelling of 0.x, hidden and deprecated (one release)
    c.add_argument("--one-colour-per-region", dest="one_colour_per_region_old", action="store_true", help=argparse.SUPPRESS)
    c.add_argument(
        "--same-gray", type=number(0, 1), default=0.0, metavar="S", help="pull pixels of equal gray to one shared colour, strength 0–1 (default 0)"
    )
    c.add_argument(
        "--databar-gray", action=argparse.BooleanOptionalAction, default=True,
        help="detect the instrument data bar at the bottom and keep it gray (default; --no-databar-gray colours it)",
    )
    c.add_argument(
        "--from-sidecar", metavar="JSON",
        help="repeat a run: take backend, hints, seed and options from its metadata JSON (from --metadata or the napari writer)",
    )
    c.add_argument("--metadata", help="also write the run's metadata (JSON) here")
    _add_stack_flags(c)
    c.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def spacing_list(text: str) -> tuple[float, ...]:
    """An argparse type: ``Z,Y,X`` voxel sizes, positive finite numbers (any one unit)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers Z,Y,X (one per stack axis, any one unit), e.g. 50,5,5; got {text!r}")
    return values


def _add_stack_flags(p) -> None:
    """Flags for stacks (a multi-page TIFF or a zarr array): how hints reach the other planes."""
    p.add_argument(
        "--through", choices=["stack", "planes"],
        help="stacks: colour through the stack, hints on a few planes colour every plane (default), or each plane on its own",
    )
    p.add_argument("--planes", dest="through", action="store_const", const="planes", help="stacks: the same as --through planes")
    p.add_argument("--align", action="store_true", help="stacks: align consecutive planes first (drifting stacks, time series)")
    p.add_argument(
        "--spacing", type=spacing_list, metavar="Z,Y,X",
        help="stacks: voxel size along each axis, in one unit (default: the TIFF's pixel size in-plane and the same along z)",
    )


def _add_segment(sub) -> None:
    from napari_semcolor.segment import HELP, METHODS, PARAMETERS

    s = sub.add_parser("segment", help="segment an image into regions (a label image)")
    s.add_argument("input", help="gray image (PNG, TIFF, JPEG; 8 or 16 bit)")
    s.add_argument("-o", "--output", required=True, help="output label image (.tif: uint16/int32; .png: uint8/uint16)")
    s.add_argument("--method", default="otsu", choices=METHODS, help="segmentation method (default: otsu)")
    s.add_argument("--classes", type=whole(2, 6), help=f"multiotsu: {HELP['classes']} (default {PARAMETERS['multiotsu']['classes']})")
    s.add_argument("--block-size", type=whole(3), help=f"local: {HELP['block_size']} (default {PARAMETERS['local']['block_size']})")
    s.add_argument("--offset", type=finite, help=f"local: {HELP['offset']} (default 0)")
    s.add_argument("--objects", choices=["auto", "bright", "dark"], help=f"otsu, local: {HELP['objects']}")
    s.add_argument(
        "--separate", action=argparse.BooleanOptionalAction, default=None,
        help="otsu, local, multiotsu: number each connected object separately (default: yes for otsu/local, no for multiotsu)",
    )
    s.add_argument("--smooth", type=number(0, 50), help=f"thresholds: {HELP['smooth']} (default 1)")
    s.add_argument("--edge-sensitivity", type=number(0, 1), help=f"hed: {HELP['edge_sensitivity']} (default 0.5)")
    s.add_argument("--min-size", type=whole(0), help=f"{HELP['min_size']} (default 64)")
    s.add_argument("--no-fill-holes", dest="fill_holes", action="store_false", default=None, help="thresholds: keep holes inside regions")
    s.add_argument("--working-size", type=whole(MIN_WORKING_SIZE), help=f"hed: {HELP['working_size']} (default {PARAMETERS['hed']['working_size']})")
    s.add_argument("--device", choices=DEVICE_CHOICES, help=f"hed: torch device (default {PARAMETERS['hed']['device']})")
    s.add_argument(
        "--skip-databar", action=argparse.BooleanOptionalAction, default=True,
        help="leave the instrument data bar at the bottom out of the regions (default; --no-skip-databar segments it too)",
    )
    s.add_argument("--nan", type=number(0, 100), help="L* (0–100) to use for NaN/inf pixels instead of failing")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _add_batch(sub, backends: list[str]) -> None:
    b = sub.add_parser("batch", help="colour many files (Dask: local, or a dask.distributed cluster)")
    b.add_argument("inputs", nargs="+", help='input files or glob patterns, e.g. "IN/*.tif" (quote them)')
    b.add_argument("-o", "--output", required=True, help="output folder: <name>.png (TIFF inputs: <name>.tif) + <name>.<ext>.json sidecars")
    b.add_argument("--backend", default="propagate", choices=backends)
    b.add_argument("--hints", help="hints CSV applied to every file (same format as colorize)")
    b.add_argument("--samples", type=whole(1, MAX_SAMPLES), default=1, help="proposals per file (several → <name>_0, <name>_1, …)")
    b.add_argument("--seed", type=whole(0, MAX_SEED), default=0)
    b.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a backend option (as for colorize); repeatable")
    b.add_argument("--nan", type=number(0, 100), help="L* (0–100) to use for NaN/inf pixels instead of failing")
    b.add_argument(
        "--databar-gray", action=argparse.BooleanOptionalAction, default=True,
        help="detect each file's instrument data bar and keep it gray (default; --no-databar-gray colours it)",
    )
    b.add_argument("--working-size", type=whole(MIN_WORKING_SIZE))
    b.add_argument("--same-gray", type=number(0, 1), default=0.0, metavar="S")
    b.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    b.add_argument("--workers", type=whole(1), help="local parallel workers (default: one file at a time)")
    b.add_argument("--processes", action="store_true", help="local workers are processes, not threads")
    _add_stack_flags(b)
    b.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address (e.g. tcp://host:8786; dask-jobqueue for SLURM/PBS)")
    b.add_argument("-q", "--quiet", action="store_true")
