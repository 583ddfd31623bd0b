"""Segmentation into int32 labels: global/local thresholds, and HED edges → watershed.

Methods (:data:`METHODS`) and their parameters (:data:`PARAMETERS`, with defaults):

* ``otsu`` — one global threshold; objects are the bright or the dark side.
* ``multiotsu`` — ``classes`` intensity classes (phases); labels 1..k from dark to bright.
* ``local`` — adaptive threshold (local Gaussian-weighted mean over ``block_size`` pixels, minus
  ``offset`` in L* units), for uneven illumination or charging.
* ``hed`` — Holistically-Nested Edge Detection (VGG16 + 5 side outputs; BSDS500 weights) at a
  working resolution, edges upsampled to full resolution, then a watershed from the low-edge
  basins. ``edge_sensitivity`` in [0, 1]: higher splits along fainter edges (more regions).

Every method ends with the same cleanup: pieces smaller than ``min_size`` pixels are removed,
holes are filled, labels are renumbered 1..n. 0 is background (thresholds) or unassigned. An image
without contrast has no regions (all 0). An instrument data bar at the bottom (text, scale bar) is
not specimen: by default it is found and left out, as label 0, and the method sees only the rows
above it (so the bar's black and white do not move the thresholds either).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from napari_semcolor.errors import SemcolorError, check_cancel

EdgeFn = Callable[[np.ndarray], np.ndarray]

METHODS = ("otsu", "multiotsu", "local", "hed")
#: methods fast enough for a live preview
FAST_METHODS = ("otsu", "multiotsu", "local")

_COMMON = {"min_size": 64, "fill_holes": True, "smooth": 1.0}
#: method → parameter → default
PARAMETERS: dict[str, dict] = {
    "otsu": {"objects": "auto", "separate": True, **_COMMON},
    "multiotsu": {"classes": 3, "separate": False, **_COMMON},
    "local": {"block_size": 51, "offset": 0.0, "objects": "auto", "separate": True, **_COMMON},
    "hed": {"edge_sensitivity": 0.5, "min_size": 64, "working_size": 512, "tile": 512, "device": "auto"},
}

#: what each parameter means, for the CLI and the widget
HELP = {
    "objects": "which side of the threshold is an object: bright, dark, or auto (the smaller side)",
    "separate": "number each connected object (True) or give each class one label (False)",
    "min_size": "smallest region, in pixels; smaller pieces are removed",
    "fill_holes": "fill holes inside regions",
    "smooth": "Gaussian smoothing before thresholding (σ in pixels; 0 = none)",
    "classes": "number of intensity classes (2–6)",
    "block_size": "neighbourhood for the local threshold, in pixels (odd; larger than the objects)",
    "offset": "local threshold = local mean − offset (L* units, 0–100)",
    "edge_sensitivity": "0–1: higher splits regions along fainter edges",
    "working_size": "long side (pixels) at which HED runs; larger images are tiled above it",
    "tile": "HED tile size (pixels) when the working size is larger",
    "device": "torch device for HED: auto, cpu, cuda, mps",
}


def segment(
    image: np.ndarray, method: str = "otsu", *, databar: bool | int = True,
    progress: Callable[[float, str], None] | None = None, cancel=None, edges: EdgeFn | None = None, nan: float | None = None, **params
) -> np.ndarray:
    """Segment a gray micrograph into regions.

    Parameters
    ----------
    image : (H, W) array
        Gray image (uint8, uint16, other integers, bool, float; see
        :func:`napari_semcolor.color.to_lightness`).
    method : {"otsu", "multiotsu", "local", "hed"}
    databar : bool or int
        The instrument data bar at the bottom becomes label 0 and is not segmented. True (default):
        find it with :func:`napari_semcolor.files.sem_tiff.detect_databar` (nothing changes if
        there is none); an int: the bar starts at this row (e.g. the SEM reader's
        ``databar_row``); False: segment every row.
    progress : callable(fraction, message), optional
        Called with the progress in [0, 1].
    cancel : threading.Event-like, optional
        When set, the run stops at the next check and raises :class:`~napari_semcolor.Cancelled`.
    edges : callable, optional
        ``hed`` only: edge function ``gray (h, w) float in [0, 1] → edge probability (h, w) in
        [0, 1]`` used instead of HED (for tests, or another edge detector).
    nan : float, optional
        L* value for NaN/inf pixels (otherwise they are an error).
    **params
        The method's parameters (:data:`PARAMETERS`, meanings in :data:`HELP`).

    Returns
    -------
    labels : (H, W) int32
        0 = background/unassigned, regions 1..n.

    Raises
    ------
    SemcolorError
        Unknown method or parameter, or an invalid value, with a message that says what to do.
    Cancelled
        The cancel token was set.
    """
    from napari_semcolor.color import to_lightness

    report = progress or (lambda fraction, message: None)
    p = validate_params(method, params)
    L = to_lightness(image, nan=nan)
    row = databar_row(L, databar)
    labels = np.zeros(L.shape, np.int32)
    report(0.0, f"segmenting ({method})")
    labels[:row] = _segment_lightness(L[:row], method, p, edges, report, cancel)
    report(1.0, "done")
    return labels


def databar_row(L: np.ndarray, databar: bool | int = True) -> int:
    """The first row of the data bar to leave out of a segmentation (``len(L)`` if none).

    ``databar`` as in :func:`segment`: True detects the bar, an int is its first row, False means
    no bar. Raises :class:`SemcolorError` for a row outside the image.
    """
    from napari_semcolor.files.sem_tiff import detect_databar

    h = np.shape(L)[0]
    if databar is True:
        found = detect_databar(L)
        return h if found is None else found
    if databar is False or databar is None:
        return h
    if isinstance(databar, (int, np.integer)) and 0 < databar <= h:
        return int(databar)
    raise SemcolorError(f"databar must be True, False or the bar's first row (1–{h}); got {databar!r}")


def _segment_lightness(L: np.ndarray, method: str, p: dict, edges: EdgeFn | None, report, cancel) -> np.ndarray:
    """Labels of L* (checked parameters ``p``), without the data bar."""
    if L.size == 0 or float(L.max()) - float(L.min()) < 1e-3:  # no contrast: nothing to separate
        report(1.0, "done (no contrast)")
        return np.zeros(L.shape, np.int32)
    if method == "hed":
        edge = edge_map(
            L / 100, edges or functools.partial(hed_edges, device=p["device"]),
            working_size=p["working_size"], tile=p["tile"], progress=lambda f, m: report(0.8 * f, m), cancel=cancel,
        )
        check_cancel(cancel, "segmentation")
        report(0.8, "watershed")
        return watershed_regions(edge, p["edge_sensitivity"], p["min_size"])
    if method == "multiotsu" and (levels := np.unique(L).size) < p["classes"]:
        raise SemcolorError(f"the image has only {levels} gray level(s), fewer than the {p['classes']} classes asked for; lower the number of classes")
    smoothed = ndimage.gaussian_filter(L, p["smooth"]) if p["smooth"] > 0 else L
    classes = _threshold(smoothed, method, p)
    check_cancel(cancel, "segmentation")
    report(0.5, "cleaning up")
    labels = _pieces(classes) if p["separate"] else classes
    return cleanup(labels, p["min_size"], fill_holes=p["fill_holes"], absorb=method == "multiotsu")


def validate_params(method: str, params: dict) -> dict:
    """The method's parameters with defaults filled in, checked; raises SemcolorError if wrong."""
    if method not in METHODS:
        raise SemcolorError(f"unknown segmentation method {method!r}; choose one of: {', '.join(METHODS)}")
    defaults = PARAMETERS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise SemcolorError(f"method {method!r} has no parameter(s) {', '.join(unknown)}; it takes: {', '.join(defaults)}")
    p = {**defaults, **{k: v for k, v in params.items() if v is not None}}
    _whole(p, "min_size", 0)
    if "smooth" in p and not (np.isfinite(p["smooth"]) and 0 <= p["smooth"] <= 50):
        raise SemcolorError(f"smooth must be between 0 and 50 pixels; got {p['smooth']!r}")
    if "objects" in p and p["objects"] not in ("auto", "bright", "dark"):
        raise SemcolorError(f"objects must be 'auto', 'bright' or 'dark'; got {p['objects']!r}")
    if method == "multiotsu":
        _whole(p, "classes", 2, 6)
    if method == "local":
        _whole(p, "block_size", 3)
        p["block_size"] |= 1  # the local threshold needs an odd window
        if not np.isfinite(p["offset"]):
            raise SemcolorError("offset must be a finite number (L* units)")
    if method == "hed":
        if not 0 <= p["edge_sensitivity"] <= 1:
            raise SemcolorError(f"edge sensitivity must be between 0 and 1; got {p['edge_sensitivity']!r}")
        _whole(p, "working_size", 32)
        _whole(p, "tile", 64)
    return p


def _whole(p: dict, key: str, lo: int, hi: int | None = None) -> None:
    value = p[key]
    if isinstance(value, bool) or not float(value).is_integer() or value < lo or (hi is not None and value > hi):
        span = f"≥ {lo}" if hi is None else f"between {lo} and {hi}"
        raise SemcolorError(f"{key.replace('_', ' ')} must be a whole number {span}; got {value!r}")
    p[key] = int(value)


def _threshold(L: np.ndarray, method: str, p: dict) -> np.ndarray:
    """Class map: 0/1 (object) for otsu and local, 1..k (dark → bright) for multiotsu."""
    from skimage import filters

    if method == "multiotsu":
        try:
            nbins = {5: 128, 6: 64}.get(p["classes"], 256)  # 6 classes in 256 bins: ~10^10 threshold sets, minutes
            thresholds = filters.threshold_multiotsu(L, classes=p["classes"], nbins=nbins)
        except ValueError:  # too few distinct levels once binned (e.g. a few values far apart)
            raise SemcolorError(f"the image has too few distinct gray levels to make {p['classes']} classes; lower the number of classes") from None
        return (np.digitize(L, thresholds) + 1).astype(np.int32)
    if method == "otsu":
        bright = L > filters.threshold_otsu(L)
    else:
        block = min(p["block_size"], 2 * (max(L.shape) // 2) + 1)
        bright = L > filters.threshold_local(L, block, method="gaussian", offset=p["offset"])
    objects = p["objects"]
    if objects == "auto":  # objects are usually the minority: particles on a substrate, pores in a matrix
        objects = "bright" if bright.mean() <= 0.5 else "dark"
    return (bright if objects == "bright" else ~bright).astype(np.int32)


def cleanup(labels: np.ndarray, min_size: int, *, fill_holes: bool = True, absorb: bool = False) -> np.ndarray:
    """Remove small pieces, fill holes, renumber 1..n.

    Parameters
    ----------
    labels : (H, W) int
        0 = background.
    min_size : int
        Connected pieces of a label smaller than this (pixels) are removed.
    fill_holes : bool
        Background holes enclosed by one label become that label.
    absorb : bool
        Give removed pieces to the nearest remaining region instead of the background (for
        class maps without a background, e.g. multiotsu).

    Returns
    -------
    (H, W) int32, labels renumbered 1..n (order kept), 0 background.
    """
    from skimage.segmentation import relabel_sequential

    out = np.asarray(labels).astype(np.int32, copy=True)
    if min_size > 1:
        pieces = _pieces(out)
        small = np.bincount(pieces.ravel()) < min_size
        small[0] = False
        out[small[pieces]] = 0
    if absorb and (out == 0).any() and (out > 0).any():
        _, (iy, ix) = ndimage.distance_transform_edt(out == 0, return_indices=True)
        out = out[iy, ix]
    if fill_holes:
        for value, box in zip(range(1, out.max() + 1), ndimage.find_objects(out)):
            if box is None:
                continue
            filled = ndimage.binary_fill_holes(out[box] == value)
            out[box][filled & (out[box] == 0)] = value
    return relabel_sequential(out)[0].astype(np.int32)


def _pieces(labels: np.ndarray) -> np.ndarray:
    """Connected pieces (4-connected) of each nonzero value, numbered 1..n."""
    from skimage.measure import label

    return label(labels, background=0, connectivity=1).astype(np.int32)


# -- HED ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _hed_net(device: str):
    from napari_semcolor.devices import resolve_device
    from napari_semcolor.nets import hed

    return hed.load_hed(device=resolve_device(device))


def hed_edges(gray: np.ndarray, device: str = "cpu") -> np.ndarray:
    """HED edge probability of a gray image (h, w) in [0, 1]; the network is loaded once per device."""
    try:
        from napari_semcolor.nets import hed
    except ImportError as exc:
        raise SemcolorError(
            f"the HED network is not available in this installation ({exc}); use otsu, multiotsu or local, or reinstall napari-semcolor"
        ) from exc
    return np.asarray(hed.hed_edges(gray, _hed_net(device)), np.float32)


def edge_map(gray: np.ndarray, edges: EdgeFn, *, working_size: int = 512, tile: int = 512, overlap: int = 32, progress=None, cancel=None) -> np.ndarray:
    """Edge probability at full resolution, computed at a working resolution (tiled if large).

    Parameters
    ----------
    gray : (H, W) float in [0, 1]
    edges : callable
        ``gray (h, w) → edge probability (h, w)`` (HED, or a stand-in).
    working_size : int
        Long side of the working resolution (never upsampled).
    tile : int
        Above this size the working image is processed in ``tile``-pixel tiles that overlap by
        ``overlap`` pixels on each side (only their centres are kept).

    Returns
    -------
    (H, W) float32 in [0, 1]
    """
    from napari_semcolor.upsample import downsample, resize_linear, working_shape

    report = progress or (lambda fraction, message: None)
    work = working_shape(gray.shape, working_size)
    small = downsample(gray, work)
    h, w = work
    if max(h, w) <= tile:
        out = _edges_checked(edges, small)
    else:
        out = np.zeros(work, np.float32)
        starts = [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]
        for i, (y, x) in enumerate(starts):
            check_cancel(cancel, "segmentation")
            report(i / len(starts), f"edges: tile {i + 1}/{len(starts)}")
            ya, xa = max(y - overlap, 0), max(x - overlap, 0)
            yb, xb = min(y + tile + overlap, h), min(x + tile + overlap, w)
            e = _edges_checked(edges, small[ya:yb, xa:xb])
            out[y : min(y + tile, h), x : min(x + tile, w)] = e[y - ya : y - ya + min(tile, h - y), x - xa : x - xa + min(tile, w - x)]
    check_cancel(cancel, "segmentation")
    report(1.0, "edges done")
    if out.shape != gray.shape:
        out = resize_linear(out, gray.shape)
    return np.clip(out, 0, 1).astype(np.float32)


def _edges_checked(edges: EdgeFn, gray: np.ndarray) -> np.ndarray:
    e = np.asarray(edges(gray), np.float32)
    if e.shape != gray.shape:
        raise RuntimeError(f"the edge function returned shape {e.shape} for an input of shape {gray.shape}")
    return e


def sobel_edges(gray: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """A cheap stand-in edge map: Sobel magnitude of the smoothed image, scaled to [0, 1].

    Not a segmentation method of its own; pass it as ``segment(..., "hed", edges=sobel_edges)``
    where HED is not available, or to test the watershed step.
    """
    from skimage import filters

    e = filters.sobel(ndimage.gaussian_filter(np.asarray(gray, np.float32), sigma))
    top = float(np.percentile(e, 99.5))
    return np.clip(e / top, 0, 1).astype(np.float32) if top > 0 else np.zeros_like(e, np.float32)


def watershed_regions(edge: np.ndarray, edge_sensitivity: float = 0.5, min_size: int = 64) -> np.ndarray:
    """Regions from an edge-probability map: watershed from the low-edge basins.

    Markers are the connected areas where the edge probability is below ``1 − edge_sensitivity``
    (scaled to the map's own range, so a weak edge detector still works); the watershed then
    gives every pixel to a basin, so regions meet on the edges. Regions smaller than ``min_size``
    are merged into their neighbours by a second watershed.

    Returns
    -------
    (H, W) int32, regions 1..n (every pixel belongs to one).
    """
    from skimage.segmentation import relabel_sequential

    edge = np.asarray(edge, np.float32)
    top = float(edge.max())
    if top <= 0:
        return np.ones(edge.shape, np.int32)
    level = (1 - edge_sensitivity) * top
    basins, n = ndimage.label(edge < max(level, 1e-6 * top))
    if n == 0:
        return np.ones(edge.shape, np.int32)
    # thin slivers between double edges are not regions: a basin must hold a small disc
    sizes = np.bincount(basins.ravel())
    keep = sizes >= max(4, min(min_size // 4, 64))
    keep[0] = False
    markers = np.where(keep[basins], basins, 0)
    if not markers.any():
        markers = (basins == np.argmax(sizes[1:]) + 1).astype(np.int32)
    labels = _flood(edge, markers)
    sizes = np.bincount(labels.ravel())
    small = sizes < min_size
    small[0] = False
    if small.any() and not small[1:].all():
        labels = _flood(edge, np.where(small[labels], 0, labels))
    return relabel_sequential(labels)[0].astype(np.int32)


def _flood(edge: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """``watershed(edge, markers)``, computed only where it can change anything.

    Pixels inside a marker keep their label whatever the flooding does, so the watershed runs on
    the unlabelled pixels plus a one-pixel rim of the markers around them: the same result,
    at a cost that grows with the edge area instead of the image area.
    """
    from skimage.segmentation import watershed

    free = markers == 0
    if not free.any():
        return markers.astype(np.int32)
    zone = ndimage.binary_dilation(free)
    flooded = watershed(edge, np.where(zone, markers, 0), mask=zone)
    return np.where(zone, flooded, markers).astype(np.int32)
