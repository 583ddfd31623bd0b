"""napari-semcolor: colour grayscale microscopy images without altering their structure.

The core (``color``, ``hints``, ``pipeline``, ``backends``, ...) imports neither Qt nor napari,
and heavy dependencies (torch) are imported lazily, so ``import napari_semcolor`` is fast.
"""

__version__ = "0.1.0"

from napari_semcolor.errors import Cancelled, SemcolorError

__all__ = ["__version__", "SemcolorError", "Cancelled", "colorize"]


def colorize(*args, **kwargs):
    """Colour a grayscale image; see :func:`napari_semcolor.pipeline.colorize`."""
    from napari_semcolor.pipeline import colorize as _colorize

    return _colorize(*args, **kwargs)
