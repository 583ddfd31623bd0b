"""NST-CNN backend: colour from a reference image, one reference per region (Goytom et al. 2019).

For every distinct reference a small CNN (:class:`napari_semcolor.nets.nstcnn.NSTCNN`) is fitted
on random crops of the reference's own L* → a*b*, then applied to the gray image. Before applying,
the content's L* is remapped to the reference's mean and standard deviation (luminance remapping,
Welsh, Ashikhmin & Mueller 2002) — for the net's input only; the output keeps the content's L*,
which the pipeline guarantees.

References (``job.references``)
-------------------------------
label → reference, label 0 = the default for every region not listed (with no labels, the whole
image uses label 0). A reference is an RGB or RGBA image of any size and dtype (uint8, uint16,
floats in [0, 1]; floats above 1 are read as 0–255, or 0–65535 above 255), or a pair
``(image, mask)`` with a boolean (H, W) mask of the pixels to learn from. An RGBA image's alpha
channel is a mask too (alpha ≥ ½ is used). A region with no reference and no default stays gray.

Options (``job.options``)
-------------------------
iterations : int
    Most fit iterations per reference (default :data:`ITERATIONS`).
seconds : float
    Most fit time per reference, in seconds (default :data:`SECONDS`). Whichever budget ends
    first stops the fit; a fit that stops on time depends on the machine's speed.
same_gray : float in [0, 1]
    Strength of "same gray, same colour" (pixels of equal L* within a region take the dominant
    a*b* among them), applied by this backend to its own output (default :data:`SAME_GRAY`).
    The pipeline's ``same_gray`` argument is independent and applies on top.
match_chroma : float in [0, 1]
    Strength of the chroma matching (default :data:`MATCH_CHROMA`): the output's chroma is
    remapped, rank for rank, to the reference's chroma distribution over the pixels that reference
    colours, hue kept (:mod:`napari_semcolor.backends.nstchroma`). Without it a weak or
    many-hued reference gives a near-gray output: the fit predicts a central a*b*.
width, crop, batch, lr : net width, crop size, crops per iteration, learning rate.
threads : int
    torch threads during fit and apply (default :data:`THREADS`; restored afterwards).

Fitted nets are kept in a small in-process LRU cache keyed by a hash of the reference's pixels
(after conversion to L*a*b* and masking) and the fit parameters, so a re-run is instant.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from napari_semcolor import postprocess
from napari_semcolor.backends.base import Job
from napari_semcolor.backends.nstchroma import match_chroma
from napari_semcolor.backends.spec import BackendSpec, Option
from napari_semcolor.color import image_to_lab
from napari_semcolor.errors import SemcolorError
from napari_semcolor.upsample import downsample, resize_nearest, working_shape

ITERATIONS = 200
SECONDS = 2.5
SAME_GRAY = 0.75
MATCH_CHROMA = 1.0
WIDTH = 16
CROP = 32
BATCH = 8
LR = 5e-3
#: torch threads for fit and apply: these small convolutions ran 4-6x slower on 2 threads than on
#: 1 on the 2-core reference machine (one core busy), so 1 unless ``options["threads"]`` says more
THREADS = 1
#: references are fitted at this long side at most (colour statistics need no more)
REFERENCE_SIZE = 384
#: a reference whose 99th-percentile chroma is below this is gray
MIN_CHROMA = 3.0
CACHE_SIZE = 16
#: the options that shape a fit (and so its cache key)
FIT_OPTIONS = ("iterations", "seconds", "width", "crop", "batch", "lr")

_cache: OrderedDict[str, object] = OrderedDict()
_cache_lock = threading.Lock()


# -- references ---------------------------------------------------------------------------------
def reference_lab(reference, *, max_size: int = REFERENCE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """A user's reference as (Lab (h, w, 3) float32, mask (h, w) bool) at most ``max_size`` long.

    Parameters
    ----------
    reference : array or (array, mask)
        RGB/RGBA image of any dtype, optionally with a boolean mask of the pixels to use.

    Raises
    ------
    SemcolorError
        Not an image, gray, or an empty mask.
    """
    mask = None
    if isinstance(reference, (tuple, list)):
        if len(reference) != 2:
            raise SemcolorError("a reference is an image or a pair (image, mask)")
        reference, mask = reference
    img = np.asarray(reference)
    if img.ndim == 2 or (img.ndim == 3 and img.shape[-1] in (1, 2)):
        raise SemcolorError("a reference must have colour: this one is a grayscale image; use an RGB image")
    if img.ndim != 3 or img.shape[-1] not in (3, 4) or min(img.shape[:2]) < 1:
        raise SemcolorError(f"a reference must be an RGB or RGBA image (H, W, 3|4); got shape {img.shape}")
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.floating):
        img = np.nan_to_num(img.astype(np.float32))
        top = float(img[..., :3].max(initial=0))
        img = img / (255.0 if top <= 255 else 65535.0) if top > 1 else img
    keep = np.ones(img.shape[:2], bool)
    if img.shape[-1] == 4:
        alpha = img[..., 3].astype(np.float32) / (np.iinfo(img.dtype).max if np.issubdtype(img.dtype, np.integer) else 1.0)
        keep &= alpha >= 0.5
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != img.shape[:2]:
            raise SemcolorError(f"a reference mask must have the reference's shape {img.shape[:2]}; got {mask.shape}")
        keep &= mask.astype(bool)
    if not keep.any():
        raise SemcolorError("a reference's mask (or alpha channel) selects no pixels; select part of the image")
    lab = image_to_lab(img[..., :3])
    chroma = np.hypot(lab[..., 1], lab[..., 2])[keep]
    if np.percentile(chroma, 99) < MIN_CHROMA:
        raise SemcolorError("a reference must have colour: this one is gray; choose a colour image")
    shape = working_shape(lab.shape[:2], max_size)
    lab = downsample(lab, shape)
    keep = resize_nearest(keep, shape)
    if not keep.any():
        raise SemcolorError("a reference's mask is too small; select a larger part of the image")
    return lab.astype(np.float32), keep


def remap_luminance(L: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Welsh et al. (2002) luminance remapping: shift and scale ``L`` so that the statistics of
    ``source`` (pixels of the content) match those of ``target`` (pixels of the reference).

    Returns float32 in [0, 100]; a flat ``source`` is only shifted.
    """
    mu_s, sd_s = float(np.mean(source)), float(np.std(source))
    mu_t, sd_t = float(np.mean(target)), float(np.std(target))
    scale = sd_t / sd_s if sd_s > 1e-3 else 1.0
    return np.clip((L - mu_s) * scale + mu_t, 0, 100).astype(np.float32)


# -- fitting -------------------------------------------------------------------------------------
def fit_params(options: dict) -> dict:
    """The fit parameters (:data:`FIT_OPTIONS`) from options validated against the backend's spec."""
    return {key: options[key] for key in FIT_OPTIONS}


def cache_key(lab: np.ndarray, mask: np.ndarray, params: dict, seed: int) -> str:
    """Hash of the reference pixels (as fitted) and everything that shapes the fit."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(lab, np.float32).tobytes())
    h.update(np.packbits(mask).tobytes())
    h.update(repr((lab.shape, sorted(params.items()), int(seed))).encode())
    return h.hexdigest()


def cached(key: str):
    """The fitted net for ``key``, or None (marks it most recently used)."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def clear_cache() -> None:
    """Forget every fitted net."""
    with _cache_lock:
        _cache.clear()


def _store(key: str, net) -> None:
    with _cache_lock:
        _cache[key] = net
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


@contextmanager
def _threads(n: int | None):
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def crop_corners(mask: np.ndarray, crop: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` top-left corners of ``crop``-sized windows, each centred near a random masked pixel."""
    H, W = mask.shape
    ys, xs = np.nonzero(mask)
    k = rng.integers(len(ys), size=n)
    y0 = np.clip(ys[k] - crop // 2, 0, max(H - crop, 0))
    x0 = np.clip(xs[k] - crop // 2, 0, max(W - crop, 0))
    return np.stack([y0, x0], axis=1)


def fit(lab: np.ndarray, mask: np.ndarray, params: dict, seed: int, job: Job | None = None, *, fraction=(0.0, 1.0)):
    """Fit an :class:`NSTCNN` to one reference: L* crops → a*b* crops, L1 loss, Adam.

    Stops after ``params["iterations"]`` iterations or ``params["seconds"]`` seconds. Checks
    ``job.check_cancel()`` between iterations (raising :class:`Cancelled`) and reports progress
    within ``fraction``. Returns the net in eval mode (not cached: see :func:`fitted_net`).
    """
    import torch

    from napari_semcolor.nets.nstcnn import NSTCNN

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    H, W = mask.shape
    crop = min(params["crop"], H, W)
    t_lab = torch.from_numpy(np.ascontiguousarray(lab.transpose(2, 0, 1)))
    t_mask = torch.from_numpy(mask.astype(np.float32))
    net = NSTCNN(params["width"])
    net.set_mean_colour(torch.from_numpy(lab[mask][:, 1:].mean(axis=0)))
    opt = torch.optim.Adam(net.parameters(), lr=params["lr"])
    f0, f1 = fraction
    t0 = time.perf_counter()
    net.train()
    for it in range(params["iterations"]):
        if job is not None:
            job.check_cancel()
        if time.perf_counter() - t0 > params["seconds"]:
            break
        corners = crop_corners(mask, crop, params["batch"], rng)
        flips = rng.integers(2, size=(len(corners), 2))
        patches, weights = [], []
        for (y, x), (fy, fx) in zip(corners, flips):
            p = t_lab[:, y : y + crop, x : x + crop]
            m = t_mask[y : y + crop, x : x + crop]
            dims = [d for d, f in ((1, fy), (2, fx)) if f]
            if dims:  # flips: cheap augmentation, colour does not depend on orientation
                p, m = p.flip(dims), m.flip([d - 1 for d in dims])
            patches.append(p)
            weights.append(m)
        batch, w = torch.stack(patches), torch.stack(weights)[:, None]
        pred = net(batch[:, :1])
        loss = ((pred - batch[:, 1:]).abs() * w).sum() / (2 * w.sum()).clamp_min(1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if job is not None and it % 10 == 0:
            done = max(it / max(params["iterations"], 1), (time.perf_counter() - t0) / max(params["seconds"], 1e-6))
            job.report(f0 + (f1 - f0) * min(done, 1.0), f"fitting to the reference ({it} iterations)")
    if job is not None:
        job.check_cancel()
    return net.eval()


def fitted_net(lab: np.ndarray, mask: np.ndarray, params: dict, seed: int, job: Job | None = None, *, fraction=(0.0, 1.0)):
    """The net for one reference (from :func:`reference_lab`): from the cache, or fitted and cached.

    A cancelled fit raises before anything is cached.
    """
    key = cache_key(lab, mask, params, seed)
    net = cached(key)
    if net is None:
        net = fit(lab, mask, params, seed, job, fraction=fraction)
        _store(key, net)
    return net


#: above this many pixels a side the net is applied in tiles (bounded memory at large working sizes)
APPLY_TILE = 512


def apply(net, L: np.ndarray, *, tile: int = APPLY_TILE) -> np.ndarray:
    """Run a fitted net on an (h, w) L* image; returns (h, w, 2) float32 a*b*.

    Images larger than ``tile`` are processed in ``tile``² tiles, each read with a margin of the
    net's receptive-field radius (``sum(DILATIONS)`` + 1 pixels): every kept output pixel sees
    exactly the input it would see in one pass, so tiles need no blending and leave no seam, and
    the activations (24 channels per pixel) stay a few tens of MB at any working size.
    """
    import torch

    from napari_semcolor.nets.nstcnn import DILATIONS

    L = np.ascontiguousarray(L, np.float32)
    h, w = L.shape
    halo = sum(DILATIONS) + 1
    out = np.empty((h, w, 2), np.float32)
    with torch.inference_mode():
        for y in range(0, h, tile):
            for x in range(0, w, tile):
                ya, xa = max(y - halo, 0), max(x - halo, 0)
                yb, xb = min(y + tile + halo, h), min(x + tile + halo, w)
                ab = net(torch.from_numpy(np.ascontiguousarray(L[ya:yb, xa:xb]))[None, None])[0].permute(1, 2, 0).numpy()
                out[y : y + tile, x : x + tile] = ab[y - ya : y - ya + min(tile, h - y), x - xa : x - xa + min(tile, w - x)]
    return out


# -- the backend ----------------------------------------------------------------------------------
def assign_references(references: dict, labels: np.ndarray | None) -> dict[int, object]:
    """Which reference colours which label: listed labels their own, the rest label 0's (if any).

    Returns {label present: reference}; labels with no reference are left out (they stay gray).
    """
    if not references:
        raise SemcolorError("the nst backend needs a colour reference image (label 0 for the whole image)")
    refs = {}
    for k, v in references.items():
        try:
            refs[int(k)] = v
        except (TypeError, ValueError):
            raise SemcolorError(f"reference keys are region labels (integers); got {k!r}") from None
    present = [0] if labels is None else [int(v) for v in np.unique(labels)]
    out = {k: refs.get(k, refs.get(0)) for k in present}
    return {k: v for k, v in out.items() if v is not None}


class NSTCNNBackend:
    """Reference colouring: a small CNN fitted at run time on each reference (see module doc)."""

    spec = BackendSpec(
        name="nst",
        summary="colours learnt from your colour reference image(s), one reference per region",
        working_size=384,
        seeded=True,
        uses_torch=True,
        references=True,
        live=True,
        options=(
            Option(
                "same_gray", float, SAME_GRAY,
                "NST's own 'same gray, same colour': pixels of equal L* take the dominant colour among them "
                "(the general one of every backend applies on top)",
                min=0.0, max=1.0,
            ),
            Option(
                "match_chroma", float, MATCH_CHROMA, "give the output the reference's chroma distribution (0: the net's own)",
                min=0.0, max=1.0, advanced=True,
            ),
            Option("iterations", int, ITERATIONS, "most fit iterations per reference", min=0, max=10_000_000, advanced=True),
            Option(
                "seconds", float, SECONDS, "most fit time per reference (s); a fit stopped on time depends on the machine",
                min=0.0, max=3600.0, advanced=True,
            ),
            Option("width", int, WIDTH, "channels of the fitted net", min=1, max=256, advanced=True),
            Option("crop", int, CROP, "crop size of the fit (pixels)", min=4, max=1024, advanced=True),
            Option("batch", int, BATCH, "crops per fit iteration", min=1, max=1024, advanced=True),
            Option("lr", float, LR, "learning rate of the fit", min=1e-6, max=1.0, advanced=True),
            Option("threads", int, THREADS, "torch threads during fit and apply", min=1, max=256, advanced=True),
        ),
    )

    def colorize(self, job: Job) -> np.ndarray:
        """a*b* (n_samples, h, w, 2) for ``job.L`` from ``job.references`` (repeated per sample)."""
        return self.prior(job)

    def apply_hints(self, prior: np.ndarray, job: Job, *, preview: bool = False) -> np.ndarray:
        """The hints do not change this backend's output (the pipeline corrects to them): a copy of ``prior``
        (``preview`` changes nothing)."""
        return prior.copy()

    def prior(self, job: Job) -> np.ndarray:
        """All of :meth:`colorize`: it ignores the hints (a live session caches it per reference)."""
        job.check_cancel()
        params = fit_params(job.options)
        assigned = assign_references(job.references, job.labels)
        # group labels by reference (the same object → one fit, one pass of the net); all
        # references are converted (and validated) before any fitting starts
        groups: dict[int, list[int]] = {}
        prepared = {}
        for k, ref in assigned.items():
            groups.setdefault(id(ref), []).append(k)
            if id(ref) not in prepared:
                prepared[id(ref)] = reference_lab(ref)
        L = job.L.astype(np.float32)
        ab = np.zeros(L.shape + (2,), np.float32)
        matched = []  # (pixels, the reference's a*b*) of each group, for the chroma matching
        n = len(groups)
        with _threads(job.options["threads"]):
            for i, (rid, ks) in enumerate(groups.items()):
                lab, mask = prepared[rid]
                net = fitted_net(lab, mask, params, job.seed, job, fraction=(i / n, (i + 0.9) / n))
                where = np.ones(L.shape, bool) if job.labels is None else np.isin(job.labels, ks)
                L_in = remap_luminance(L, L[where], lab[..., 0][mask])
                ab[where] = apply(net, L_in)[where]
                matched.append((where, lab[..., 1:][mask]))
                job.report((i + 1) / n, f"applied reference {i + 1}/{n}")
        ab = postprocess.same_gray_same_color(ab, L, job.options["same_gray"], job.labels)
        for where, reference_ab in matched:  # last, so the chroma follows the reference's
            ab = match_chroma(ab, reference_ab, where, job.options["match_chroma"], L)
        return np.repeat(ab[None], max(1, int(job.n_samples)), axis=0)


__all__ = ["NSTCNNBackend", "reference_lab", "remap_luminance", "fit", "fitted_net", "apply", "assign_references", "clear_cache"]
