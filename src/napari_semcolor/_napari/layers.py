"""Conversions between napari layers and the core's arrays (no Qt here, only layer objects)."""

from __future__ import annotations

import numpy as np

from napari_semcolor import hints as hints_mod
from napari_semcolor.errors import SemcolorError

#: column of a Points layer's features that holds a hint's colour (#rrggbb)
HINT_FEATURE = "hint"


def hints_from_layer(layer, plane: tuple[int, ...] = (), image_layer=None, *, keep_planes: bool = False) -> list[hints_mod.Hint]:
    """Hints of a Points layer, in the pixel coordinates of ``image_layer`` (if given).

    The colour comes from the layer's ``hint`` feature when it has one (what the hint *means*),
    else from the face colour. Points on other planes of a stack are left out; with
    ``keep_planes`` all points are returned with their plane coordinates (for whole stacks).
    """
    if layer is None or len(layer.data) == 0:
        return []
    coords = np.asarray(layer.data, np.float64)
    if image_layer is not None and layer.ndim == image_layer.ndim:  # layers may differ in scale/translate
        coords = np.array([image_layer.world_to_data(layer.data_to_world(c)) for c in coords])
    if HINT_FEATURE in layer.features.columns:
        colors = list(layer.features[HINT_FEATURE])
    else:
        colors = [tuple(c[:3]) for c in layer.face_color]
    sizes = np.asarray(layer.size, np.float64)
    if image_layer is not None:
        sizes = sizes / float(np.mean(np.abs(image_layer.scale[-2:]))) * float(np.mean(np.abs(layer.scale[-2:])))
    hints = hints_mod.from_points(coords, colors, sizes)
    if keep_planes:
        return hints
    if plane:
        hints = [h for h in hints if not h.plane or h.plane[-len(plane):] == tuple(plane)]
    return [hints_mod.Hint(h.y, h.x, h.rgb, h.size) for h in hints]


def spatial_kwargs(image_layer, ndim: int | None = None) -> dict:
    """``scale``, ``translate`` and ``units`` of ``image_layer``, for a layer drawn over it.

    A layer made from an image (hints, regions, results) takes all three, so it lines up with the
    image and napari's scale bar keeps the image's unit (napari warns about mixed units otherwise).
    An RGB image's colour axis is not spatial and is left out. ``ndim``: only that many trailing
    axes (a layer of one plane of a stack); default all.
    """
    axes = slice(-ndim, None) if ndim else slice(None)
    kwargs = {"scale": tuple(image_layer.scale[axes]), "translate": tuple(image_layer.translate[axes])}
    units = getattr(image_layer, "units", None)
    if units is not None:
        kwargs["units"] = tuple(str(u) for u in units[axes])
    return kwargs


def hints_layer_for(image_layer, layers):
    """The Points layer of ``layers`` that holds the colour hints of ``image_layer``, or None.

    In order: a layer made for the image (``metadata["semcolor_image"]`` names it), a layer
    named ``"<image> hints"``, a layer whose name starts with the image's name and that has a
    ``hint`` feature, and last the only layer with a ``hint`` feature.
    """
    from napari.layers import Points

    points = [layer for layer in layers if isinstance(layer, Points)]
    if image_layer is None or not points:
        return None
    name = image_layer.name
    tests = (
        lambda layer: isinstance(layer.metadata, dict) and layer.metadata.get("semcolor_image") == name,
        lambda layer: layer.name == f"{name} hints",
        lambda layer: layer.name.startswith(name) and HINT_FEATURE in layer.features.columns,
    )
    for test in tests:
        found = [layer for layer in points if test(layer)]
        if found:
            return found[-1]  # the newest
    def unbound(layer) -> bool:  # not made for another image
        return not (isinstance(layer.metadata, dict) and layer.metadata.get("semcolor_image", name) != name)

    with_hints = [layer for layer in points if HINT_FEATURE in layer.features.columns and unbound(layer)]
    return with_hints[0] if len(with_hints) == 1 else None


def gray_plane(layer, current_step: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """The 2D gray plane of an Image layer that the viewer shows, and its leading indices."""
    if layer.rgb:
        data = np.asarray(layer.data)
        if data.ndim != 3:
            raise SemcolorError("RGB stacks are not supported; choose a gray image layer")
        return data, ()
    data = layer.data
    if data.ndim < 2:
        raise SemcolorError(f"layer {layer.name!r} is {data.ndim}D; choose a 2D (or nD) gray image")
    lead = tuple(int(i) for i in current_step[-data.ndim :][: data.ndim - 2]) if data.ndim > 2 else ()
    plane = data[lead] if lead else data
    return np.asarray(plane), lead


def output_kwargs(source, name: str, metadata: dict, n_samples: int, spatial_dims: int = 2, plane: tuple[int, ...] = ()) -> dict:
    """Layer keyword arguments for a result: source scale/translate/units kept, metadata attached.

    ``spatial_dims`` is how many trailing axes of the source the result has (2 for one plane, the
    source's ndim for a whole stack or for proposals of one plane). ``plane``: the leading indices
    of that plane, when the result's leading axes have size 1 and must sit at it.
    """
    spatial = spatial_kwargs(source, spatial_dims)
    scale, translate = list(spatial["scale"]), list(spatial["translate"])
    for i, index in enumerate(plane):  # size-1 axes placed at the plane they come from
        translate[i] += index * scale[i]
    units = list(spatial["units"]) if "units" in spatial else None
    if n_samples > 1:  # a leading sample axis
        scale, translate = [1.0, *scale], [0.0, *translate]
        units = None if units is None else ["pixel", *units]
    kwargs = {"name": name, "rgb": True, "scale": scale, "translate": translate, "metadata": {"semcolor": metadata}}
    if units is not None:
        kwargs["units"] = units
    return kwargs
