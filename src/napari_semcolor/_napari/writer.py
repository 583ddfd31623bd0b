"""napari writer: an RGB result as TIFF (pixel size from the layer scale) or PNG, plus a JSON sidecar."""

from __future__ import annotations

import numpy as np

from napari_semcolor.files.images import to_metres, write_result


def write_rgb(path: str, data, meta: dict) -> list[str]:
    """npe2 single-layer writer for image layers; returns the paths written."""
    arr = np.asarray(data)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8) if arr.max() > 1 else np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    scale, units = list(meta.get("scale", [1, 1]))[-2:], list(meta.get("units") or ["pixel", "pixel"])[-2:]
    sizes = [to_metres(s, u) for s, u in zip(scale, units)]
    pixel_size = tuple(sizes) if all(s is not None for s in sizes) else None
    md = dict(meta.get("metadata", {}).get("semcolor", {}))
    md.update(scale=[float(s) for s in scale], units=[str(u) for u in units], name=meta.get("name"))
    return [str(p) for p in write_result(path, arr, pixel_size=pixel_size, metadata=md)]
