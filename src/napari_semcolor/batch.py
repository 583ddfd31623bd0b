"""Batch colouring of many files with Dask: local threads/processes, or a dask.distributed cluster.

Each file is one task: read → :func:`napari_semcolor.pipeline.colorize` → write the result and a
JSON sidecar. A failing file is reported and the batch goes on. A file whose output and sidecar
already exist, made from the same input bytes with the same parameters, is skipped, so an
interrupted batch resumes where it stopped. For SLURM/PBS clusters start a cluster with
dask-jobqueue (e.g. ``SLURMCluster(cores=8, memory="16GB").scale(jobs=4)``) and pass its
scheduler address.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from napari_semcolor.errors import SemcolorError
from napari_semcolor.weights import sha256_of

#: parameters for stacks only (:func:`~napari_semcolor.pipeline.stack_file.colorize_stack_file`)
STACK_KEYS = ("through", "align", "spacing")


@dataclass
class FileResult:
    """What happened to one input file."""

    input: str
    output: str
    status: str  # "done", "skipped" or "failed"
    message: str = ""
    seconds: float = 0.0


def expand_inputs(patterns: list[str] | str) -> list[Path]:
    """Files matching the glob pattern(s), sorted, without duplicates."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    files = sorted({Path(p) for pattern in patterns for p in glob.glob(pattern, recursive=True) if Path(p).is_file()})
    if not files:
        raise SemcolorError(f"no input files match {' '.join(patterns)}")
    return files


def output_path(src: Path, out_dir: Path, suffix: str | None = None) -> Path:
    """Where the result of ``src`` goes: ``OUT/<stem>.<suffix>`` (TIFF stays TIFF, others → PNG)."""
    if suffix is None:
        suffix = ".tif" if src.suffix.lower() in (".tif", ".tiff") else ".png"
    return out_dir / f"{src.stem}{suffix}"


def _fingerprint(src: Path, params: dict) -> str:
    h = hashlib.sha256(sha256_of(src).encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _sidecar(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def _up_to_date(out: Path, fingerprint: str) -> bool:
    """True if ``out`` and its sidecar exist and the sidecar was written for ``fingerprint``."""
    sidecar = _sidecar(out)
    if not (out.is_file() and sidecar.is_file()):
        return False
    try:
        return json.loads(sidecar.read_text()).get("batch_fingerprint") == fingerprint
    except ValueError:
        return False  # a damaged sidecar: redo the file


def _metadata(metadata: dict, src: Path, fingerprint: str, index: int, count: int) -> dict:
    extra = {"proposal": index} if count > 1 else {}
    return {**metadata, **extra, "input": str(src), "batch_fingerprint": fingerprint}


def process_file(src: str | Path, out: str | Path, params: dict) -> FileResult:
    """Colour one file (the unit of work of a batch); never raises for a bad file."""
    import time

    from napari_semcolor.files.images import create_tiff, numbered, read_image, write_result, write_sidecar
    from napari_semcolor.files.sem_tiff import databar_mask, read_sem_tiff
    from napari_semcolor.files.stacks import stack_shape
    from napari_semcolor.pipeline import colorize

    src, out = Path(src), Path(out)
    t0 = time.perf_counter()
    try:
        fingerprint = _fingerprint(src, params)
        n = int(params.get("n_samples", 1))
        outs = [numbered(out, i, n) for i in range(n)]  # OUT, or OUT_0 … OUT_{n-1} for proposals
        if all(_up_to_date(o, fingerprint) for o in outs):
            return FileResult(str(src), str(out), "skipped", "output is up to date")
        for o in outs:  # an interrupted write must not look up to date
            _sidecar(o).unlink(missing_ok=True)
        if stack_shape(src) is not None:
            return _process_stack(src, out, params, fingerprint, t0)
        params = {k: v for k, v in params.items() if k not in STACK_KEYS}
        pixel_size = databar_row = None
        if src.suffix.lower() in (".tif", ".tiff"):
            sem = read_sem_tiff(src, lazy=True)  # uncompressed TIFFs are memory-mapped
            image, pixel_size, databar_row = sem.data, sem.pixel_size, sem.databar_row
        else:
            image = read_image(src)
        kwargs = {k: v for k, v in params.items() if k != "databar_gray"}
        if params.get("databar_gray", True) and image.ndim == 2:  # kept gray by default, as in the dock and the CLI
            kwargs["keep_gray"] = databar_mask(image, databar_row)
        if out.suffix.lower() in (".tif", ".tiff") and image.ndim == 2:
            try:  # written tile by tile into memory-mapped TIFFs
                result = colorize(image, **kwargs, out=[create_tiff(o, (*image.shape, 3), pixel_size=pixel_size) for o in outs])
            except BaseException:
                for o in outs:
                    o.unlink(missing_ok=True)
                raise
            for i, (o, written) in enumerate(zip(outs, result.rgb)):
                written.flush()
                write_sidecar(o, _metadata(result.metadata, src, fingerprint, i, n), pixel_size)
        else:
            result = colorize(image, **kwargs)
            for i, o in enumerate(outs):
                write_result(o, result.rgb[i], pixel_size=pixel_size, metadata=_metadata(result.metadata, src, fingerprint, i, n))
        return FileResult(str(src), str(out), "done", seconds=time.perf_counter() - t0)
    except Exception as exc:  # one bad file must not stop the batch
        return FileResult(str(src), str(out), "failed", f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)


def _process_stack(src: Path, out: Path, params: dict, fingerprint: str, t0: float) -> FileResult:
    """A stack (multi-page TIFF): coloured through its planes into a multi-page TIFF, plane by plane."""
    import time

    from napari_semcolor.files.images import write_sidecar
    from napari_semcolor.pipeline.stack_file import colorize_stack_file

    if int(params.get("n_samples", 1)) != 1:
        raise SemcolorError("a stack is coloured with one proposal; leave out --samples")
    kwargs = {k: v for k, v in params.items() if k != "n_samples"}
    metadata, pixel_size = colorize_stack_file(src, out, **kwargs)
    write_sidecar(out, _metadata(metadata, src, fingerprint, 0, 1), pixel_size)
    return FileResult(str(src), str(out), "done", seconds=time.perf_counter() - t0)


def _refuse_overwriting(files: list[Path], out_dir: Path, n: int) -> None:
    """Raise before any work if a result or its sidecar would replace one of the inputs."""
    from napari_semcolor.files.images import numbered

    inputs = {f.resolve() for f in files}
    for f in files:
        for o in (numbered(output_path(f, out_dir), i, n) for i in range(n)):
            if o.resolve() in inputs or _sidecar(o).resolve() in inputs:
                raise SemcolorError(
                    f"the result of {f} would be written over an input ({o}): writing it would replace your data; "
                    "choose another output folder (-o)"
                )


def run_batch(
    inputs: list[str] | str, out_dir: str | Path, params: dict | None = None, *,
    workers: int | None = None, scheduler: str | None = None, processes: bool = False, progress=None,
) -> list[FileResult]:
    """Colour every input file; returns one :class:`FileResult` per file, in input order.

    Parameters
    ----------
    inputs : glob pattern(s)
    out_dir : folder for results and sidecars (created)
    params : dict
        Keyword arguments of :func:`napari_semcolor.pipeline.colorize` (backend, hints, seed, …),
        and ``databar_gray`` (default True: each file's instrument data bar is kept gray). A stack
        (multi-page TIFF) is coloured through its planes into a multi-page TIFF, with ``through``,
        ``align`` and ``spacing`` (:func:`~napari_semcolor.pipeline.colorize_stack`) if given.
    workers : int, optional
        Local parallelism (default: Dask's).
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``), or a
        ``distributed.Client``; local threads/processes when omitted.
    processes : bool
        Locally, use processes instead of threads.
    progress : callable(done, total, FileResult), optional
    """
    import dask

    params = dict(params or {})
    files = expand_inputs(inputs)
    out_dir = Path(out_dir)
    _refuse_overwriting(files, out_dir, int(params.get("n_samples", 1)))
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [dask.delayed(process_file, pure=False)(str(f), str(output_path(f, out_dir)), params) for f in files]
    if scheduler is None:
        get = "processes" if processes else "threads"
        if workers is not None and workers > 1:
            results = list(dask.compute(*tasks, scheduler=get, num_workers=workers))
            for i, r in enumerate(results):
                if progress:
                    progress(i + 1, len(tasks), r)
            return results
        results = []
        for i, task in enumerate(tasks):  # one at a time: honest progress, bounded memory
            results.append(task.compute(scheduler=get))
            if progress:
                progress(i + 1, len(tasks), results[-1])
        return results
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SemcolorError("a scheduler address needs dask.distributed: pip install 'napari-semcolor[batch]'") from None

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.compute(tasks)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(futures)
        for done, future in enumerate(as_completed(futures), start=1):
            results[index[future.key]] = future.result()
            if progress:
                progress(done, len(futures), results[index[future.key]])
        return results
    finally:
        if not isinstance(scheduler, Client):
            client.close()
