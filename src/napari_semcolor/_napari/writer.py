"""napari writer: an RGB result as TIFF (pixel size from the layer scale) or PNG, plus a JSON sidecar.

With no scale in a length unit, the pixel size is the one the layer's SEM file states (see
:mod:`._napari.calibration`).

It writes only what it can write without loss — 8-bit gray, RGB or RGBA, and 16-bit gray — and
refuses anything else (floats, 32-bit, 16-bit colour) with a message, rather than squeezing a
16-bit micrograph into 8 bits.
"""

from __future__ import annotations

import numpy as np

from napari_semcolor.errors import SemcolorError
from napari_semcolor.files.images import to_metres, write_result


def write_rgb(path: str, data, meta: dict) -> list[str]:
    """npe2 single-layer writer for image layers; returns the paths written.

    Raises
    ------
    SemcolorError
        Data it cannot write without loss; the message names napari's built-in writer.
    """
    if (meta.get("metadata") or {}).get("semcolor", {}).get("resolution") == "preview":
        raise SemcolorError(
            "this layer holds a live preview at working resolution; wait until the full-resolution result replaces it "
            "(its status says done), or press Run, then save"
        )
    arr = np.asarray(data)
    colour = arr.ndim == 3 and arr.shape[-1] in (3, 4)
    if not (arr.dtype == np.uint8 and (arr.ndim == 2 or colour) or arr.dtype == np.uint16 and arr.ndim == 2):
        kind = f"{arr.dtype} data of shape {arr.shape}"
        raise SemcolorError(
            f"napari-semcolor's writer saves colour results and 8/16-bit gray images without loss; {kind} would lose "
            "information. Save this layer with napari's built-in writer instead (File → Save Selected Layers…, "
            "then choose 'napari builtins')."
        )
    scale, units = list(meta.get("scale", [1, 1]))[-2:], list(meta.get("units") or ["pixel", "pixel"])[-2:]
    sizes = [to_metres(s, u) for s, u in zip(scale, units)]
    pixel_size = tuple(sizes) if all(s is not None for s in sizes) else None
    if pixel_size is None:  # no scale in a length unit: what the layer's SEM file says, if any
        sem = (meta.get("metadata") or {}).get("sem") or _file_calibration(meta.get("name"))
        pixel_size = tuple(sem["pixel_size_m"]) if sem and sem.get("pixel_size_m") else None
    md = dict(meta.get("metadata", {}).get("semcolor", {}))
    md.update(scale=[float(s) for s in scale], units=[str(u) for u in units], name=meta.get("name"))
    return [str(p) for p in write_result(path, arr, pixel_size=pixel_size, metadata=md)]


def _file_calibration(name) -> dict | None:
    """The SEM calibration of the current viewer's layer ``name`` from its file (napari's writer
    API passes the layer's state, not the layer, so its source file is looked up by name)."""
    import sys

    if "napari" not in sys.modules or not name:
        return None
    from napari import current_viewer

    from napari_semcolor._napari.calibration import file_calibration

    viewer = current_viewer()
    if viewer is None or name not in viewer.layers:
        return None
    return file_calibration(viewer.layers[name])
