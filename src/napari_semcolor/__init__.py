"""napari-semcolor: colour grayscale microscopy images without altering their structure.

The core (``color``, ``hints``, ``pipeline``, ``backends``, ...) imports neither Qt nor napari,
and heavy dependencies (torch) are imported lazily, so ``import napari_semcolor`` is fast.
"""

__version__ = "0.1.0"

from napari_semcolor.errors import Cancelled, SemcolorError

__all__ = ["__version__", "SemcolorError", "Cancelled", "colorize", "Session"]


def colorize(*args, databar_gray: bool = True, **kwargs):
    """Colour a grayscale image; see :func:`napari_semcolor.pipeline.colorize` for the arguments.

    Like the Colourize dock and ``semcolor colorize``, it keeps an instrument data bar (the strip
    of text and scale bar at the bottom, found by
    :func:`napari_semcolor.files.sem_tiff.detect_databar`) gray, unless ``databar_gray=False`` or
    ``keep_gray`` says which pixels to keep gray. The bar is looked for in 2D numpy arrays
    (memmaps included); for dask or zarr images pass ``keep_gray``
    (:func:`~napari_semcolor.files.sem_tiff.databar_mask`) so the image is not read whole.
    """
    from napari_semcolor.files.sem_tiff import default_keep_gray
    from napari_semcolor.pipeline import colorize as _colorize

    image = args[0] if args else kwargs.get("image")
    kwargs["keep_gray"] = default_keep_gray(image, kwargs.get("keep_gray"), databar_gray)
    return _colorize(*args, **kwargs)


def __getattr__(name: str):
    # Session is imported on first use, so that ``import napari_semcolor`` stays light
    if name == "Session":
        from napari_semcolor.session import Session

        return Session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
