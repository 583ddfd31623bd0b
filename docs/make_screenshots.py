"""Re-make the documentation screenshots from the real plugin, headless.

    xvfb-run -a -s "-screen 0 1400x900x24" env PYTHONPATH=src python docs/make_screenshots.py [SHOT ...]

SHOT: one or more of colourize, hints, segment, regions, error, live, proposals, volume, series (default: all).

Needs an X server (Xvfb) because napari's canvas needs OpenGL. Writes to docs/images/:

* ``napari_colourize.png``  the Colourize dock after a propagate run on the bundled sample
* ``napari_hints.png``      the Colour hints dock with the sample's hints on the image
* ``napari_segment.png``    the Segment dock with a multi-Otsu Labels result
* ``napari_regions.png``    HED regions of the sample, two of them given colours in the region table, Run
* ``napari_error.png``      nst without a reference: the message the dock shows (the canvas keeps its size)
* ``napari_proposals.png``  four diffusion proposals, with "suggest colours here" for a particle
* ``napari_live.png``       live mode: a hint added by a click, its preview, then the full result
* ``napari_volume.png``     a generated stack, hints on plane 0 only, "all planes": shown at another plane
* ``napari_series.png``     a drifting (t, z, y, x) series, hints on t = 0 only, all planes aligned: shown at the last t
* ``demo_propagate.png``    the sample and its propagate result side by side (no napari chrome)

Every shot is checked before it is saved: a canvas that is blank or all one colour stops the
script with an error instead of writing a useless picture.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np

# the docks remember their settings: start every run from the defaults, never from (or into) the user's own
os.environ.setdefault("NAPARI_SEMCOLOR_CONFIG_DIR", tempfile.mkdtemp(prefix="semcolor-settings-"))

OUT = Path(__file__).parent / "images"
PLUGIN = "napari-semcolor"


def _wait(predicate, timeout: float = 300.0) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    t0 = time.time()
    while not predicate():
        QApplication.processEvents()
        if time.time() - t0 > timeout:
            raise TimeoutError("the plugin did not finish in time")
        time.sleep(0.05)


def _viewer():
    """A shown viewer (screenshots of a hidden one are black) with the bundled sample."""
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample(PLUGIN, "sem")
    return viewer, viewer.layers["SEM sample"], viewer.layers["SEM sample hints"]


def _run(widget, viewer, name: str) -> None:
    widget.run()
    _wait(lambda: name in viewer.layers and widget.run_button.enabled)


def colourize_shot():
    viewer, image, hints = _viewer()
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    # a newcomer only presses Run: the dock must have picked the image and its hints by itself
    if colour.image.value is not image or colour.hints.value is not hints:
        raise RuntimeError(f"the dock did not pick the sample's image and hints: {colour.image.value}, {colour.hints.value}")
    _run(colour, viewer, "SEM sample (propagate)")
    viewer.layers.selection.active = hints
    _save(viewer, "napari_colourize.png")
    result = viewer.layers["SEM sample (propagate)"].data
    import imageio.v3 as iio

    gray = np.repeat(image.data[..., None], 3, axis=-1)
    iio.imwrite(OUT / "demo_propagate.png", np.concatenate([gray, result], axis=1))
    print(f"wrote {OUT / 'demo_propagate.png'}")
    viewer.close()


def hints_shot():
    viewer, image, hints = _viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Colour hints")
    widget.image.value = image
    widget.layer.value = hints
    widget.palette.value = "blue"
    hints.size = np.maximum(hints.size, 14)  # display only: 5-px hints are specks at this zoom
    hints.border_width = 0.15
    viewer.layers.selection.active = hints
    hints.mode = "add"
    _save(viewer, "napari_hints.png")
    viewer.close()


def segment_shot():
    viewer, image, hints = _viewer()
    hints.visible = False
    _, seg = viewer.window.add_plugin_dock_widget(PLUGIN, "Segment")
    seg.preview.value = False
    seg.image.value = image
    seg.method.value = "multiotsu"
    seg.params["classes"].value = 3
    _run(seg, viewer, "SEM sample regions (multiotsu)")
    viewer.layers["SEM sample regions (multiotsu)"].opacity = 0.55
    _save(viewer, "napari_segment.png")
    viewer.close()


def regions_shot():
    """Segment hed → regions → two region colours → Run: the result must be seen above the labels."""
    viewer, image, hints = _viewer()
    _, seg = viewer.window.add_plugin_dock_widget(PLUGIN, "Segment")
    seg.preview.value = False
    seg.method.value = "hed"
    _run(seg, viewer, "SEM sample regions (hed)")
    regions = viewer.layers["SEM sample regions (hed)"]
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    colour.labels_layer.value = regions
    sizes = np.bincount(np.asarray(regions.data).ravel().clip(0))
    big = [int(k) for k in np.argsort(sizes)[::-1] if k > 0][1:3]  # the two largest particles (the largest region is the substrate)
    for k, fill in zip(big, ("#d9a53b", "#3b7fd9"), strict=True):
        mode, value = colour.regions.rows[k]
        mode.value, value.value = "colour", fill
    _run(colour, viewer, "SEM sample (propagate)")
    order = [layer.name for layer in viewer.layers]
    if order.index("SEM sample (propagate)") < order.index(regions.name):
        raise RuntimeError(f"the result is under the regions layer: {order}")
    height = viewer.window._qt_window.height()
    print(f"{int(regions.data.max())} regions; window height {height} px; layers {order}")
    _save(viewer, "napari_regions.png")
    viewer.close()


def error_shot():
    """nst with no reference: the dock explains, the canvas keeps its width."""
    viewer, image, hints = _viewer()
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    _settle(viewer)
    before = viewer.window._qt_viewer.canvas.native.width()
    colour.backend.value = "nst"
    colour.run()
    _wait(lambda: colour.run_button.enabled)
    _settle(viewer)
    after = viewer.window._qt_viewer.canvas.native.width()
    print(f"canvas width {before} -> {after} px")
    if after < before - 5:
        raise RuntimeError(f"the error squashed the canvas: {before} -> {after} px")
    _save(viewer, "napari_error.png")
    viewer.close()


def live_shot():
    """Live mode on the sample: one hint added as a click would, preview first, then the full result."""
    viewer, image, hints = _viewer()
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    colour.live.value = True
    layer_name = "SEM sample (propagate)"
    hints.add([[60.0, 700.0]])  # a new hint on the substrate, top right, in the layer's current colour
    _wait(lambda: layer_name in viewer.layers)
    first = viewer.layers[layer_name].metadata["semcolor"]["resolution"]
    _wait(lambda: viewer.layers[layer_name].metadata["semcolor"]["resolution"] == "full" and colour.run_button.enabled)
    print(f"live: first shown {first!r}, then 'full' {viewer.layers[layer_name].data.shape}")
    _save(viewer, "napari_live.png")
    viewer.close()


def proposals_shot():
    from napari_semcolor.proposals import colors_at

    viewer, image, hints = _viewer()
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    colour.backend.value = "diffusion"
    colour.samples.value = 4
    hints.visible = False
    # leave two particles without a hint: the proposals differ most where nothing was said
    unhinted = np.round(hints.data[0]).astype(int)
    keep = [i for i in range(len(hints.data)) if i not in (0, 3)]
    hints.data, hints.features = hints.data[keep], hints.features.iloc[keep].reset_index(drop=True)
    _run(colour, viewer, "SEM sample (diffusion)")
    layer = viewer.layers["SEM sample (diffusion)"]
    viewer.dims.set_current_step(0, 1)
    _settle(viewer)
    viewer.reset_view()
    _settle(viewer)
    y, x = unhinted  # the centre of a particle that got no hint: the proposals disagree there
    print(f"spread at the unhinted particle: ΔE {colors_at(layer.data, y, x).spread:.1f}")
    _hover(viewer, colour, layer, y, x)
    _save(viewer, "napari_proposals.png", settle=False)
    viewer.close()


def volume_shot():
    """A generated 40-plane stack, one hint per region of plane 0, all planes through the stack, shown at plane 30."""
    import napari

    from napari_semcolor.hints import to_points
    from napari_semcolor.synthetic_volume import make_sem_volume, region_hints

    volume = make_sem_volume((40, 384, 384), seed=2, drift=(0.3, 0.2))
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    scale = (20.0, 5.0, 5.0)  # nm: FIB-SEM slices thicker than the pixels
    viewer.add_image(volume.image, name="FIB-SEM stack", scale=scale, units="nm")
    hints = region_hints(volume.labels, 0, seed=3, size=5)
    coords, sizes, colors = to_points(list(hints.values()))
    viewer.add_points(coords, name="FIB-SEM stack hints", size=sizes, features={"hint": colors}, face_color=colors, scale=scale, units="nm")
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    colour.planes.value = "all planes"
    colour.hints.value = viewer.layers["FIB-SEM stack hints"]
    _run(colour, viewer, "FIB-SEM stack (propagate)")
    viewer.dims.axis_labels = ("z", "y", "x")  # napari's default names are -3, -2, -1
    viewer.dims.set_current_step(0, 30)
    print(f"volume: {len(hints)} hints on plane 0 of {volume.image.shape}; {colour.status.value}")
    _save(viewer, "napari_volume.png")
    viewer.close()


def series_shot():
    """A (t, z, y, x) series drifting 3 px per time point, hints on t = 0 only, all planes aligned: shown at the last t."""
    import napari

    from napari_semcolor.hints import to_points
    from napari_semcolor.synthetic_volume import make_sem_volume, region_hints

    T, step = 5, 3
    volume = make_sem_volume((16, 320, 320 + step * T), seed=4)
    series = np.stack([volume.image[..., step * t : step * t + 320] for t in range(T)])
    labels = volume.labels[..., :320]
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.add_image(series, name="in-situ series")
    hints = [dataclasses.replace(h, plane=(0, 8)) for h in region_hints(labels, 8, seed=3, size=5).values()]
    coords, sizes, colors = to_points(hints)
    viewer.add_points(coords, name="in-situ series hints", size=sizes, features={"hint": colors}, face_color=colors)
    _, colour = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    colour.planes.value = "all planes"
    colour.align.value = True
    colour.hints.value = viewer.layers["in-situ series hints"]
    _run(colour, viewer, "in-situ series (propagate)")
    viewer.dims.axis_labels = ("t", "z", "y", "x")
    viewer.dims.set_current_step(0, T - 1)
    viewer.dims.set_current_step(1, 8)
    print(f"series: {len(hints)} hints on t=0, z=8 of {series.shape}; {colour.status.value}")
    _save(viewer, "napari_series.png")
    viewer.close()


def _hover(viewer, colour, layer, y: int, x: int) -> None:
    """A real mouse move over the canvas onto data pixel (y, x): napari's own event path.

    The first guess comes from the camera; napari's cursor position then corrects it (the
    canvas widget and the camera need not agree on offsets).
    """
    from qtpy.QtCore import QPoint
    from qtpy.QtTest import QTest
    from qtpy.QtWidgets import QApplication

    canvas = viewer.window._qt_viewer.canvas.native
    cx, cy = _world_to_canvas(viewer, canvas, layer.data_to_world((0, y, x))[-2:])
    for _ in range(6):
        for dx in (1, 0):  # vispy reports moves: arrive from a neighbouring pixel
            QTest.mouseMove(canvas, QPoint(cx + dx, cy))
            QApplication.processEvents()
        ry, rx = layer.world_to_data(viewer.cursor.position)[-2:]
        if abs(ry - y) < 1 and abs(rx - x) < 1:  # a screen pixel may span more than one data pixel
            break
        zoom = _camera(viewer).zoom * float(np.mean(layer.scale[-2:]))
        cx, cy = int(round(cx + (x - rx) * zoom)), int(round(cy + (y - ry) * zoom))
    if colour.proposals.suggest_swatches.native.isHidden():
        raise RuntimeError("the mouse move did not reach the 'suggest colours here' readout")
    print(f"hover at data ({y}, {x}); readout: {colour.proposals.suggest_label.value!r}")


def _camera(viewer):
    scene = getattr(viewer, "scene", None)  # napari >= 0.9: viewer.scene.camera
    return scene.camera if scene is not None else viewer.camera


def _world_to_canvas(viewer, canvas, world) -> tuple[int, int]:
    """Canvas pixel (x, y) of world (y, x), for a 2D view with no rotation."""
    zoom = _camera(viewer).zoom
    cy, cx = _camera(viewer).center[-2:]
    w, h = canvas.width(), canvas.height()
    return int(round(w / 2 + (world[1] - cx) * zoom)), int(round(h / 2 + (world[0] - cy) * zoom))


def _settle(viewer) -> None:
    from qtpy.QtWidgets import QApplication, QWidget

    for widget in viewer.window._qt_window.findChildren(QWidget):  # toasts would cover the canvas
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()
    for _ in range(5):
        QApplication.processEvents()
    viewer.window._qt_window.repaint()


def _save(viewer, name: str, settle: bool = True) -> None:
    import imageio.v3 as iio

    if settle:  # the docks resize the canvas: let that happen, then fit the view to it
        _settle(viewer)
        viewer.reset_view()
        _settle(viewer)
    canvas = viewer.screenshot(canvas_only=True, flash=False)
    if canvas[..., :3].std() < 5:
        raise RuntimeError(f"{name}: the canvas is blank (std {canvas[..., :3].std():.1f}); is the viewer shown?")
    shot = viewer.screenshot(canvas_only=False, flash=False)
    iio.imwrite(OUT / name, shot)
    print(f"wrote {OUT / name} {shot.shape[1]}x{shot.shape[0]}")


SHOTS = {
    "colourize": colourize_shot, "hints": hints_shot, "segment": segment_shot, "regions": regions_shot,
    "error": error_shot, "live": live_shot, "proposals": proposals_shot, "volume": volume_shot,
    "series": series_shot,
}


def main() -> None:
    import sys

    wanted = sys.argv[1:] or list(SHOTS)
    unknown = sorted(set(wanted) - set(SHOTS))
    if unknown:
        raise SystemExit(f"unknown shot(s) {unknown}; choose from {list(SHOTS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        SHOTS[name]()


if __name__ == "__main__":
    main()
