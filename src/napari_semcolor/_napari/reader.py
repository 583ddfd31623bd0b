"""napari reader for SEM TIFFs: pixel size → layer scale and units, data bar row → metadata.

Uncompressed TIFFs are memory-mapped read-only, so a 16k × 16k micrograph opens without being read
into memory (the Colourize dock reads it in tiles). It only claims TIFFs that carry a pixel size (FEI/Thermo, Zeiss, or a real TIFF resolution), so
napari's own reader keeps handling every other TIFF.
"""

from __future__ import annotations

from pathlib import Path


def get_reader(path):
    """npe2 reader hook: a reader for SEM TIFFs with a pixel size, else None."""
    if isinstance(path, list) or Path(str(path)).suffix.lower() not in (".tif", ".tiff"):
        return None
    from napari_semcolor.errors import SemcolorError
    from napari_semcolor.files.sem_tiff import read_sem_tiff

    try:
        image = read_sem_tiff(path, lazy=True)  # big uncompressed TIFFs open as read-only memory maps
    except SemcolorError:
        return None
    if image.pixel_size is None:
        return None
    return lambda _path: [_layer_data(image, Path(str(path)).stem)]


def _layer_data(image, name: str) -> tuple:
    scale, unit = image.scale_and_units()
    meta = {"pixel_size_m": list(image.pixel_size), "pixel_size_source": image.source, "databar_row": image.databar_row}
    lead = image.data.ndim - 2
    kwargs = {"name": name, "scale": [1.0] * lead + list(scale), "units": ["pixel"] * lead + [unit, unit], "metadata": {"sem": meta}}
    return (image.data, kwargs, "image")
