"""napari-semcolor: colour grayscale microscopy images without altering their structure.

The core (``color``, ``hints``, ``pipeline``, ``backends``, ...) imports neither Qt nor napari,
and heavy dependencies (torch) are imported lazily, so ``import napari_semcolor`` is fast.
"""

__version__ = "0.1.0"

from napari_semcolor.errors import Cancelled, SemcolorError

__all__ = ["__version__", "SemcolorError", "Cancelled", "colorize", "Session"]


def colorize(*args, **kwargs):
    """Colour a grayscale image; see :func:`napari_semcolor.pipeline.colorize`."""
    from napari_semcolor.pipeline import colorize as _colorize

    return _colorize(*args, **kwargs)


def __getattr__(name: str):
    # Session is imported on first use, so that ``import napari_semcolor`` stays light
    if name == "Session":
        from napari_semcolor.session import Session

        return Session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
