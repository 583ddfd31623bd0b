"""The Colourize dock widget: layers + options → one core call in a thread → an RGB layer.

Thin by design: everything it computes is :func:`napari_semcolor.pipeline.colorize`. The work
runs in a napari thread worker; progress reaches the activity dock through a timer that reads the
latest value the worker wrote (no Qt objects are touched from the worker thread); Cancel sets the
token the core checks between steps. The source layer is never modified, and a cancelled or
failed run leaves every layer as it was.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, Container, Label, PushButton, SpinBox, create_widget

from napari_semcolor._widgets.layers import gray_plane, hints_from_layer, output_kwargs
from napari_semcolor.errors import Cancelled, SemcolorError

if TYPE_CHECKING:
    import napari


class ColorizeWidget(Container):
    """Dock widget: choose image, hints, labels and backend; Run adds (or updates) an RGB layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        from napari.layers import Image, Labels, Points

        from napari_semcolor.backends import available

        super().__init__(labels=True)
        self.viewer = napari_viewer
        self.image = create_widget(annotation=Image, label="image")
        self.hints = create_widget(annotation=Points | None, label="colour hints", options={"nullable": True})
        self.labels_layer = create_widget(annotation=Labels | None, label="regions", options={"nullable": True})
        self.backend = ComboBox(choices=available(), value="propagate", label="backend")
        self.samples = SpinBox(value=1, min=1, max=16, label="proposals")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.device = ComboBox(choices=["auto", "cpu", "cuda", "mps"], value="auto", label="device")
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.extend([self.image, self.hints, self.labels_layer, self.backend, self.samples, self.seed, self.device, self.run_button, self.cancel_button, self.status])
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self._cancel = threading.Event()
        self._latest = (0.0, "")
        self.worker = None

    # -- actions ---------------------------------------------------------------------------
    def run(self):
        """Start a colourization in a thread worker; returns the worker (None if input is bad)."""
        from napari.qt.threading import thread_worker

        from napari_semcolor.pipeline import colorize

        try:
            job = self._collect()
        except SemcolorError as exc:
            self._notify_error(str(exc))
            return None
        self._cancel = threading.Event()
        self._latest = (0.0, "starting")
        cancel, source = self._cancel, job.pop("source")

        def on_progress(fraction: float, message: str) -> None:
            self._latest = (fraction, message)  # read by the GUI timer, never touches Qt here

        @thread_worker(connect={"returned": lambda result: self._add_result(source, result), "errored": self._on_error, "finished": self._on_finished})
        def work():
            return colorize(**job, progress=on_progress, cancel=cancel)

        self._set_running(True)
        self.worker = work()
        return self.worker

    def cancel(self):
        """Ask the running job to stop at its next check; layers stay as they are."""
        self._cancel.set()
        self.status.value = "cancelling…"

    # -- helpers ---------------------------------------------------------------------------
    def _collect(self) -> dict:
        source = self.image.value
        if source is None:
            raise SemcolorError("add or choose a gray image layer first")
        plane, lead = gray_plane(source, tuple(self.viewer.dims.current_step))
        labels = None
        if self.labels_layer.value is not None:
            lab = self.labels_layer.value.data
            labels = lab[lead] if lead and lab.ndim == len(lead) + 2 else lab
        return {
            "source": source,
            "image": plane,
            "backend": self.backend.value,
            "hints": hints_from_layer(self.hints.value, lead, source),
            "labels": labels,
            "n_samples": int(self.samples.value),
            "seed": int(self.seed.value),
            "device": self.device.value,
        }

    def _set_running(self, running: bool) -> None:
        from napari.utils import progress

        self.run_button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            from qtpy.QtCore import QTimer

            self._pbar = progress(total=100, desc="semcolor")
            self._timer = QTimer()
            self._timer.timeout.connect(self._show_progress)
            self._timer.start(100)
        else:
            if getattr(self, "_timer", None) is not None:
                self._timer.stop()
                self._timer = None
            if getattr(self, "_pbar", None) is not None:
                self._pbar.close()
                self._pbar = None

    def _show_progress(self) -> None:
        fraction, message = self._latest
        if getattr(self, "_pbar", None) is not None:
            self._pbar.n = int(fraction * 100)
            self._pbar.set_description(f"semcolor: {message}")
            self._pbar.refresh()
        self.status.value = f"{fraction:.0%} {message}"

    def _add_result(self, source, result) -> None:
        name = f"{source.name} ({result.metadata['backend']})"
        data = result.rgb if len(result.rgb) > 1 else result.rgb[0]
        kwargs = output_kwargs(source, name, result.metadata, len(result.rgb))
        if name in self.viewer.layers and self.viewer.layers[name].data.shape == data.shape:
            layer = self.viewer.layers[name]  # re-running updates the result in place
            layer.data = data
            layer.metadata = kwargs["metadata"]
        else:
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
            self.viewer.add_image(data, **kwargs)
        self.status.value = f"done in {result.metadata['seconds']:.1f} s"

    def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, Cancelled):
            self.status.value = "cancelled"
            from napari.utils.notifications import show_info

            show_info("semcolor: run cancelled; no layer was changed")
        elif isinstance(exc, SemcolorError):
            self._notify_error(str(exc))
        else:
            self._notify_error(f"unexpected error ({type(exc).__name__}: {exc}); please report it")

    def _notify_error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status.value = message
        show_error(f"semcolor: {message}")

    def _on_finished(self) -> None:
        self._set_running(False)
