"""The Colourize dock's controls for stacks: the current plane or all planes, and how.

*all planes* colours the whole stack in one run (:func:`napari_semcolor.pipeline.colorize_stack`):
through the stack (hints on any plane colour every plane) or plane by plane (a hint colours its
own plane only), optionally aligning drifting planes first. The layer's scale (in its units) is the
voxel size, so thick planes couple less than thin ones. Only shown for images with planes.
"""

from __future__ import annotations

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

    def job(self, source) -> dict:
        """``colorize_stack`` arguments for a whole-stack run of the Image layer ``source``."""
        return {
            "through": self.through.value,
            "align": bool(self.align.value) and self.through.value == "stack",
            "spacing": voxel_spacing(source),
        }


def voxel_spacing(layer) -> tuple[float, ...]:
    """The voxel size of an Image layer along each axis, in the unit of its columns.

    Its scale, with every axis converted to the columns' unit (z in µm, pixels in nm). An axis
    whose unit is not a length there (napari's ``pixel`` on a stack whose planes have a pixel size
    from the file, or a time axis) is given the planes' pixel size: isotropic, as the CLI assumes.
    """
    import numpy as np

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
