"""The Colourize dock's controls for stacks: the current plane or all planes, and how.

*all planes* colours the whole stack in one run (:func:`napari_semcolor.pipeline.colorize_stack`):
through the stack (hints on any plane colour every plane) or plane by plane (a hint colours its
own plane only), optionally aligning drifting planes first. The layer's scale (in its units) is the
voxel size, so thick planes couple less than thin ones. Only shown for images with planes.

Live mode with *all planes*: a hint edit re-colours the plane shown (preview, then full
resolution) and writes it into that plane of the stack result, keeping every other plane; Run
colours the whole stack again. Without a stack result to write into, the plane goes to a layer
of its own (:func:`plane_layer_name`), never over a stack result.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox

from napari_semcolor._widgets.common import labelled_checkbox

CURRENT, ALL = "current plane", "all planes"
THROUGH_CHOICES = [("through the stack", "stack"), ("plane by plane", "planes")]


class StackControls:
    """Which planes a run colours (``planes``), how hints reach the others (``through``), drift (``align``)."""

    def __init__(self):
        self.planes = ComboBox(choices=[CURRENT, ALL], value=CURRENT, label="stack")
        self.through = ComboBox(choices=THROUGH_CHOICES, value="stack", label="all planes")
        self.through.tooltip = (
            "through the stack: hints on any plane colour every plane, consistently from plane to plane; "
            "plane by plane: each plane on its own (a hint colours its own plane only)"
        )
        self.align = labelled_checkbox("align the planes first", "drift", False)
        self.align.tooltip = "for drifting stacks and time series: consecutive planes are aligned (phase correlation) before colour is passed between them"
        self._stack = False
        self.planes.changed.connect(self._update)
        self.through.changed.connect(self._update)

    @property
    def widgets(self) -> tuple:
        """The controls, in the dock's order."""
        return self.planes, self.through, self.align

    def show(self, is_stack: bool) -> None:
        """Show the controls for an image with planes, hide them for a 2D one."""
        self._stack = is_stack
        self._update()

    def _update(self, *_) -> None:
        whole = self._stack and self.planes.value == ALL
        self.planes.visible = self._stack
        self.through.visible = whole
        self.align.visible = whole and self.through.value == "stack"

    def into_stack(self, layers, candidates, source, lead: tuple[int, ...], rgb, resolution: str):
        """With *all planes* chosen: write one plane's colours (a live edit's) into plane ``lead``
        of the stack result of ``source``, the first of ``candidates`` (layers or layer names)
        that is one, of the right shape and writable. ``rgb`` may be smaller than a plane (a
        preview): it is enlarged, nearest pixel. Returns that layer, or None if there is none.
        """
        if not (self._stack and self.planes.value == ALL and lead):
            return None
        want = (*source.data.shape[: len(lead) + 2], 3)
        for layer in candidates:
            layer = layers[layer] if isinstance(layer, str) and layer in layers else layer
            if layer is None or isinstance(layer, str) or layer not in layers or not is_stack_result(layer):
                continue
            data = layer.data
            if isinstance(data, np.ndarray) and data.shape == want and data.flags.writeable:
                data[lead] = fill_plane(rgb, want[-3:-1])
                record = layer.metadata.setdefault("semcolor", {})
                record["resolution"] = resolution
                record["live_planes"] = sorted({*map(tuple, record.get("live_planes", ())), tuple(lead)})
                layer.refresh()
                return layer
        return None

    def job(self, source) -> dict:
        """``colorize_stack`` arguments for a whole-stack run of the Image layer ``source``."""
        return {
            "through": self.through.value,
            "align": bool(self.align.value) and self.through.value == "stack",
            "spacing": voxel_spacing(source),
        }


def is_stack_result(layer) -> bool:
    """A result layer of a whole-stack run (its record counts the planes)."""
    return isinstance(layer.metadata, dict) and bool(layer.metadata.get("semcolor", {}).get("planes"))


def plane_layer_name(layers, name: str) -> str:
    """``name``, or ``"<name> plane"`` when the layer ``name`` holds a stack result (kept, not overwritten)."""
    return f"{name} plane" if name in layers and is_stack_result(layers[name]) else name


def fill_plane(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``rgb`` (h, w, 3) enlarged to ``shape`` by nearest pixel (a preview covers the plane evenly)."""
    if rgb.shape[:2] == tuple(shape):
        return rgb
    rows = np.minimum(np.arange(shape[0]) * rgb.shape[0] // shape[0], rgb.shape[0] - 1)
    cols = np.minimum(np.arange(shape[1]) * rgb.shape[1] // shape[1], rgb.shape[1] - 1)
    return rgb[rows[:, None], cols[None, :]]


def voxel_spacing(layer) -> tuple[float, ...]:
    """The voxel size of an Image layer along each axis, in the unit of its columns.

    Its scale, with every axis converted to the columns' unit (z in µm, pixels in nm). An axis
    whose unit is not a length there (napari's ``pixel`` on a stack whose planes have a pixel size
    from the file, or a time axis) is given the planes' pixel size: isotropic, as the CLI assumes.
    """
    scale = [abs(float(s)) for s in layer.scale]
    units = getattr(layer, "units", None)
    if units is None:
        return tuple(scale)
    spacing = []
    for s, unit in zip(scale, units):
        try:
            spacing.append(float((s * unit).to(units[-1]).magnitude))
        except Exception:  # noqa: BLE001 - pint's DimensionalityError (and kin): not a length
            spacing.append(float(np.mean(scale[-2:])))
    return tuple(spacing)
