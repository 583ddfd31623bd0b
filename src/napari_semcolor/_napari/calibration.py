"""SEM calibration for layers napari's own reader opened: pixel size and data bar from the file.

The plugin contributes no reader: napari opens every TIFF itself, with no reader-choice dialog
(a TIFF reader of ours would make napari ask which reader to use for *every* TIFF). What a SEM
TIFF says about its pixels reaches the layer here instead, read from ``layer.source.path``:

* the Colourize, Colour hints and Segment docks calibrate the image layers of their viewer when
  they open and each image layer added while one of them is open;
* the writer reads the pixel size from the file when the layer has none;
* *Layers → Metadata → Apply SEM pixel size from file* does it for the selected image layers.

The result is ``layer.metadata["sem"]``: ``pixel_size_m`` (y, x in metres, or None),
``pixel_size_source`` ("fei", "zeiss", "tiff"), ``databar_row`` (as the metadata states it, or
None: the docks then detect it), ``file`` (where it was read) and ``scale``: ``"from file"`` when
the pixel size became the layer's scale and units, or why not (a scale of the user's own is never
replaced). A layer whose metadata already has ``"sem"`` is left as it is.
"""

from __future__ import annotations

import functools
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_semcolor.errors import SemcolorError

if TYPE_CHECKING:
    import napari

_TIFF = (".tif", ".tiff")
_FOLLOWED: weakref.WeakSet = weakref.WeakSet()  # viewers whose new layers are calibrated


def source_path(layer) -> str | None:
    """The TIFF file a layer was opened from, or None (not opened from one file, or not a TIFF)."""
    source = getattr(layer, "source", None)
    path = getattr(source, "path", None)
    if not path or Path(str(path)).suffix.lower() not in _TIFF or not os.path.isfile(path):
        return None
    return str(path)


def file_calibration(layer, *, reread: bool = False) -> dict | None:
    """``metadata["sem"]`` for a layer: its own, else read from its source file, else None.

    ``reread``: read the file even if the layer has its own, and let the pixel size replace a
    scale the layer already has (what the menu command does: the user asked for it).
    """
    own = layer.metadata.get("sem") if isinstance(layer.metadata, dict) and not reread else None
    if own:
        return own
    path = source_path(layer)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None  # (removed since the check)
    found = _read(path, stat.st_mtime_ns, stat.st_size)  # cached per file version
    if found is None:
        return None
    sem, shape = found
    return {**sem, "scale": _scale_fate(layer, sem, shape, reread)}


def calibrate(layer, viewer=None, *, reread: bool = False) -> dict | None:
    """Give an image layer its file's calibration (see the module docstring); returns it or None.

    The pixel size becomes the layer's scale and units only if the layer's scale is napari's
    default (all ones) and the image has the file's height and width. The layers drawn on it
    before (in ``viewer``, :func:`drawn_on`: its hints layer, points or shapes drawn with napari's
    own tools, a labels layer painted over it) get the same scale, so they stay on the pixels
    they were drawn on. ``reread``: see :func:`file_calibration`.
    """
    if isinstance(layer.metadata, dict) and layer.metadata.get("sem") and not reread:
        return layer.metadata["sem"]
    sem = file_calibration(layer, reread=reread)
    if sem is None:
        return None
    if sem["scale"] == "from file":
        scale, unit = _readable(sem["pixel_size_m"])
        followers = drawn_on(layer, viewer)
        _set_scale(layer, scale, unit, replace=reread)
        for other in followers:
            _set_scale(other, scale, unit)
    layer.metadata = {**layer.metadata, "sem": sem}
    return sem


def calibrate_all(viewer) -> list:
    """Calibrate every image layer of ``viewer`` that has none yet; returns the layers changed."""
    from napari.layers import Image

    changed = [layer for layer in list(viewer.layers) if isinstance(layer, Image) and "sem" not in layer.metadata and calibrate(layer, viewer)]
    if changed and len(viewer.layers) == len(changed) == 1:
        viewer.reset_view()  # the only layer changed size: show all of it
    return changed


def follow_new_layers(viewer) -> None:
    """Calibrate the image layers of ``viewer`` and each one added from now on (hooked once)."""
    calibrate_all(viewer)
    real = getattr(viewer, "__wrapped__", viewer)  # (docks get the viewer behind a proxy)
    if real in _FOLLOWED:
        return

    def on_inserted(event):
        from napari.layers import Image

        if isinstance(event.value, Image):
            calibrate(event.value, viewer)

    viewer.layers.events.inserted.connect(on_inserted)
    _FOLLOWED.add(real)


def clear_cache() -> None:
    """Forget the calibrations read so far."""
    _read.cache_clear()


@functools.lru_cache(maxsize=256)
def _read(path: str, _mtime_ns: int, _size: int) -> tuple[dict, tuple[int, ...]] | None:
    from napari_semcolor.files.sem_tiff import read_calibration

    try:
        image = read_calibration(path)
    except SemcolorError:
        return None
    if image.pixel_size is None and image.databar_row is None:
        return None
    sem = {
        "pixel_size_m": None if image.pixel_size is None else list(image.pixel_size),
        "pixel_size_source": image.source,
        "databar_row": image.databar_row,
        "file": path,
    }
    return sem, image.data.shape


def _scale_fate(layer, sem: dict, shape: tuple[int, ...], replace: bool = False) -> str:
    """``"from file"`` if the pixel size may become the layer's scale, else why it may not."""
    if sem["pixel_size_m"] is None:
        return "no pixel size in the file"
    rgb = getattr(layer, "rgb", False)
    plane = tuple(layer.data.shape[-3:-1] if rgb else layer.data.shape[-2:])
    if plane != tuple(shape[:2]) and plane != tuple(shape[-2:]):
        return f"kept: the layer's {plane} pixels are not the file's {tuple(shape[:2])}"
    if not replace and any(float(s) != 1.0 for s in layer.scale):
        return "kept: the layer had a scale of its own"
    return "from file"


def _readable(pixel_size_m) -> tuple[tuple[float, float], str]:
    from napari_semcolor.files.sem_tiff import SemImage

    return SemImage(None, tuple(pixel_size_m)).scale_and_units()


def _set_scale(layer, scale: tuple[float, float], unit: str, replace: bool = False) -> None:
    if not replace and any(float(s) != 1.0 for s in layer.scale[-2:]):
        return  # (a hints layer with a scale of its own)
    layer.scale = (*layer.scale[:-2], *scale)
    layer.units = (*(str(u) for u in layer.units[:-2]), unit, unit)


def drawn_on(image, viewer) -> list:
    """The layers of ``viewer`` drawn on ``image`` in its pixels, which must follow its scale.

    Its hints layer (:func:`~napari_semcolor._napari.layers.hints_layer_for`), and every Points,
    Shapes or Labels layer still at napari's default placement (scale 1, no translation) that
    lies on the image: points and shapes all inside its plane, labels of its plane's size. A
    layer with a scale of its own, or one reaching beyond the image, was not drawn in its pixels.
    """
    from napari.layers import Labels, Points, Shapes

    from napari_semcolor._napari.layers import hints_layer_for

    if viewer is None:
        return []
    rgb = getattr(image, "rgb", False)
    plane = np.asarray(image.data.shape[-3:-1] if rgb else image.data.shape[-2:], np.float64)
    hints = hints_layer_for(image, viewer.layers)

    def on_image(layer) -> bool:
        if layer is image or not isinstance(layer, Points | Shapes | Labels):
            return False
        if np.any(np.asarray(layer.scale) != 1) or np.any(np.asarray(layer.translate) != 0):
            return False
        if isinstance(layer, Labels):
            return tuple(layer.data.shape[-2:]) == tuple(plane.astype(int))
        parts = list(layer.data) if isinstance(layer, Shapes) else [layer.data]
        coords = np.concatenate([np.asarray(d, np.float64).reshape(-1, layer.ndim) for d in parts]) if parts else np.zeros((0, 2))
        if coords.size == 0:
            return False  # nothing drawn: nothing to keep in place
        yx = coords[:, -2:]
        return bool(np.all(yx >= -0.5) and np.all(yx <= plane - 0.5))

    return [layer for layer in viewer.layers if layer is hints or on_image(layer)]


def apply_sem_pixel_size(viewer: napari.viewer.Viewer) -> list[str]:
    """Menu command: the pixel size of each selected image layer's file becomes its scale.

    Unlike the automatic calibration it replaces a scale the layer already has. Says what it did
    for each layer in a notification; returns those lines.
    """
    from napari.layers import Image
    from napari.utils.notifications import show_info

    chosen = [layer for layer in viewer.layers.selection if isinstance(layer, Image)]
    if not chosen:
        lines = ["select one or more image layers opened from SEM TIFF files first"]
    else:
        lines = [f"{layer.name}: {_said(layer, viewer)}" for layer in chosen]
    show_info("\n".join(lines))
    return lines


def _said(layer, viewer) -> str:
    sem = calibrate(layer, viewer, reread=True)
    if sem is None:
        return "not opened from a TIFF with a pixel size (File → Open a .tif from the microscope)"
    if sem["scale"] != "from file":
        return f"pixel size not applied ({sem['scale']})"
    (y, x), unit = _readable(sem["pixel_size_m"])
    return f"pixel size {x:.4g} × {y:.4g} {unit} from {Path(sem['file']).name} ({sem['pixel_size_source']})"
