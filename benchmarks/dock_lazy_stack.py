"""Live colouring in the Colourize dock on a lazy stack (dask, zarr) against the same stack in memory.

A real napari window (run it under Xvfb), the real dock in live mode, one generated stack
(``make_sem_volume``) added three ways: a numpy array (the reference), a dask array read from a
zarr store on disk (``dask.array.from_zarr``, one chunk per plane) and that zarr array itself.
Per case and backend: the slider at one plane, a warm-up hint (the session's first run), then
``--edits`` hints on that plane one after another, each waiting until the full-resolution result
is shown and ``--settle`` seconds more. Printed: click → preview and click → full result (best /
median over the edits after the warm-up), the :class:`~napari_semcolor.session.Session` objects
built (constructions counted, the warm-up's included) and the plane chunks read from the store
per edit (counted in zarr's ``LocalStore.get``; 0 for numpy).

    xvfb-run -a -s "-screen 0 1400x900x24" python benchmarks/dock_lazy_stack.py [--shape 20x1024x1024] [--edits 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

# the docks remember their settings: start every run from the defaults, never from (or into) the user's own
os.environ.setdefault("NAPARI_SEMCOLOR_CONFIG_DIR", tempfile.mkdtemp(prefix="semcolor-settings-"))

COLOURS = ["#e61a1a", "#1a4de6", "#20b040", "#e6b01a", "#b01ae6", "#1ab0e6"]


class Counters:
    """Session constructions and zarr chunk reads, counted from any thread."""

    def __init__(self):
        import zarr.storage

        from napari_semcolor.session import Session

        self.sessions = self.chunks = 0
        init, get = Session.__init__, zarr.storage.LocalStore.get

        def counted_init(session, *args, **kwargs):
            self.sessions += 1
            init(session, *args, **kwargs)

        async def counted_get(store, key, *args, **kwargs):
            if not key.endswith("zarr.json"):
                self.chunks += 1
            return await get(store, key, *args, **kwargs)

        Session.__init__ = counted_init
        zarr.storage.LocalStore.get = counted_get


def _stacks(image: np.ndarray, folder: str) -> dict:
    """The stack as numpy, as dask over a zarr store on disk, and as that zarr array."""
    import dask.array as da
    import zarr

    store = zarr.storage.LocalStore(os.path.join(folder, "stack.zarr"))
    z = zarr.create_array(store, shape=image.shape, chunks=(1, *image.shape[1:]), dtype=image.dtype)
    z[:] = image
    return {"numpy": image, "dask (from_zarr)": da.from_zarr(z), "zarr": zarr.open_array(store, mode="r")}


def _wait(condition, timeout: float = 300.0) -> None:
    """Run the Qt event loop (idle: the workers get the CPU) until ``condition()``."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop, timer = QEventLoop(), QTimer()
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start(5)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the dock did not answer in time")


def _settle(seconds: float) -> None:
    end = time.perf_counter() + seconds
    _wait(lambda: time.perf_counter() >= end, timeout=seconds + 5)


def measure(viewer, counters: Counters, data, name: str, backend: str, plane: int, edits: int, settle: float) -> dict:
    """Click → preview / full (s) for each edit, sessions built and chunks read per edit."""
    from napari_semcolor._widgets.hints_layer import make_hints_layer, set_hint_color

    image = viewer.add_image(data, name=name)
    viewer.dims.set_current_step(0, plane)
    points = make_hints_layer(viewer, image, COLOURS[0])
    dock_widget, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    dock.image.value, dock.hints.value, dock.backend.value = image, points, backend
    dock.live.value = True
    shown: list[tuple[float, str]] = []
    show, add = dock.show_preview, dock._add_result

    def spy_preview(job, preview):
        show(job, preview)
        shown.append((time.perf_counter(), "preview"))

    def spy_full(*args, **kwargs):
        out = add(*args, **kwargs)
        shown.append((time.perf_counter(), "full"))
        return out

    dock.show_preview, dock._add_result = spy_preview, spy_full

    def done() -> bool:
        out = dock._output
        return out is not None and not dock.live_part.busy and out.metadata["semcolor"]["resolution"] == "full"

    h, w = data.shape[1:]
    rng = np.random.default_rng(plane)
    sessions0 = counters.sessions
    rows = []
    for k in range(edits + 1):
        shown.clear()
        set_hint_color(points, COLOURS[k % len(COLOURS)])
        chunks0, t0 = counters.chunks, time.perf_counter()
        points.add(np.array([plane, *(rng.uniform(0.1, 0.9, 2) * (h, w))]))
        try:
            _wait(done)
        except TimeoutError as exc:
            raise TimeoutError(f"{name}, {backend}, edit {k}: the dock says {dock.status.value!r}") from exc
        chunks = counters.chunks - chunks0
        _settle(settle)
        preview = next((t for t, r in shown if r == "preview"), float("nan"))
        full = max(t for t, r in shown if r == "full")
        rows.append((preview - t0, full - t0, chunks))
    sessions = counters.sessions - sessions0
    dock.live.value = False  # a removed dock still follows the viewer's layers: it must not colour the next case's
    viewer.window.remove_dock_widget(dock_widget)
    viewer.layers.clear()
    later = rows[1:]
    return {
        "case": name, "backend": backend, "first": rows[0][:2], "sessions": sessions, "edits": edits,
        "preview": (min(r[0] for r in later), statistics.median(r[0] for r in later)),
        "full": (min(r[1] for r in later), statistics.median(r[1] for r in later)),
        "chunks": statistics.median(r[2] for r in later),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="20x1024x1024", help="planes x height x width")
    parser.add_argument("--backends", nargs="+", default=["propagate", "eecnn"])
    parser.add_argument("--edits", type=int, default=4, help="edits after the warm-up edit")
    parser.add_argument("--plane", type=int, default=7)
    parser.add_argument("--settle", type=float, default=0.3, help="seconds between a full result and the next edit")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import napari

    from napari_semcolor.synthetic_volume import make_sem_volume

    shape = tuple(int(v) for v in args.shape.split("x"))
    image = make_sem_volume(shape, seed=1).image
    plane = min(args.plane, shape[0] - 1)
    counters = Counters()
    viewer = napari.Viewer(show=True)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="semcolor-lazy-") as folder:
        stacks = _stacks(image, folder)
        results = [
            measure(viewer, counters, data, name, backend, plane, args.edits, args.settle)
            for backend in args.backends
            for name, data in stacks.items()
        ]
    load_after = os.getloadavg()
    viewer.close()
    fmt = " ".join
    print(f"\nstack {args.shape} uint8, plane {plane}; load average (1, 5, 15 min): before {fmt(f'{v:.2f}' for v in load)}, "
          f"after {fmt(f'{v:.2f}' for v in load_after)}; {os.cpu_count()} CPUs\n")
    head = "click → preview, best / median | click → full, best / median | first edit: preview / full | Sessions built | plane chunks read per edit"
    print(f"| backend | stack | {head} |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        (pb, pm), (fb, fm), (p1, f1) = r["preview"], r["full"], r["first"]
        print(f"| {r['backend']} | {r['case']} | {pb * 1000:.0f} / {pm * 1000:.0f} ms | {fb:.2f} / {fm:.2f} s | {p1 * 1000:.0f} ms / {f1:.2f} s "
              f"| {r['sessions']} for {r['edits'] + 1} edits | {r['chunks']:g} |")


if __name__ == "__main__":
    main()
