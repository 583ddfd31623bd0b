"""One "all planes" run of the Colourize dock on a generated stack, driven like a user (issue 16).

A real napari window (run it under Xvfb), the real dock, ``propagate`` through the stack, hints
(one per region) on every tenth plane; the time from Run to the result layer being shown, and the
time of the core call alone (``colorize_stack`` on the same stack, same process, after the dock's
run) for reference. Prints a markdown table with the load average.

    xvfb-run -a -s "-screen 0 1400x900x24" python benchmarks/dock_volume.py [--shapes 30x256x256 100x512x512]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

# the docks remember their settings: start every run from the defaults, never from (or into) the user's own
os.environ.setdefault("NAPARI_SEMCOLOR_CONFIG_DIR", tempfile.mkdtemp(prefix="semcolor-settings-"))


def _hints(volume, every: int = 10) -> list:
    from napari_semcolor.synthetic_volume import region_hints

    return [h for k in range(0, len(volume.image), every) for h in region_hints(volume.labels, k).values()]


def measure(viewer, shape: tuple[int, int, int]) -> dict:
    from qtpy.QtWidgets import QApplication

    from napari_semcolor.hints import to_points
    from napari_semcolor.pipeline import colorize_stack
    from napari_semcolor.synthetic_volume import make_sem_volume

    volume = make_sem_volume(shape, seed=1, drift=(0.3, 0.2))
    hints = _hints(volume)
    name = "x".join(map(str, shape))
    image = viewer.add_image(volume.image, name=name, scale=(3.0, 1.0, 1.0))
    coords, sizes, colors = to_points(hints)
    points = viewer.add_points(coords, name=f"{name} hints", size=sizes, features={"hint": colors}, scale=(3.0, 1.0, 1.0))
    _, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    dock.image.value, dock.hints.value, dock.planes.value = image, points, "all planes"
    t0 = time.perf_counter()
    dock.run()
    while not (f"{name} (propagate)" in viewer.layers and dock.run_button.enabled):
        QApplication.processEvents()
        time.sleep(0.01)
    dock_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    colorize_stack(volume.image, "propagate", hints, spacing=(3.0, 1.0, 1.0))
    core_seconds = time.perf_counter() - t0
    viewer.layers.clear()
    return {"shape": name, "hints": len(hints), "dock": dock_seconds, "core": core_seconds, "status": dock.status.value}


def main() -> None:
    import napari

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["30x256x256", "100x512x512"])
    args = parser.parse_args()
    viewer = napari.Viewer(show=True)
    rows = [measure(viewer, tuple(int(v) for v in s.split("x"))) for s in args.shapes]
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores\n")
    print("| stack (z×y×x) | hints | Run → layer shown (s) | colorize_stack alone, warm (s) | dock status |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['hints']} | {r['dock']:.1f} | {r['core']:.1f} | {r['status']} |")
    viewer.close()


if __name__ == "__main__":
    main()
