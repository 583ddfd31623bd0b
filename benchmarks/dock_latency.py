"""The Colourize dock's live latency, driven like a user: a hint added to the Points layer → the
output layer's data changing (the preview), and → the full-resolution result replacing it.

A real napari window (run it under Xvfb), the real dock in live mode with ``propagate``, one
image per size (the bundled generator's particles; 2048² is the 1024² image enlarged 2 × 2 with
``np.kron``, since generating it directly is slow). Per size: one warm-up edit (the session's
first run: L*, the graph and its factorisation), then ``--edits`` edits, each waiting until the
full result is shown and ``--settle`` seconds more (the canvas draws it, as before a user's next
click); the medians are printed as a markdown table with the load average.

    xvfb-run -a -s "-screen 0 1400x900x24" python benchmarks/dock_latency.py [--sizes 512 2048] [--edits 5]

With ``--interval 0.3``: one click every 0.3 s without waiting (the previous edit's full run is
cancelled by the next click), the time from each click to the first preview that includes it.
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


def _image(size: int) -> np.ndarray:
    from napari_semcolor.synthetic import make_sem

    if size <= 1024:
        return make_sem((size, size), "particles", seed=1).image
    base = make_sem((1024, 1024), "particles", seed=1).image
    k = size // 1024
    return np.kron(base, np.ones((k, k), base.dtype))


def _wait(app, condition, timeout: float = 120.0) -> None:
    """Run the Qt event loop (idle, not spinning: the workers get the CPU) until ``condition()``."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop, timer = QEventLoop(), QTimer()
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start(5)
    deadline = time.perf_counter() + timeout
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    timer.stop()
    if not condition() and time.perf_counter() >= deadline:
        raise TimeoutError("the dock did not answer in time")


def _settle(app, seconds: float) -> None:
    """Run the Qt event loop for ``seconds``: the canvas draws what was just shown (uploading a
    full-resolution result to the GPU takes a llvmpipe canvas ~0.2 s at 8192²), as it would
    before a user's next click."""
    end = time.perf_counter() + seconds
    _wait(app, lambda: time.perf_counter() >= end, timeout=seconds + 5)


def measure(viewer, app, size: int, edits: int, settle: float = 0.3) -> dict:
    """Seconds from each edit to the preview and to the full result (first edit apart)."""
    from napari_semcolor._widgets.hints_layer import make_hints_layer, set_hint_color

    image = viewer.add_image(_image(size), name=f"sem{size}")
    points = make_hints_layer(viewer, image, COLOURS[0])  # the default hint size, as a user gets it
    dock_widget, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    dock.image.value, dock.hints.value, dock.backend.value = image, points, "propagate"
    dock.live.value = True
    events: list[tuple[float, str]] = []
    watched = []

    def on_data(*_):
        events.append((time.perf_counter(), dock._output.metadata["semcolor"]["resolution"]))

    def done() -> bool:
        out = dock._output
        if out is not None and out not in watched:
            watched.append(out)
            out.events.data.connect(on_data)
            events.append((time.perf_counter(), out.metadata["semcolor"]["resolution"]))  # new layer: its data just appeared
        return out is not None and not dock.live_part.busy and out.metadata["semcolor"]["resolution"] == "full"

    rng = np.random.default_rng(size)
    rows = []
    for k in range(edits + 1):
        events.clear()
        set_hint_color(points, COLOURS[k % len(COLOURS)])
        t0 = time.perf_counter()
        points.add(rng.uniform(0.1, 0.9, 2) * size)
        _wait(app, done)
        _settle(app, settle)
        preview = next((t for t, r in events if r == "preview"), float("nan"))
        full = max(t for t, r in events if r == "full")
        rows.append((preview - t0, full - t0))
    viewer.window.remove_dock_widget(dock_widget)
    viewer.layers.clear()
    return {"size": size, "first": rows[0], "preview": statistics.median(r[0] for r in rows[1:]), "full": statistics.median(r[1] for r in rows[1:]), "n": edits}


def measure_clicking(viewer, app, size: int, edits: int, interval: float) -> dict:
    """One click every ``interval`` seconds, not waiting for anything: seconds from each click to
    the first preview that includes it, and the full-resolution runs started (none may queue)."""
    from napari_semcolor._widgets.hints_layer import make_hints_layer, set_hint_color

    image = viewer.add_image(_image(size), name=f"sem{size}")
    points = make_hints_layer(viewer, image, COLOURS[0])
    dock_widget, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    dock.image.value, dock.hints.value, dock.backend.value = image, points, "propagate"
    dock.live.value = True
    shown: list[tuple[float, int]] = []  # (time, hints in the preview)
    show = dock.show_preview

    def spy(job, preview):
        show(job, preview)
        shown.append((time.perf_counter(), len(job["hints"])))

    dock.show_preview = spy
    rng = np.random.default_rng(size)
    set_hint_color(points, COLOURS[0])
    points.add(rng.uniform(0.1, 0.9, 2) * size)  # warm-up: the session's first run
    _wait(app, lambda: dock._output is not None and not dock.live_part.busy)
    clicks = []
    for k in range(edits):
        set_hint_color(points, COLOURS[(k + 1) % len(COLOURS)])
        clicks.append((time.perf_counter(), len(points.data) + 1))
        points.add(rng.uniform(0.1, 0.9, 2) * size)
        t_next = clicks[-1][0] + interval
        _wait(app, lambda t_next=t_next: time.perf_counter() >= t_next, timeout=interval + 5)
    _wait(app, lambda: not dock.live_part.busy and dock._output.metadata["semcolor"]["resolution"] == "full")
    latencies = [next((t - t0 for t, n in shown if n >= count and t >= t0), float("nan")) for t0, count in clicks]
    live = dock.live_part
    viewer.window.remove_dock_widget(dock_widget)
    viewer.layers.clear()
    return {
        "size": size, "median": statistics.median(latencies), "worst": max(latencies), "n": edits,
        "full": (live.full_started, live.full_finished, live.full_cancelled, live.full_max_running),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--settle", type=float, default=0.3, help="seconds between a full result and the next edit")
    parser.add_argument("--interval", type=float, help="click every INTERVAL seconds without waiting (live mode keeping up)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    from live_latency import reference_seconds

    load, reference = os.getloadavg(), reference_seconds()
    if args.interval:
        results = [measure_clicking(viewer, app, size, args.edits, args.interval) for size in args.sizes]
    else:
        results = [measure(viewer, app, size, args.edits, args.settle) for size in args.sizes]
    load_after, reference_after = os.getloadavg(), reference_seconds()
    viewer.close()
    fmt = " ".join
    print(f"load average (1, 5, 15 min): before {fmt(f'{v:.2f}' for v in load)}, after {fmt(f'{v:.2f}' for v in load_after)}; {os.cpu_count()} CPUs")
    print(f"reference (20 × 512² float64 matmuls, best of 3): before {reference:.3f} s, after {reference_after:.3f} s\n")
    if args.interval:
        head = f"click → its preview, one click per {args.interval} s (median) | worst | full runs started / finished / cancelled / most at once"
        print(f"| image | {head} | clicks |")
        print("|---|---|---|---|---|")
        for r in results:
            print(f"| {r['size']}² | {r['median'] * 1000:.0f} ms | {r['worst'] * 1000:.0f} ms | {' / '.join(str(v) for v in r['full'])} | {r['n']} |")
        return
    print("| image | edit → preview (median) | edit → full result (median) | first edit: preview / full | edits |")
    print("|---|---|---|---|---|")
    for r in results:
        first_preview, first_full = r["first"]
        print(f"| {r['size']}² | {r['preview'] * 1000:.0f} ms | {r['full']:.2f} s | {first_preview * 1000:.0f} ms / {first_full:.2f} s | {r['n']} |")


if __name__ == "__main__":
    main()
