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

Backends other than ``propagate`` cache only the image-only inputs; each preview runs the backend
at the working resolution (no full-resolution write).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

import numpy as np

from napari_semcolor import propagation
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
IMAGE_KEYS = ("backend", "labels", "keep_gray", "nan", "percentiles", "working_size", "region_colors")
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

    def __init__(self, image, backend: str = "propagate", labels: np.ndarray | None = None, options: dict | None = None, **colorize_kwargs):
        _check_keys(colorize_kwargs)
        self._kwargs = {**colorize_kwargs, "backend": backend, "labels": labels, "options": options}
        self._image = image
        self._params, self._spec = _params(self._kwargs)
        kw = self._kwargs
        self.inputs: Inputs = prepare_image(image, labels, kw.get("keep_gray"), self._params, self._spec)
        self._live_graph = None  # propagate's directly solved grid's Graph, built by the first call
        self._levels: list = []
        self._keep_gray_work = None if kw.get("keep_gray") is None else resize_nearest(np.asarray(kw["keep_gray"], bool), self.inputs.work)

    @property
    def shape(self) -> tuple[int, int]:
        """Full-resolution (H, W)."""
        return self.inputs.shape

    def preview(self, hints: list[Hint] | None = None, *, cancel=None) -> Preview:
        """A working-resolution colouring for ``hints`` (full-resolution coordinates), fast.

        Raises
        ------
        SemcolorError
            A hint outside the image or with a bad colour or size.
        Cancelled
            The cancel token was set.
        """
        inputs = with_hints(self.inputs, hints)
        if self._params.backend == "propagate":
            ab = self._propagate_preview(inputs)
            check_cancel(cancel)
            if self._params.one_color_per_region or self._params.same_gray:
                ab = refine(ab, inputs, self._params)
        else:  # TODO(issue 14): cache eecnn features / a fitted nst net; for now the backend runs per preview
            ab, _ = propose(_model(self._params), inputs, self._params, self._spec, self._kwargs.get("references"), lambda f, m: None, cancel)
            ab = refine(ab[0], inputs, self._params)
        check_cancel(cancel)
        return self._compose(ab, inputs)

    def colorize(self, hints: list[Hint] | None = None, **kwargs) -> ColorizeResult:
        """The full-resolution result: what ``colorize(image, hints=hints, **session_and_call_kwargs)`` returns.

        ``kwargs`` override the session's arguments for this call. Changing one of
        :data:`IMAGE_KEYS` runs :func:`~napari_semcolor.colorize` afresh (nothing cached applies).
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
        inputs = with_hints(self.inputs, hints)
        if params.backend == "propagate":
            self._direct_graph()
        check_cancel(merged.get("cancel"))
        return run_prepared(inputs, params, spec, merged.get("references"), report, merged.get("cancel"), merged.get("out"), t0)

    def _propagate_preview(self, inputs: Inputs) -> np.ndarray:
        graph = self._direct_graph()
        L, labels = self._levels[-1]
        values, mask = inputs.hint_ab, inputs.hint_mask > 0
        for level_L, _ in self._levels[1:]:
            values, mask = propagation.coarsen_hints(values, mask, level_L.shape)
        h, w = L.shape
        x = graph.solve(values.reshape(h * w, -1), mask.ravel()).reshape(h, w, -1)
        if (h, w) == inputs.work:
            return x
        at_rows = full_resolution_ab(x, L, None, inputs.work, [], labels, inputs.labels_work)
        return at_rows(inputs.L_work, slice(0, inputs.work[0]))

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
            from napari_semcolor.regions import fill_regions

            ab = fill_regions(ab, inputs.L_work, inputs.labels_work, inputs.fills, chunk_rows=inputs.work[0])
        if self._keep_gray_work is not None:
            ab = np.where(self._keep_gray_work[..., None], 0, ab)
        (H, W), (h, w) = inputs.shape, inputs.work
        scale = (H / h, W / w)
        return Preview(compose(inputs.L_work, ab), scale, ((scale[0] - 1) / 2, (scale[1] - 1) / 2))


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

