"""Re-make the documentation screenshots from the real plugin, headless.

    xvfb-run -a -s "-screen 0 1400x900x24" python docs/make_screenshots.py

Needs an X server (Xvfb) because napari's canvas needs OpenGL; writes PNGs to docs/images/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "images"


def _wait(viewer, predicate, timeout: float = 120.0) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    t0 = time.time()
    while not predicate():
        QApplication.processEvents()
        if time.time() - t0 > timeout:
            raise TimeoutError("the plugin did not finish in time")
        time.sleep(0.05)


def main() -> None:
    import napari

    from napari_semcolor._widgets.hints_layer import HINT_FEATURE

    OUT.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("napari-semcolor", "sem")
    image = viewer.layers["SEM sample"]
    hints = viewer.layers["SEM sample hints"]

    _, hints_widget = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colour hints")
    hints_widget.image.value = image
    _, seg = viewer.window.add_plugin_dock_widget("napari-semcolor", "Segment")
    _, colour = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    colour.image.value = image
    colour.hints.value = hints
    colour.run()
    _wait(viewer, lambda: "SEM sample (propagate)" in viewer.layers and colour.run_button.enabled)
    hints.visible = True
    viewer.layers.selection.active = hints
    viewer.reset_view()
    _dismiss_notifications(viewer)
    viewer.window._qt_window.repaint()
    _save(viewer, "napari_colourize.png")

    result = viewer.layers["SEM sample (propagate)"].data
    gray = np.repeat(image.data[..., None], 3, axis=-1)
    import imageio.v3 as iio

    iio.imwrite(OUT / "demo_propagate.png", np.concatenate([gray, result], axis=1))
    assert HINT_FEATURE in hints.features.columns
    viewer.close()


def _dismiss_notifications(viewer) -> None:
    # toasts (e.g. napari's PyQt5 deprecation notice) would cover part of the canvas
    from qtpy.QtWidgets import QWidget

    for widget in viewer.window._qt_window.findChildren(QWidget):
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()


def _save(viewer, name: str) -> None:
    import imageio.v3 as iio

    shot = viewer.screenshot(canvas_only=False, flash=False)
    iio.imwrite(OUT / name, shot)
    print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
