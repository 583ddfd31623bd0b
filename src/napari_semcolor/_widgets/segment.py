"""The Segment dock widget: image + method + its parameters → a Labels layer ``"<image> regions (<method>)"``.

Thin: everything it computes is :func:`napari_semcolor.segment.segment`, run in a thread worker.
For the fast methods (thresholds) a live preview re-runs the segmentation shortly after a
parameter stops changing (debounced); HED runs only on Run. The Labels layer keeps the source's
scale, translate and units. Each method has its own layer: re-running a method updates its layer
in place (edits with napari's label tools are lost only when the user asks that method again),
while trying another method leaves the earlier result to compare with. The instrument data bar is
left out (label 0) unless the user unticks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSlider, FloatSpinBox, SpinBox, create_widget

from napari_semcolor._napari.calibration import calibrate, follow_new_layers
from napari_semcolor._napari.layers import gray_plane, spatial_kwargs
from napari_semcolor._widgets.common import labelled_checkbox, natural_height, update_or_add
from napari_semcolor._widgets.parts.debounce import Debouncer
from napari_semcolor._widgets.parts.runner import Runner
from napari_semcolor._widgets.parts.settings import DockSettings
from napari_semcolor.errors import SemcolorError

if TYPE_CHECKING:
    import napari

#: milliseconds without a parameter change before a live preview runs
PREVIEW_DELAY_MS = 300


def result_name(image: str, method: str) -> str:
    """The Labels layer of one method's result: ``"<image> regions (<method>)"``."""
    return f"{image} regions ({method})"


class SegmentWidget(Container):
    """Dock widget: choose image, method and parameters; Run adds (or updates) a Labels layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        from napari.layers import Image

        from napari_semcolor.segment import HELP, METHODS, PARAMETERS

        super().__init__(labels=True)
        self.viewer = napari_viewer
        follow_new_layers(napari_viewer)  # SEM pixel sizes from the files napari opened
        self.image = create_widget(annotation=Image, label="image")
        self.method = ComboBox(choices=list(METHODS), value="otsu", label="method")
        d = {**PARAMETERS["otsu"], **PARAMETERS["multiotsu"], **PARAMETERS["local"], **PARAMETERS["hed"]}
        self.params = {
            "objects": ComboBox(choices=["auto", "bright", "dark"], value=d["objects"], label="objects"),
            "classes": SpinBox(value=d["classes"], min=2, max=6, label="classes"),
            "block_size": SpinBox(value=d["block_size"], min=3, max=4001, step=2, label="block size (px)"),
            "offset": FloatSpinBox(value=d["offset"], min=-50, max=50, step=0.5, label="offset (L*)"),
            "edge_sensitivity": FloatSlider(value=d["edge_sensitivity"], min=0.0, max=1.0, step=0.05, label="edge sensitivity"),
            "min_size": SpinBox(value=d["min_size"], min=0, max=10**7, label="smallest region (px)"),
            "working_size": SpinBox(value=d["working_size"], min=32, max=8192, step=32, label="HED working size (px)"),
        }
        for name, widget in self.params.items():
            widget.tooltip = HELP[name]
        self.databar = labelled_checkbox("leave the instrument data bar out", "data bar", True)
        self.databar.tooltip = "the strip of text and scale bar at the bottom is not specimen: it becomes no region"
        self.preview = CheckBox(value=True, text="live preview (thresholds)")
        self.runner = Runner(desc="semcolor segment", on_finished=self._on_finished)
        self.run_button, self.cancel_button, self.status = self.runner.widgets
        self.extend([self.image, self.method, *self.params.values(), self.databar, self.preview, *self.runner.widgets])
        self.run_button.changed.connect(lambda *_: self.run())
        self.method.changed.connect(self._show_parameters)
        self._preview = Debouncer(self.run, PREVIEW_DELAY_MS, parent=self.native)
        for widget in (self.image, self.method, *self.params.values(), self.databar):
            widget.changed.connect(self._schedule_preview)
        self._pending = False
        self.settings = DockSettings("segment")
        self.settings.track({"method": self.method, **self.params, "databar": self.databar, "preview": self.preview})
        self._preview.cancel()  # the last session's values, restored: no edit to preview
        self.restore_button = self.settings.button()
        self.append(self.restore_button)
        natural_height(self)
        self._show_parameters()

    @property
    def worker(self):
        """The running worker (None when idle)."""
        return self.runner.worker

    # -- actions ---------------------------------------------------------------------------
    def parameters(self) -> dict:
        """The chosen method's parameters, read from the controls."""
        from napari_semcolor.segment import PARAMETERS

        return {k: w.value for k, w in self.params.items() if k in PARAMETERS[self.method.value]}

    def run(self):
        """Start a segmentation in a thread worker; returns the worker (None if input is bad or busy)."""
        from napari_semcolor.segment import segment

        if self.runner.running:  # one run at a time; a preview asked for meanwhile runs after it
            self._pending = True
            return None
        source = self.image.value
        if source is None:
            self.runner.notify_error("add or choose a gray image layer first")
            return None
        calibrate(source, self.viewer)  # (a layer added while no dock was open)
        try:
            plane, _ = gray_plane(source, tuple(self.viewer.dims.current_step))
        except SemcolorError as exc:
            self.runner.notify_error(str(exc))
            return None
        method, params = self.method.value, self.parameters()
        try:
            bar = self._databar_row(source, plane) if self.databar.value else None
        except SemcolorError as exc:
            self.runner.notify_error(str(exc))
            return None
        job = {"image": plane, "method": method, "databar": False if bar is None else bar, **params}
        return self.runner.start(segment, job, lambda labels: self._add_result(source, labels, method, params, bar), message=f"segmenting ({method})…")

    def cancel(self):
        """Ask the running segmentation to stop; layers stay as they are."""
        self.runner.cancel()

    # -- helpers ---------------------------------------------------------------------------
    def _show_parameters(self, *_):
        from napari_semcolor.segment import PARAMETERS

        wanted = PARAMETERS[self.method.value]
        for name, widget in self.params.items():
            widget.visible = name in wanted

    def _schedule_preview(self, *_):
        from napari_semcolor.segment import FAST_METHODS

        if not self.preview.value or self.method.value not in FAST_METHODS or self.image.value is None:
            return
        self._preview.trigger()

    @staticmethod
    def _databar_row(source, plane) -> int | None:
        """First row of the data bar (as the file states it, else detected), None if there is none."""
        from napari_semcolor.segment import databar_row

        meta = source.metadata.get("sem", {}) if isinstance(source.metadata, dict) else {}
        row = databar_row(plane, meta.get("databar_row") or True)
        return row if row < plane.shape[0] else None

    def _add_result(self, source, labels, method: str, params: dict, bar: int | None = None) -> str:
        name = result_name(source.name, method)
        meta = {"segmentation": method, "parameters": params, "source": source.name, "databar_row": bar}
        # the scale bar keeps µm, and napari does not warn of inconsistent units
        kwargs = {**spatial_kwargs(source, 2), "metadata": {"semcolor": meta}}
        layer = update_or_add(self.viewer, name, labels, self.viewer.add_labels, **kwargs)
        for key in ("scale", "translate", "units"):  # an updated layer follows the source too
            if key in kwargs:
                setattr(layer, key, kwargs[key])
        return f"{int(labels.max())} regions in {name!r}" + ("; data bar left out" if bar is not None else "")

    def _on_finished(self) -> None:
        if self._pending:
            self._pending = False
            self._schedule_preview()
