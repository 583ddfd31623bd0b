"""The ``semcolor`` command: what each subcommand does (its flags are in :mod:`.cli_parser`).

    semcolor colorize IN -o OUT [--backend NAME] [--hints HINTS.csv] [--labels LABELS.tif]
                      [--reference LABEL=IMAGE ...] [--samples N] [--seed S] [--option KEY=VALUE ...]
                      [--region-color LABEL=#RRGGBB ...] [--region-gray LABEL ...] [--no-databar-gray]
    semcolor colorize STACK.tif|STACK.zarr -o OUT.tif|OUT.zarr [--through stack|planes] [--align]
                      [--spacing Z,Y,X] [colorize options]
    semcolor segment IN -o LABELS.tif [--method otsu|multiotsu|local|hed] [method options] [--no-skip-databar]
    semcolor batch "IN/*.tif" -o OUTDIR [colorize options]
    semcolor backends [NAME]
    semcolor demo -o DIR
    semcolor --version

Mistakes in the arguments exit 2 with a message before the image is read; so do files that
cannot be read or written. The data bar is kept gray (colorize, batch) and left out of the
regions (segment) by default, as in the docks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from napari_semcolor.cli_parser import build_parser
from napari_semcolor.errors import Cancelled, SemcolorError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``semcolor`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "colorize":
            return _colorize(args)
        if args.command == "segment":
            return _segment(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "batch":
            return _batch(args)
        if args.command == "backends":
            return _backends(args)
    except SemcolorError as exc:
        print(f"semcolor: error: {exc}", file=sys.stderr)
        return 2
    except Cancelled:
        print("semcolor: cancelled", file=sys.stderr)
        return 130
    except OSError as exc:  # a path that is a folder, a missing permission, a full disk: said, not a traceback
        print(f"semcolor: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    return 1


def _progress(quiet: bool):
    if quiet:
        return None

    def show(fraction: float, message: str) -> None:
        print(f"\r[{'#' * int(fraction * 30):<30}] {fraction:4.0%} {message:<40}", end="", file=sys.stderr, flush=True)
        if fraction >= 1:
            print(file=sys.stderr)

    return show


def _parse_options(items: list[str], backend: str) -> dict:
    """``["steps=20", "sampler=ddim"]`` → ``{"steps": 20, "sampler": "ddim"}``, checked against the backend's spec.

    The values stay text here; the spec types them. An unknown key or a bad value raises
    :class:`SemcolorError` with the backend's options, before any file is read.
    """
    from napari_semcolor.backends import get_spec

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SemcolorError(f"--option {item!r}: write KEY=VALUE, e.g. steps=20 (semcolor backends {backend} lists its options)")
        options[key.strip()] = value.strip()
    spec = get_spec(backend)
    spec.validate_options(options)
    return {key: spec.option(key).parse(value) for key, value in options.items()}


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
    _check_output(args.output, (args.input,))
    labels = segment(read_image(args.input), args.method, databar=args.skip_databar, progress=_progress(args.quiet), nan=args.nan, **given)
    out_dtype = np.uint8 if labels.max() < 256 and args.output.lower().endswith(".png") else np.uint16 if labels.max() < 65536 else np.int32
    if args.output.lower().endswith(".png") and out_dtype == np.int32:
        raise SemcolorError(f"{labels.max()} regions do not fit in a PNG; write a .tif")
    path = write_image(args.output, labels.astype(out_dtype))
    if not args.quiet:
        print(f"{path}: {int(labels.max())} regions")
    return 0


def _check_output(path: str, inputs: tuple = (), stack: bool = False) -> None:
    """Refuse an output the writers cannot make, or one that would overwrite an input, before any work is done."""
    from napari_semcolor.files.images import WRITE_SUFFIXES
    from napari_semcolor.files.stacks import check_stack_output

    if stack:
        check_stack_output(path)
    elif Path(path).suffix.lower() not in WRITE_SUFFIXES:
        raise SemcolorError(f"cannot write {path!r}: give an output ending in {', '.join(WRITE_SUFFIXES)}")
    out = Path(path).resolve()
    for given in inputs:
        if given and Path(given).resolve() == out:
            raise SemcolorError(f"the output {path} is an input of this run: writing it would replace your data; choose another -o")


def _common_params(args) -> dict:
    """The colorize() arguments that colorize and batch share, checked before any image is read."""
    from napari_semcolor import hints as hints_mod

    return {
        "backend": args.backend,
        "hints": hints_mod.read_csv(args.hints) if args.hints else [],
        "n_samples": args.samples,
        "seed": args.seed,
        "options": _parse_options(args.option, args.backend),
        "working_size": args.working_size,
        "nan": args.nan,
        "same_gray": args.same_gray,
    }


def _colorize(args) -> int:
    from napari_semcolor.files.images import create_tiff, numbered, read_image, write_result
    from napari_semcolor.files.sem_tiff import databar_mask, read_sem_tiff
    from napari_semcolor.files.stacks import is_zarr, read_stack
    from napari_semcolor.pipeline import colorize

    if args.one_colour_per_region_old:
        print("semcolor: --one-colour-per-region is deprecated; use --one-color-per-region", file=sys.stderr)
    params = {
        **_common_params(args),
        "region_colors": _parse_region_colors(args.region_color, args.region_gray),
        "one_color_per_region": args.one_color_per_region or args.one_colour_per_region_old,
    }
    sources = (args.input, args.labels, args.hints, args.from_sidecar, *(r.partition("=")[2] or r for r in args.reference))
    stack = _stack_checked(args)
    n = args.samples
    for i in range(n):  # several samples write OUT_0, OUT_1, …: none of them may be an input either
        _check_output(str(numbered(args.output, i, n)), sources, stack is not None)
    if args.metadata and Path(args.metadata).resolve() in {Path(s).resolve() for s in sources if s}:
        raise SemcolorError(f"--metadata {args.metadata} is an input of this run: writing it would replace your data")
    if args.from_sidecar:
        params.update(_params_from_sidecar(args.from_sidecar))
    if stack is not None:
        return _colorize_stack(args, params)
    pixel_size = databar_row = None
    if Path(args.input).suffix.lower() in (".tif", ".tiff"):
        sem = read_sem_tiff(args.input, lazy=True)  # uncompressed TIFFs are memory-mapped
        image, pixel_size, databar_row = sem.data, sem.pixel_size, sem.databar_row  # the row the metadata states, else detected
    elif is_zarr(args.input):  # a 2D zarr array, with the pixel size a semcolor zarr keeps
        stored, pixel_size = read_stack(args.input)
        image = np.asarray(stored)
    else:
        image = read_image(args.input)
    labels = read_image(args.labels) if args.labels else None
    keep_gray = databar_mask(image, databar_row) if args.databar_gray and image.ndim == 2 else None
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
        Path(args.metadata).parent.mkdir(parents=True, exist_ok=True)  # like the image outputs
        Path(args.metadata).write_text(json.dumps(result.metadata, indent=2))
    return 0


def _stack_checked(args) -> tuple[int, ...] | None:
    """The shape of the input if it is a stack (nothing read but its header); stack flags only for stacks."""
    from napari_semcolor.files.stacks import stack_shape

    shape = stack_shape(args.input)
    if shape is None and (args.through or args.align or args.spacing):
        raise SemcolorError(f"--through, --planes, --align and --spacing are for stacks; {args.input} is not a multi-page TIFF or zarr stack")
    if shape is not None and args.samples != 1:
        raise SemcolorError(f"{args.input} is a stack {shape}: a stack is coloured with one proposal; leave out --samples")
    return shape


def _colorize_stack(args, params: dict) -> int:
    """A stack: hints on any plane colour every plane; written plane by plane into a multi-page TIFF or zarr."""
    from napari_semcolor.pipeline.stack_file import colorize_stack_file, read_labels

    params.pop("n_samples", None)
    metadata, _ = colorize_stack_file(
        args.input, args.output, spacing=args.spacing, labels=read_labels(args.labels) if args.labels else None,
        databar_gray=args.databar_gray, references=_parse_references(args.reference), progress=_progress(args.quiet),
        device=args.device, through=args.through or "stack", align=args.align, **params,
    )
    if args.metadata:
        Path(args.metadata).parent.mkdir(parents=True, exist_ok=True)
        Path(args.metadata).write_text(json.dumps(metadata, indent=2, default=str))
    if not args.quiet:
        print(args.output)
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
    try:
        return _check_recorded(params_from_metadata(md))
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError, argparse.ArgumentTypeError) as exc:  # a damaged or hand-edited file
        raise SemcolorError(f"{path}: a recorded value cannot be used ({exc}); repair the file or give the flags instead") from None


def _check_recorded(params: dict) -> dict:
    """A sidecar's values held to the flags' ranges (working size: any recorded one ≥ 1)."""
    from napari_semcolor.cli_parser import MAX_SAMPLES, MAX_SEED, number, whole

    checks = {"seed": whole(0, MAX_SEED), "n_samples": whole(1, MAX_SAMPLES), "working_size": whole(1), "same_gray": number(0, 1), "nan": number(0, 100)}
    for key, check in checks.items():
        if key in params and (params[key] is not None or key in ("seed", "n_samples")):
            if isinstance(params[key], bool) or not isinstance(params[key], (int, float)):
                raise TypeError(f"{key} is {params[key]!r}, not a number")
            try:
                params[key] = check(str(params[key]))
            except argparse.ArgumentTypeError as exc:
                raise ValueError(f"{key}: {exc}") from None
    if "percentiles" in params:
        lo, hi = (number(0, 100)(str(v)) for v in params["percentiles"])
        if lo >= hi:
            raise ValueError(f"percentiles {lo}, {hi} are not low < high")
        params["percentiles"] = (lo, hi)
    for key in ("region_colors", "options"):
        if key in params and not isinstance(params[key], dict):
            raise TypeError(f"{key} is not a table (key: value)")
    return params


def _batch(args) -> int:
    from napari_semcolor.batch import run_batch

    params = {**_common_params(args), "device": args.device, "databar_gray": args.databar_gray}
    params.update({k: getattr(args, k) for k in ("through", "align", "spacing") if getattr(args, k)})  # stacks only

    def show(done: int, total: int, r) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {r.status:7} {r.input}" + (f" — {r.message}" if r.status == "failed" else ""), file=sys.stderr)

    results = run_batch(args.inputs, args.output, params, workers=args.workers, scheduler=args.scheduler, processes=args.processes, progress=show)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    print(f"{len(results)} files: {counts['done']} coloured, {counts['skipped']} up to date, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


def _backends(args) -> int:
    """List the backends, or describe one: what it can do and each option (name, type, range, default, help)."""
    from napari_semcolor.backends import available, get_spec

    if args.name is None:
        for name in available():
            print(f"{name:<10} {get_spec(name).summary}")
        print("\nsemcolor backends NAME lists a backend's options (--option KEY=VALUE).")
        return 0
    spec = get_spec(args.name)
    can = [what for what, flag in (("several proposals", spec.proposals), ("seeded", spec.seeded), ("uses torch (--device)", spec.uses_torch),
                                   ("colour references (--reference)", spec.references), ("live", spec.live), ("needs hints", spec.needs_hints)) if flag]
    print(f"{spec.name}: {spec.summary}")
    print(f"  working size {spec.working_size} px" + (f"; {', '.join(can)}" if can else ""))
    if not spec.options:
        print("  no options")
    for opt in spec.options:
        print(f"  --option {opt.name}=…  {opt.help}; {opt.expects().removeprefix('expected ')}" + ("  [advanced]" if opt.advanced else ""))
    return 0


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
