"""Live colouring: one :class:`Session` per image answers every hint edit from cached work.

``colorize()`` starts from the raw image each time. A session does the work that depends only on
the image once — the intensity → L* map, L* at the working resolution, labels and region fills at
that resolution, and (for ``propagate``) the affinity graphs and a factorisation of the
hint-independent Laplacian — and then answers:

* :meth:`Session.preview` — a working-resolution preview in tens of milliseconds: for
  ``propagate`` the hint colours are solved exactly on the cascade's coarsest grid from a cached
  factorisation of the Laplacian and its inverse's entries among the hint pixels (one triangular
  solve per *new* hint pixel, one more for the solution), brought to the
  working grid by the guided filter and composed (L* is the image's);
* :meth:`Session.colorize` — the full-resolution result, the same ``ColorizeResult`` as
  :func:`napari_semcolor.colorize` with the same arguments, skipping the image-only stages.

Placing a preview over the image in napari (``p = session.preview(hints)``)::

    layer.data = p.rgb
    layer.scale = image_layer.scale * p.scale
    layer.translate = image_layer.translate + image_layer.scale * p.translate

Backends that split their work into a hint-free ``prior(job)`` and ``apply_hints(prior, job)``
(``eecnn``: the network's a*b*, made region-coherent, then the hints spread over it; ``nst``: the
fitted net's output, which the hints do not change) have the prior computed once per session
(per options, references, seed and number of proposals): a hint edit redoes only the hint step and
the composition (a preview's hint step may cut corners: ``apply_hints(prior, job, preview=True)``,
eecnn's runs fewer CG iterations on its finer grids; a full run does not). Other backends run at
the working resolution for each preview.

The region colour table (``region_colors``) only changes the composition: pass it per call
(:meth:`Session.preview`, :meth:`Session.colorize`) to recolour a region without re-running
anything.
"""

from __future__ import annotations

import inspect
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial
from types import SimpleNamespace

import numpy as np

from napari_semcolor import propagation, regions
from napari_semcolor.color import compose
from napari_semcolor.errors import SemcolorError, check_cancel
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import memory
from napari_semcolor.pipeline.inputs import Inputs, prepare_image, with_hints
from napari_semcolor.pipeline.params import RunParams, one_color_flag, run_params
from napari_semcolor.pipeline.propose import propose
from napari_semcolor.pipeline.refine import refine
from napari_semcolor.pipeline.run import ColorizeResult, colorize, run_prepared
from napari_semcolor.pipeline.write import full_resolution_ab
from napari_semcolor.upsample import downsample, resize_nearest

#: colorize() arguments that change the image-only work: a session call that changes one runs colorize() afresh
IMAGE_KEYS = ("backend", "labels", "keep_gray", "nan", "percentiles", "working_size")
#: hint-free backend outputs (priors) a session keeps; the least recently used goes first
PRIORS_KEPT = 4
#: ``region_colors`` not given to a call: the session's
_SESSIONS = object()
#: colorize() arguments that belong to one call, not to the session
CALL_KEYS = ("progress", "cancel", "out")


@dataclass(frozen=True)
class Preview:
    """A quick colouring at the working resolution.

    Attributes
    ----------
    rgb : (h, w, 3) uint8
        Its L* is the image's L* at this resolution.
    scale : (sy, sx)
        Image pixels per preview pixel: the layer's scale is the image layer's scale times this.
    translate : (ty, tx)
        Offset in image pixels that puts preview pixel centres over the image pixels they
        average: ``(scale − 1) / 2``; multiply by the image layer's scale and add its translate.
    """

    rgb: np.ndarray
    scale: tuple[float, float]
    translate: tuple[float, float]


class Session:
    """Colour one image again and again as its hints change, reusing the image-only work.

    Parameters
    ----------
    image : (H, W) array-like
        As for :func:`napari_semcolor.colorize` (kept by reference; a lazy array stays lazy).
    backend : str
    labels : (H, W) int array, optional
    options : dict, optional
    databar_gray : bool
        As for :func:`napari_semcolor.colorize`: an instrument data bar found in a 2D numpy image
        is kept gray unless this is False or ``keep_gray`` is given.
    **colorize_kwargs
        Any other argument of :func:`napari_semcolor.colorize` except ``hints`` (``references``,
        ``n_samples``, ``seed``, ``working_size``, ``region_colors``, ``same_gray``, ...).

    Raises
    ------
    SemcolorError
        As :func:`napari_semcolor.colorize` for the image, labels and options, or an argument
        ``colorize`` does not take.

    Examples
    --------
    >>> session = Session(image, "propagate")
    >>> session.preview(hints).rgb          # per edit, at working resolution
    >>> session.colorize(hints).image       # full resolution, as colorize(image, hints=hints)
    """

    def __init__(
        self, image, backend: str = "propagate", labels: np.ndarray | None = None, options: dict | None = None,
        *, databar_gray: bool = True, **colorize_kwargs,
    ):
        _check_keys(colorize_kwargs)
        from napari_semcolor.files.sem_tiff import default_keep_gray

        colorize_kwargs["keep_gray"] = default_keep_gray(image, colorize_kwargs.get("keep_gray"), databar_gray)  # as colorize() does
        self._kwargs = {**colorize_kwargs, "backend": backend, "labels": labels, "options": options}
        self._image = image
        self._params, self._spec = _params(self._kwargs)
        kw = self._kwargs
        self.inputs: Inputs = prepare_image(image, labels, kw.get("keep_gray"), self._params, self._spec)
        self._live_graph = None  # propagate's directly solved grid's Graph, built by the first call
        self._levels: list = []
        self._keep_gray_work = None if kw.get("keep_gray") is None else resize_nearest(np.asarray(kw["keep_gray"], bool), self.inputs.work)
        model = _model(self._params)
        self._model = _CachedPrior(model) if hasattr(model, "prior") and hasattr(model, "apply_hints") else model
        self._present = None  # the labels that occur, found once (checks the region colour tables)

    @property
    def shape(self) -> tuple[int, int]:
        """Full-resolution (H, W)."""
        return self.inputs.shape

    def preview(self, hints: list[Hint] | None = None, *, region_colors=_SESSIONS, cancel=None) -> Preview:
        """A working-resolution colouring for ``hints`` (full-resolution coordinates), fast.

        ``region_colors`` (as for :func:`~napari_semcolor.colorize`; default: the session's) is
        applied when composing: changing it re-runs nothing.

        Raises
        ------
        SemcolorError
            A hint outside the image or with a bad colour or size, or a bad region colour table.
        Cancelled
            The cancel token was set.
        """
        table = self._kwargs.get("region_colors") if region_colors is _SESSIONS else region_colors
        inputs = self._with(hints, table)
        if self._params.backend == "propagate":
            ab = self._live_propagate(inputs.hint_ab, inputs.hint_mask)
            check_cancel(cancel)
            if self._params.one_color_per_region or self._params.same_gray:
                ab = refine(ab, inputs, self._params)
        else:  # eecnn, nst: the prior is cached, only the hints are applied (other backends run)
            self._direct_graph()  # marked live: eecnn's hint step reuses its factorisation from the second edit
            model = self._model.previewing() if isinstance(self._model, _CachedPrior) else self._model
            ab, _ = propose(model, inputs, self._params, self._spec, self._kwargs.get("references"), lambda f, m: None, cancel)
            check_cancel(cancel)
            ab = refine(ab[0], inputs, self._params, spread=self._live_propagate)  # the correction from the cached factorisation
        check_cancel(cancel)
        return self._compose(ab, inputs)

    def colorize(self, hints: list[Hint] | None = None, **kwargs) -> ColorizeResult:
        """The full-resolution result: what ``colorize(image, hints=hints, **session_and_call_kwargs)`` returns.

        ``kwargs`` override the session's arguments for this call. Changing one of
        :data:`IMAGE_KEYS` runs :func:`~napari_semcolor.colorize` afresh (nothing cached applies);
        another ``region_colors`` only changes the composition.
        """
        _check_keys(kwargs)
        t0 = time.perf_counter()
        merged = {**self._kwargs, **kwargs}
        if any(key in kwargs and not _same(kwargs[key], self._kwargs.get(key)) for key in IMAGE_KEYS):
            return colorize(self._image, hints=hints, **merged)
        params, spec = _params(merged)
        report = merged.get("progress") or (lambda fraction, message: None)
        memory.check_memory(self.shape, params.n_samples, self.inputs.labels is not None, in_memory_output=merged.get("out") is None)
        report(0.0, "preparing")
        inputs = self._with(hints, params.region_colors)
        if params.backend == "propagate":
            self._direct_graph()
        check_cancel(merged.get("cancel"))
        return run_prepared(inputs, params, spec, merged.get("references"), report, merged.get("cancel"), merged.get("out"), t0, self._model)

    def _with(self, hints: list[Hint] | None, region_colors) -> Inputs:
        """The session's inputs with ``hints`` and the fills of ``region_colors`` (validated)."""
        inputs = with_hints(self.inputs, hints)
        if region_colors is self._kwargs.get("region_colors"):
            return inputs
        if self._present is None and self.inputs.labels is not None:
            self._present = np.unique(self.inputs.labels)  # once: a full-resolution pass
        return replace(inputs, fills=regions.parse_region_colors(region_colors, self._present))

    def _live_propagate(self, values: np.ndarray, hint_mask: np.ndarray) -> np.ndarray:
        """``propagate(L_work, values, hint_mask, labels_work)`` for a preview: solved on the
        cascade's coarsest grid from its cached factorisation, guided-upsampled to the working grid."""
        graph = self._direct_graph()
        L, labels = self._levels[-1]
        mask = hint_mask > 0
        for level_L, _ in self._levels[1:]:
            values, mask = propagation.coarsen_hints(values, mask, level_L.shape)
        h, w = L.shape
        x = graph.solve(values.reshape(h * w, -1), mask.ravel()).reshape(h, w, -1)
        work = self.inputs.work
        if (h, w) == work:
            return x
        at_rows = full_resolution_ab(x, L, None, work, [], labels, self.inputs.labels_work)
        return at_rows(self.inputs.L_work, slice(0, work[0]))

    def _direct_graph(self) -> propagation.Graph:
        """The Graph of the grid where propagate's cascade solves directly, marked live (built once)."""
        if self._live_graph is None:
            L, labels = self.inputs.L_work, self.inputs.labels_work
            self._levels = [(L, labels)]
            while L.shape[0] * L.shape[1] > propagation.DIRECT_LIMIT and min(L.shape) >= 4:  # as propagate()
                coarse = propagation.coarse_shape(L.shape)
                L, labels = downsample(L, coarse), None if labels is None else resize_nearest(labels, coarse)
                self._levels.append((L, labels))
            self._live_graph = propagation.graph(L, labels)
            self._live_graph.live = True  # colorize() on this image reuses its factorisation too
        return self._live_graph

    def _compose(self, ab: np.ndarray, inputs: Inputs) -> Preview:
        if inputs.fills:
            ab = regions.fill_regions(ab, inputs.L_work, inputs.labels_work, inputs.fills, chunk_rows=inputs.work[0])
        if self._keep_gray_work is not None:
            ab = np.where(self._keep_gray_work[..., None], 0, ab)
        (H, W), (h, w) = inputs.shape, inputs.work
        scale = (H / h, W / w)
        return Preview(compose(inputs.L_work, ab), scale, ((scale[0] - 1) / 2, (scale[1] - 1) / 2))


class _CachedPrior:
    """A backend whose hint-free ``prior(job)`` is computed once per job that differs in more than hints.

    The prior depends on the session's image and labels (fixed) and on the job's options,
    references, seed, number of proposals and device: those are its key. References count as
    the same when they are the same objects (kept alive with the prior, so an id is not reused).
    """

    def __init__(self, model):
        self.model = model
        self.spec = model.spec
        self._priors: OrderedDict[tuple, tuple[np.ndarray, dict]] = OrderedDict()

    def colorize(self, job, *, preview: bool = False) -> np.ndarray:
        refs = dict(job.references)
        key = (job.n_samples, job.seed, job.device, repr(sorted(job.options.items())), tuple(sorted((repr(k), id(v)) for k, v in refs.items())))
        if key in self._priors:
            self._priors.move_to_end(key)
        else:
            self._priors[key] = (self.model.prior(job), refs)  # a cancelled prior raises: nothing kept
            while len(self._priors) > PRIORS_KEPT:
                self._priors.popitem(last=False)
        return self.model.apply_hints(self._priors[key][0], job, preview=preview)

    def previewing(self) -> SimpleNamespace:
        """This backend for a per-edit preview: ``apply_hints(..., preview=True)`` (may cut corners)."""
        return SimpleNamespace(spec=self.spec, colorize=partial(self.colorize, preview=True))


def _model(params: RunParams):
    from napari_semcolor.backends import get_backend

    return get_backend(params.backend)


def _same(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False  # arrays count as the same only when they are the same object
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _check_keys(kwargs: dict) -> None:
    allowed = set(inspect.signature(colorize).parameters) - {"image", "hints"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise SemcolorError(f"Session does not take {', '.join(unknown)}; it takes the arguments of colorize(): {', '.join(sorted(allowed))}")


def _params(kwargs: dict) -> tuple[RunParams, object]:
    return run_params(
        kwargs.get("backend", "propagate"), n_samples=kwargs.get("n_samples", 1), seed=kwargs.get("seed", 0),
        options=kwargs.get("options"), working_size=kwargs.get("working_size"), device=kwargs.get("device", "auto"),
        nan=kwargs.get("nan"), percentiles=kwargs.get("percentiles"), region_colors=kwargs.get("region_colors"),
        same_gray=kwargs.get("same_gray", 0.0),
        one_color_per_region=one_color_flag(kwargs.get("one_color_per_region", False), kwargs.get("one_colour_per_region"), stacklevel=4),
    )

