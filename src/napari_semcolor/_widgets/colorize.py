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

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSlider, FloatSpinBox, Label, LineEdit, PushButton, SpinBox, create_widget

from napari_semcolor._widgets.common import error_text, free_name, notify_error, update_or_add
from napari_semcolor._napari.layers import gray_plane, hints_from_layer, output_kwargs
from napari_semcolor.errors import SemcolorError

if TYPE_CHECKING:
    import napari


#: backends fast enough to re-run on every hint edit
LIVE_BACKENDS = ("propagate", "eecnn", "nst")
#: wait this long after the last hint edit before re-running (ms)
LIVE_DELAY_MS = 300
#: at most this many rows in the region colour table
MAX_REGION_ROWS = 64
#: what a row of the region table can say: leave the region to the backend, keep it gray, or fill it
REGION_MODES = ("backend", "gray", "colour")
#: backends whose proposals differ from each other (diffusion samples; EE-CNN varies its
#: read-out temperature); the others would repeat one result
PROPOSAL_BACKENDS = ("diffusion", "eecnn")
#: backends with randomness that the seed fixes (diffusion sampling, NST's fit)
SEEDED_BACKENDS = ("diffusion", "nst")
#: backends that run networks, so the device matters (propagate is a sparse solve on the CPU)
TORCH_BACKENDS = ("eecnn", "nst", "diffusion")
#: the diffusion backend's own options (``job.options``), as controls
DIFFUSION_OPTIONS = ("steps", "sampler", "guidance", "temperature")
#: temperatures offered besides "auto" (the backend's own default, which depends on the hints)
TEMPERATURE_CHOICES = ("0.3", "0.6", "0.8", "1.0", "1.2")
#: proposal swatches per row of the "suggest colours here" readout
SWATCHES_PER_ROW = 8


def _checkbox(text: str, label: str, value: bool) -> CheckBox:
    """A checkbox with a label in the form's left column and a text beside the box.

    magicgui treats ``text`` and ``label`` of a button as synonyms and warns if both are given,
    though it shows both; setting the label afterwards gives the same widget without the warning.
    """
    box = CheckBox(value=value, text=text)
    box.label = label
    return box


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
        # reference backends: a colour layer for the whole image (label 0 and unlisted regions);
        # per-region references are chosen in the region table
        self.reference = ComboBox(choices=self._reference_choices, nullable=True, label="reference", visible=False)
        self.samples = SpinBox(value=1, min=1, max=16, label="proposals")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        from napari_semcolor.backends.diffusion import SAMPLER_NAMES, TEMPERATURE, TEMPERATURE_NO_HINTS

        self.diffusion_options = {
            "steps": SpinBox(value=10, min=1, max=100, label="steps", tooltip="sampler steps: more is slower and a little cleaner"),
            "sampler": ComboBox(choices=list(SAMPLER_NAMES), value=SAMPLER_NAMES[0], label="sampler"),
            "guidance": FloatSpinBox(value=1.0, min=0.0, max=10.0, step=0.5, label="hint guidance", tooltip="1 = off; above 1 the proposals follow the hints more closely"),
            "temperature": ComboBox(choices=["auto", *TEMPERATURE_CHOICES], value="auto", label="temperature", tooltip=f"lower: proposals closer to each other (and on average to the truth); 1: the model's own spread. auto: {TEMPERATURE} with hints, {TEMPERATURE_NO_HINTS} without"),
        }
        self.device = ComboBox(choices=["auto", "cpu", "cuda", "mps"], value="auto", label="device")
        self.planes = ComboBox(choices=["current plane", "all planes"], value="current plane", label="stack")
        self.live = _checkbox("re-run when the hints change", "live", False)
        self.keep_previous = _checkbox("add a new layer each run", "keep previous results", False)
        self.one_colour = _checkbox("one colour per region", "regions", False)
        self.same_gray = FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, label="same gray, same colour")
        self.databar_gray = _checkbox("keep the instrument data bar gray", "data bar", True)
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.keep_button = PushButton(text="Keep this proposal", visible=False)
        # "suggest colours here": the colour under the cursor in every proposal; a click on a
        # swatch makes it the current hint colour
        self.suggest_label = Label(value="", label="suggest colours here", visible=False)
        self.suggest_swatches = Container(labels=False, visible=False, label=" ")
        self._swatch_buttons: list[PushButton] = []
        self._suggested: list[str] = []
        self._proposals = None
        self._output = None  # the layer the last run wrote (live re-runs update it)
        self.region_table = Container(labels=False, label="region colours")
        self.refresh_regions = PushButton(text="Refresh region list")
        self._region_rows: dict[int, tuple[ComboBox, LineEdit]] = {}
        self._region_refs: dict[int, ComboBox] = {}  # per-region reference layer (reference backends)
        self.extend([self.image, self.hints, self.labels_layer, self.region_table, self.refresh_regions, self.backend, self.reference, self.samples, self.seed, *self.diffusion_options.values(), self.device, self.planes, self.live, self.keep_previous, self.one_colour, self.same_gray, self.databar_gray, self.run_button, self.cancel_button, self.keep_button, self.suggest_label, self.suggest_swatches, self.status])
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self.keep_button.changed.connect(self.keep_proposal)
        self.labels_layer.changed.connect(self.fill_region_table)
        self.refresh_regions.changed.connect(self.fill_region_table)
        self.backend.changed.connect(self._on_backend)
        self.image.changed.connect(self._on_image)
        self.hints.changed.connect(self._bind_live)
        self.live.changed.connect(self._bind_live)
        self._live_layer = None
        self._live_timer = None
        self._live_pending = False
        self._cancel = threading.Event()
        self._latest = (0.0, "")
        self.worker = None
        self._on_backend()
        self._on_image()

    # -- actions ---------------------------------------------------------------------------
    def run(self, *_, live: bool = False):
        """Start a colourization in a thread worker; returns the worker (None if input is bad).

        The result goes to a new layer when *keep previous results* is ticked, except for live
        re-runs, which update the layer of the run before.
        """
        from napari.qt.threading import thread_worker

        from napari_semcolor.pipeline import colorize, colorize_stack

        try:
            job = self._collect()
        except SemcolorError as exc:
            self._notify_error(str(exc))
            return None
        self._cancel = threading.Event()
        self._latest = (0.0, "starting")
        cancel, source, lead = self._cancel, job.pop("source"), job.pop("lead")
        function = colorize_stack if job.pop("whole_stack") else colorize
        new_layer = bool(self.keep_previous.value) and not live

        def on_progress(fraction: float, message: str) -> None:
            self._latest = (fraction, message)  # read by the GUI timer, never touches Qt here

        @thread_worker(connect={"returned": lambda result: self._add_result(source, result, new_layer=new_layer, live=live, lead=lead), "errored": self._on_error, "finished": self._on_finished})
        def work():
            return function(**job, progress=on_progress, cancel=cancel)

        self._set_running(True)
        self.worker = work()
        return self.worker

    def cancel(self):
        """Ask the running job to stop at its next check; layers stay as they are."""
        self._cancel.set()
        self.status.value = "cancelling…"

    def fill_region_table(self, *_) -> None:
        """One row per label of the chosen Labels layer: swatch, backend / gray / colour, #rrggbb.

        Rows keep their settings across refreshes for labels that are still there.
        """
        import numpy as np

        previous = {k: (mode.value, colour.value, self._region_refs[k].value) for k, (mode, colour) in self._region_rows.items()}
        self.region_table.clear()
        self._region_rows, self._region_refs = {}, {}
        layer = self.labels_layer.value
        if layer is None:
            return
        present = [int(v) for v in np.unique(np.asarray(layer.data))]
        shown = present[:MAX_REGION_ROWS]
        for k in shown:
            rgba = np.asarray(layer.get_color(k) if k != 0 else (0.5, 0.5, 0.5, 1.0), dtype=float).ravel()
            hex_colour = "#" + "".join(f"{round(float(c) * 255):02x}" for c in rgba[:3])
            mode_value, colour_value, ref_value = previous.get(k, ("backend", hex_colour, None))
            swatch = Label(value="")
            swatch.native.setStyleSheet(f"background-color: {hex_colour}; min-width: 18px; max-width: 18px;")
            mode = ComboBox(choices=list(REGION_MODES), value=mode_value)
            colour = LineEdit(value=colour_value)
            # with a reference backend, "backend" rows take this reference (none: the whole-image one)
            ref = ComboBox(choices=self._reference_choices, nullable=True, visible=self._uses_references(), tooltip="reference layer for this region")
            if ref_value in ref.choices:
                ref.value = ref_value
            row = Container(layout="horizontal", labels=False, widgets=[Label(value=f"{k}" if k else "0 (background)"), swatch, mode, colour, ref])
            row.margins = (0, 0, 0, 0)
            self.region_table.append(row)
            self._region_rows[k] = (mode, colour)
            self._region_refs[k] = ref
        if len(present) > len(shown):
            self.region_table.append(Label(value=f"{len(present) - len(shown)} more labels are left to the backend"))

    def region_colors(self) -> dict:
        """The region colour table the rows describe: {label: "#rrggbb" | "gray"} (backend rows left out)."""
        table = {}
        for k, (mode, colour) in self._region_rows.items():
            if mode.value == "gray":
                table[k] = "gray"
            elif mode.value == "colour":
                table[k] = colour.value
        return table

    def references(self) -> dict:
        """{label: reference image data} for a reference backend: 0 = the whole-image reference,
        plus one entry per "backend" row of the region table that names its own reference."""
        if not self._uses_references():
            return {}
        refs = {}
        if self.reference.value is not None:
            refs[0] = self.reference.value.data
        for k, (mode, _) in self._region_rows.items():
            ref = self._region_refs[k]
            if mode.value == "backend" and ref.value is not None:
                refs[k] = ref.value.data
        return refs

    # -- helpers ---------------------------------------------------------------------------
    def _uses_references(self) -> bool:
        return self.backend.value == "nst"

    def _reference_choices(self, _widget=None) -> list:
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image) and (layer.rgb or layer.data.ndim == 3 and layer.data.shape[-1] in (3, 4))]

    def _on_backend(self, *_) -> None:
        """Show only the controls that mean something for the chosen backend."""
        backend = self.backend.value
        self.samples.visible = backend in PROPOSAL_BACKENDS
        self.seed.visible = backend in SEEDED_BACKENDS
        self.device.visible = backend in TORCH_BACKENDS
        for widget in self.diffusion_options.values():
            widget.visible = backend == "diffusion"
        self.live.visible = backend in LIVE_BACKENDS
        if backend not in LIVE_BACKENDS and self.live.value:
            self.live.value = False  # stops following hint edits (a diffusion run takes seconds)
        nst = self._uses_references()
        self.reference.visible = nst
        if nst:
            self.reference.reset_choices()
        for ref in self._region_refs.values():
            ref.visible = nst
            if nst:
                ref.reset_choices()

    def _on_image(self, *_) -> None:
        """The stack control only for images with planes (not 2D gray or RGB)."""
        layer = self.image.value
        self.planes.visible = layer is not None and layer.ndim - (1 if layer.rgb else 0) > 2

    def _diffusion_options(self) -> dict:
        """The diffusion controls as ``job.options``; an "auto" temperature is left to the backend."""
        options = {k: w.value for k, w in self.diffusion_options.items()}
        if options["temperature"] == "auto":
            del options["temperature"]
        else:
            options["temperature"] = float(options["temperature"])
        return options

    def _collect(self) -> dict:
        source = self.image.value
        if source is None:
            raise SemcolorError("add or choose a gray image layer first")
        plane, lead = gray_plane(source, tuple(self.viewer.dims.current_step))
        whole_stack = bool(lead) and self.planes.value == "all planes"
        labels = None
        if self.labels_layer.value is not None:
            lab = self.labels_layer.value.data
            labels = lab[lead] if lead and lab.ndim == len(lead) + 2 and not whole_stack else lab
        job = {
            "source": source,
            "whole_stack": whole_stack,
            "lead": () if whole_stack else lead,
            "image": source.data if whole_stack else plane,
            "backend": self.backend.value,
            "hints": hints_from_layer(self.hints.value, lead, source, keep_planes=whole_stack),
            "labels": labels,
            "references": self.references(),
            "n_samples": int(self.samples.value) if self.backend.value in PROPOSAL_BACKENDS else 1,
            "seed": int(self.seed.value),
            "device": self.device.value,
            "options": self._diffusion_options() if self.backend.value == "diffusion" else {},
            "region_colors": self.region_colors() if labels is not None else None,
            "one_colour_per_region": bool(self.one_colour.value),
            "same_gray": float(self.same_gray.value),
            "keep_gray": self._databar_mask(source, plane) if self.databar_gray.value else None,
        }
        if whole_stack:
            if job["n_samples"] != 1:
                raise SemcolorError("a whole stack is coloured with one proposal per plane; set proposals to 1")
            del job["n_samples"]
        return job

    @staticmethod
    def _databar_mask(source, plane):
        """Pixels of the instrument data bar (from the SEM reader's metadata, else detected)."""
        from napari_semcolor.files.sem_tiff import databar_mask

        row = source.metadata.get("sem", {}).get("databar_row") if isinstance(source.metadata, dict) else None
        return databar_mask(plane, row)

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
            self._stop_progress()
            if getattr(self, "_pbar", None) is not None:
                self._pbar.close()
                self._pbar = None

    def _stop_progress(self) -> None:
        """Stop the progress timer: from now on only the run's outcome writes the status line."""
        if getattr(self, "_timer", None) is not None:
            self._timer.stop()
            self._timer = None

    def _show_progress(self) -> None:
        fraction, message = self._latest
        # a local reference: set_description can process events, and the run may finish (and
        # close the bar) in between
        pbar = getattr(self, "_pbar", None)
        if pbar is not None:
            pbar.n = int(fraction * 100)
            pbar.set_description(f"semcolor: {message}")
            if self._pbar is pbar:
                pbar.refresh()
        if getattr(self, "_timer", None) is not None:  # the outcome may have arrived meanwhile
            self.status.value = f"{fraction:.0%} {message}"

    def _add_result(self, source, result, new_layer: bool = False, live: bool = False, lead: tuple[int, ...] = ()) -> None:
        """Show ``result``: update the output layer in place, or add a layer of its own.

        ``new_layer`` (keep previous results): a new layer, named ``"<image> (<backend>) run N"``
        when the plain name is taken. Otherwise the layer named ``"<image> (<backend>)"`` is
        updated (for a live re-run: the layer the run before wrote, whatever its name).
        """
        self._stop_progress()  # a progress tick before 'finished' must not overwrite "done"
        name = f"{source.name} ({result.metadata['backend']})"
        data = result.rgb if len(result.rgb) > 1 else result.rgb[0]
        spatial = data.ndim - 1 if "planes" in result.metadata else 2  # a stack keeps all its axes
        plane = lead if len(result.rgb) > 1 else ()
        if plane:
            # proposals of one plane of a stack: (n, 1, …, H, W, 3) at that plane, so the sample
            # slider is an axis of its own instead of the stack's first one
            n, h, w = result.rgb.shape[:3]
            data = result.rgb.reshape(n, *(1,) * len(plane), h, w, 3)
            spatial = 2 + len(plane)
        kwargs = output_kwargs(source, name, result.metadata, len(result.rgb), spatial, plane)
        kwargs.pop("name")
        if new_layer:
            layer = self.viewer.add_image(data, name=free_name([layer.name for layer in self.viewer.layers], name), **kwargs)
        else:
            if live and self._output is not None and self._output in self.viewer.layers:
                name = self._output.name
            layer = update_or_add(self.viewer, name, data, self.viewer.add_image, **kwargs)
        self._output = layer
        self._set_proposals(layer if len(result.rgb) > 1 else None)
        self.status.value = f"done in {result.metadata['seconds']:.1f} s"

    # -- proposals: keep one, suggest colours ---------------------------------------------
    def _set_proposals(self, layer) -> None:
        """Follow the proposals layer ``layer`` (None: there are no proposals to show)."""
        self._proposals = layer
        self.keep_button.visible = layer is not None
        callbacks = self.viewer.mouse_move_callbacks
        if layer is None:
            if self._on_mouse_move in callbacks:
                callbacks.remove(self._on_mouse_move)
            self.suggest_label.visible = self.suggest_swatches.visible = False
            return
        if self._on_mouse_move not in callbacks:
            callbacks.append(self._on_mouse_move)
        self._make_swatches(layer.data.shape[0])
        self.suggest_label.value = "move the cursor over the proposals"
        self.suggest_label.visible = True

    def _make_swatches(self, n: int) -> None:
        if len(self._swatch_buttons) == n:
            return
        self.suggest_swatches.clear()
        self._swatch_buttons, self._suggested = [], []
        for start in range(0, n, SWATCHES_PER_ROW):
            row = Container(layout="horizontal", labels=False)
            row.margins = (0, 0, 0, 0)
            for k in range(start, min(n, start + SWATCHES_PER_ROW)):
                button = PushButton(text=str(k), tooltip=f"proposal {k}: click to hint with this colour")
                button.native.setFixedSize(40, 28)
                button.changed.connect(lambda *_, k=k: self.use_suggestion(k))
                row.append(button)
                self._swatch_buttons.append(button)
            self.suggest_swatches.append(row)

    def _on_mouse_move(self, viewer, event) -> None:
        """Show the colour of the pixel under the cursor in every proposal (one pixel each)."""
        layer = self._proposals
        if layer is None or layer not in self.viewer.layers:
            return self._set_proposals(None)
        y, x = layer.world_to_data(event.position)[-2:]
        self.show_suggestions(y, x)

    def show_suggestions(self, y: float, x: float):
        """Fill the readout with the colours of pixel (``y``, ``x``) of the proposals layer."""
        from napari_semcolor.proposals import colours_at

        data = self._proposals.data
        found = colours_at(data.reshape(data.shape[0], *data.shape[-3:]), y, x)  # drop a stack's size-1 plane axes
        if found is None:
            self.suggest_swatches.visible = False
            self.suggest_label.value = "the cursor is outside the proposals"
            return None
        if found.hex != self._suggested or not self.suggest_swatches.visible:
            for button, colour, rgb in zip(self._swatch_buttons, found.hex, found.rgb):
                text = "black" if int(rgb[0]) * 299 + int(rgb[1]) * 587 + int(rgb[2]) * 114 > 128_000 else "white"
                button.native.setStyleSheet(f"background-color: {colour}; color: {text};")
                button.tooltip = f"proposal {button.text}: {colour} (click to hint with it)"
            self._suggested = found.hex
        lines = [" ".join(found.hex[i : i + 4]) for i in range(0, len(found.hex), 4)]
        self.suggest_label.value = f"pixel ({found.y}, {found.x}): the proposals differ by ΔE {found.spread:.0f}\n" + "\n".join(lines)
        self.suggest_swatches.visible = True
        return found

    def use_suggestion(self, k: int):
        """Make proposal ``k``'s colour under the cursor the current hint colour.

        The next point clicked into the hints layer carries it (the hints layer is selected in
        *add* mode; a new one is made for the image if none is chosen), and an open Colour hints
        dock shows it. No point is added by itself: on its way to this dock the cursor crossed
        other pixels, so only the user knows exactly where the hint belongs.
        """
        from napari_semcolor._widgets.hints_layer import hint_docks, make_hints_layer, set_hint_color

        if k >= len(self._suggested):
            return self._notify_error("move the cursor over the proposals first, then click a colour")
        colour = self._suggested[k]
        layer = self.hints.value
        if layer is None:
            layer = make_hints_layer(self.viewer, self.image.value, colour)
            self.hints.reset_choices()
            self.hints.value = layer
        else:
            set_hint_color(layer, colour)
        for dock in hint_docks(self.viewer):
            dock.color.value = colour
        self.viewer.layers.selection.active = layer
        layer.mode = "add"
        self.status.value = f"hint colour {colour} (proposal {k}): click on the image to place it"
        return colour

    def keep_proposal(self, *_):
        """Make the proposal shown by the sample slider a normal RGB layer of its own."""
        layer = getattr(self, "_proposals", None)
        if layer is None or layer not in self.viewer.layers:
            return self._notify_error("run with several proposals first")
        axis = self.viewer.dims.ndim - layer.ndim  # the sample axis is the layer's first one
        k = int(self.viewer.dims.current_step[axis]) if axis >= 0 else 0
        k = min(max(k, 0), layer.data.shape[0] - 1)
        metadata = {"semcolor": {**layer.metadata.get("semcolor", {}), "proposal": k}}
        kept = self.viewer.add_image(
            layer.data[k], name=f"{layer.name} proposal {k}", rgb=True, scale=layer.scale[1:], translate=layer.translate[1:], metadata=metadata,
        )
        self.status.value = f"kept proposal {k}"
        return kept

    def _on_error(self, exc: Exception) -> None:
        self._stop_progress()
        message = error_text(exc)
        if message is None and self._live_pending:  # live mode stopped it for newer hints
            self.status.value = "hints changed: running again"
        elif message is None:
            self.status.value = "cancelled"
            from napari.utils.notifications import show_info

            show_info("semcolor: run cancelled; no layer was changed")
        else:
            self._notify_error(message)

    def _notify_error(self, message: str) -> None:
        notify_error(self.status, message)

    def _on_finished(self) -> None:
        self._set_running(False)
        if self._live_pending:  # an edit came in while running: run again with the new hints
            self._live_pending = False
            self._schedule_live()

    # -- live mode -------------------------------------------------------------------------
    def _bind_live(self, *_) -> None:
        """Follow the edits of the chosen hints layer while live mode is on."""
        if self._live_layer is not None:
            self._live_layer.events.data.disconnect(self._on_hints_edited)
            self._live_layer = None
        if self.live.value and self.hints.value is not None:
            self._live_layer = self.hints.value
            self._live_layer.events.data.connect(self._on_hints_edited)

    def _on_hints_edited(self, *_) -> None:
        if self.backend.value not in LIVE_BACKENDS:
            self.status.value = f"live mode is for the fast backends ({', '.join(LIVE_BACKENDS)})"
            return
        if self.worker is not None and not self.run_button.enabled:  # running: stop it, run again after
            self._live_pending = True
            self._cancel.set()
            return
        self._schedule_live()

    def _schedule_live(self) -> None:
        from qtpy.QtCore import QTimer

        if self._live_timer is None:
            self._live_timer = QTimer()
            self._live_timer.setSingleShot(True)
            self._live_timer.timeout.connect(lambda: self.run(live=True))
        self._live_timer.start(LIVE_DELAY_MS)  # restarting the timer is the debounce
