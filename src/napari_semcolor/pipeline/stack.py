"""``colorize_stack()``: an nD stack (z, t, …, H, W) coloured plane by plane."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from napari_semcolor.errors import SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline.params import one_color_flag
from napari_semcolor.pipeline.run import ColorizeResult, colorize


def colorize_stack(
    image: np.ndarray, backend: str = "propagate", hints: list[Hint] | None = None, labels: np.ndarray | None = None,
    progress: Callable[[float, str], None] | None = None, cancel=None, **kwargs
) -> ColorizeResult:
    """Colour an nD stack (z, t, …, H, W) plane by plane, with one call of :func:`colorize` each.

    A hint whose ``plane`` is set applies to that plane only; a hint without a plane applies to
    every plane. ``labels`` may be 2D (the same regions for every plane) or shaped like the stack.
    One proposal per plane (``n_samples`` is not accepted here). Other keyword arguments are
    those of :func:`colorize`.

    Returns
    -------
    ColorizeResult
        ``rgb`` has shape ``stack.shape + (3,)``; metadata of the first plane plus ``planes``,
        ``stack_shape`` and every hint with its plane.
    """
    if "one_colour_per_region" in kwargs:  # warn once, not once per plane
        kwargs["one_color_per_region"] = one_color_flag(kwargs.pop("one_color_per_region", False), kwargs.pop("one_colour_per_region"))
    stack = np.asarray(image) if not hasattr(image, "shape") else image
    if stack.ndim < 3:
        return colorize(stack, backend, hints, labels, progress=progress, cancel=cancel, **kwargs)
    if "n_samples" in kwargs and kwargs["n_samples"] != 1:
        raise SemcolorError("a stack is coloured with one proposal per plane; use n_samples=1 or colour one plane")
    kwargs.pop("n_samples", None)
    lead_shape = stack.shape[:-2]
    if labels is not None and np.ndim(labels) not in (2, stack.ndim):
        raise SemcolorError(f"labels must be 2D or shaped like the stack {stack.shape}; got {np.shape(labels)}")
    planes = list(np.ndindex(*lead_shape))
    rgb = np.empty(stack.shape + (3,), np.uint8)
    report = progress or (lambda fraction, message: None)
    first = None
    for i, index in enumerate(planes):
        plane_hints = [dataclasses.replace(h, plane=()) for h in hints or [] if not h.plane or tuple(h.plane[-len(index):]) == index]
        plane_labels = None if labels is None else (labels if np.ndim(labels) == 2 else labels[index])
        result = colorize(
            stack[index], backend, plane_hints, plane_labels, cancel=cancel,
            progress=lambda f, m, i=i: report((i + f) / len(planes), f"plane {i + 1}/{len(planes)}: {m}"),
            **kwargs,
        )
        rgb[index] = result.image
        first = first or result.metadata
    metadata = {**first, "planes": len(planes), "stack_shape": list(stack.shape), "hints": [h.to_dict() for h in hints or []]}
    return ColorizeResult(rgb[None], metadata)
