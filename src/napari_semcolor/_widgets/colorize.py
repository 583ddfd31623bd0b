"""The Colourize dock widget: layers + options → one core call in a thread → an RGB layer.

Thin by design: everything it computes is :func:`napari_semcolor.pipeline.colorize`. It is put
together from parts (:mod:`._widgets.parts`): the region colour table, the backend's own
controls (generated from its spec), the proposal readout, and the Run/Cancel/progress runner
shared with the Segment dock. What a backend can do (proposals, seed, device, references, live)
is read from its spec, never from its name. The source layer is never modified, and a cancelled
or failed run leaves every layer as it was.

For a newcomer: the colour hints selector follows the image (it picks the image's hints layer),
a note says when a backend that needs hints has none (it would return gray), messages wrap
instead of widening the dock, the dock scrolls instead of growing past the screen, and the
result is placed above the regions layer so that it is seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, Container, FloatSlider, Label, SpinBox, create_widget

from napari_semcolor._napari.calibration import calibrate, follow_new_layers
from napari_semcolor._napari.layers import hints_from_layer, hints_layer_for, output_kwargs
from napari_semcolor._widgets.common import DockScrolls, compact_selectors, free_name, labelled_checkbox, place_above, update_or_add, wrap_text
from napari_semcolor._widgets.parts.backend_options import BackendOptions
from napari_semcolor._widgets.parts.live import FULL, PREVIEW, KeptPlane, LiveColouring, place
from napari_semcolor._widgets.parts.messages import missing_reference, no_hints_note
from napari_semcolor._widgets.parts.proposal_readout import ProposalReadout
from napari_semcolor._widgets.parts.region_table import RegionTable
from napari_semcolor._widgets.parts.runner import Runner
from napari_semcolor._widgets.parts.settings import DockSettings
from napari_semcolor._widgets.parts.stack_controls import ALL, StackControls, is_stack_result, plane_layer_name
from napari_semcolor.errors import SemcolorError

if TYPE_CHECKING:
    import napari

#: kept between sessions (and each backend's options); not layers, nor live mode (it would re-run by itself)
SAVED_CONTROLS = ("backend", "samples", "seed", "device", "keep_previous", "one_colour", "same_gray", "databar_gray", "through", "align")

def _backend_choices(_widget=None) -> list[str]:
    from napari_semcolor.backends import available

    return available()


def _spec(backend: str):
    from napari_semcolor.backends import get_spec

    return get_spec(backend)


class ColorizeWidget(DockScrolls, Container):
    """Dock widget: choose image, hints, labels and backend; Run adds (or updates) an RGB layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(labels=True, scrollable=True)
        self.viewer = napari_viewer
        follow_new_layers(napari_viewer)  # SEM pixel sizes from the files napari opened
        self._make_controls()
        self.runner = Runner(desc="semcolor", on_finished=self._on_finished)
        self.run_button, self.cancel_button, self.status = self.runner.widgets
        self.regions = RegionTable(lambda: self.labels_layer.value, self._reference_choices)
        self.proposals = ProposalReadout(napari_viewer, self.status, self.use_suggestion)
        self.extend([
            self.image, self.hints, self.hints_note, self.labels_layer, *self.regions.widgets, self.backend, self.reference, self.samples, self.seed,
            self.device, *self.stack.widgets, self.live, self.keep_previous, self.one_colour, self.same_gray, self.databar_gray,
            self.run_button, self.cancel_button, *self.proposals.widgets, self.status,
        ])
        self.settings = DockSettings("colorize")
        # a backend's option controls, when made: set to their saved values, saved when changed
        self.backend_options = BackendOptions(self, after=self.seed, on_build=self.settings.tracker("options"))
        self._output = None  # the layer the last run wrote (live re-runs update it)
        self._plane, self._databar = KeptPlane(), None  # the plane shown, read once per data and step; (key, plane, its data-bar mask)
        self._live_layer = None
        self.live_part = LiveColouring(self)  # preview first, full resolution after
        self.run_button.changed.connect(lambda *_: self.run())
        self.labels_layer.changed.connect(self.regions.fill)
        self.backend.changed.connect(self._on_backend)
        self.image.changed.connect(self._on_image)
        self.hints.changed.connect(self._bind_live)
        self.hints.changed.connect(self._show_hints_note)
        self.live.changed.connect(self._bind_live)
        self.settings.track({name: getattr(self, name) for name in SAVED_CONTROLS})  # the last session's values
        self.restore_button = self.settings.button()
        self.append(self.restore_button)
        self._on_backend()
        self._on_image()
        self.settle_layout()
        self.labels_layer.changed.connect(lambda *_: self.settle_layout())

    def _make_controls(self) -> None:
        from napari.layers import Image, Labels, Points

        from napari_semcolor.devices import DEVICES

        self.image = create_widget(annotation=Image, label="image")
        self.hints = create_widget(annotation=Points | None, label="colour hints", options={"nullable": True})
        self.hints_note = Label(value="", label=" ", visible=False)
        wrap_text(self.hints_note)
        self.labels_layer = create_widget(annotation=Labels | None, label="regions", options={"nullable": True})
        self.backend = ComboBox(choices=_backend_choices, value=_backend_choices()[0], label="backend")  # the registry's first
        # reference backends: a colour layer for the whole image (label 0 and unlisted regions);
        # per-region references are chosen in the region table
        self.reference = ComboBox(choices=self._reference_choices, nullable=True, label="reference", visible=False)
        self.samples = SpinBox(value=1, min=1, max=16, label="proposals")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.device = ComboBox(choices=list(DEVICES), value="auto", label="device")
        self.stack = StackControls()  # current plane / all planes: through the stack or plane by plane, drift
        self.planes, self.through, self.align = self.stack.widgets
        self.live = labelled_checkbox("re-run when the hints change", "live", False)
        self.keep_previous = labelled_checkbox("add a new layer for each run", "keep previous results", False)
        self.one_colour = labelled_checkbox("one colour per region", "regions", False)
        self.same_gray = FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, label="same gray, same colour (all backends)")
        self.same_gray.tooltip = (
            "on every backend's result: pixels of equal gray take the dominant colour among them "
            "(a backend's own 'same gray' option acts inside that backend)"
        )
        self.databar_gray = labelled_checkbox("keep the instrument data bar gray", "data bar", True)

    # -- actions ---------------------------------------------------------------------------
    def run(self, *_, live: bool = False, edit: int | None = None):
        """Start a colourization in a thread worker; returns the worker (None if input is bad).

        The result goes to a new layer when *keep previous results* is ticked, except for live
        re-runs, which update the layer of the run before (its preview). A live run started for
        hint edit number ``edit`` is not shown if a newer edit came in meanwhile.
        """
        from napari_semcolor.pipeline import colorize, colorize_stack

        try:
            job = self._collect(run=not live)
        except SemcolorError as exc:
            self.runner.notify_error(str(exc))
            return None
        source, lead, whole_stack = job.pop("source"), job.pop("lead"), job.pop("whole_stack")
        function = colorize_stack if whole_stack else colorize
        new_layer = bool(self.keep_previous.value) and not live
        gray = _spec(job["backend"]).needs_hints and not job["hints"]
        if live and not whole_stack:
            function, job = self.live_part.full_call({**job, "source": source, "lead": lead, "whole_stack": False})

        def show(result):
            if edit is not None and edit != self.live_part.edits:
                return "hints changed: running again"  # its preview is newer than this result
            done = self._add_result(source, result, new_layer=new_layer, live=live, lead=lead)
            return f"{done}; no hints, so the result is gray" if gray else done

        return self.runner.start(function, job, show)

    def cancel(self):
        """Ask the running job to stop at its next check; layers stay as they are."""
        self.runner.cancel()

    def references(self) -> dict:
        """{label: reference image data} for a reference backend: 0 = the whole-image reference,
        plus one entry per "backend" row of the region table that names its own reference."""
        if not self._uses_references():
            return {}
        refs = {0: self.reference.value.data} if self.reference.value is not None else {}
        refs.update(self.regions.references())
        return refs

    def use_suggestion(self, k: int):
        """Make proposal ``k``'s colour under the cursor the current hint colour.

        The next point clicked into the hints layer carries it (the hints layer is selected in
        *add* mode; a new one is made for the image if none is chosen), and an open Colour hints
        dock shows it. No point is added by itself: on its way to this dock the cursor crossed
        other pixels, so only the user knows exactly where the hint belongs.
        """
        from napari_semcolor._widgets.hints_layer import hint_docks, make_hints_layer, set_hint_color

        if k >= len(self.proposals.suggested):
            return self.runner.notify_error("move the cursor over the proposals first, then click a colour")
        colour = self.proposals.suggested[k]
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

    def reset_choices(self, *_) -> None:
        """Refresh the layer lists (napari calls this when layers change); pick hints if none."""
        super().reset_choices()
        if self.hints.value is None:
            self._pick_hints()

    # -- helpers ---------------------------------------------------------------------------
    def _pick_hints(self) -> None:
        """Choose the hints layer that belongs to the chosen image (None if there is none)."""
        found = hints_layer_for(self.image.value, self.viewer.layers)
        if found is not None and found in self.hints.choices:
            self.hints.value = found
        self._show_hints_note()

    def _show_hints_note(self, *_) -> None:
        spec = _spec(self.backend.value)
        shown = spec.needs_hints and self.hints.value is None
        self.hints_note.visible = shown  # (reading .visible back is False while the window is hidden)
        if shown:
            automatic = [name for name in _backend_choices() if not _spec(name).needs_hints and not _spec(name).references]
            self.hints_note.value = no_hints_note(spec.name, automatic)

    def _uses_references(self) -> bool:
        return _spec(self.backend.value).references

    def _reference_choices(self, _widget=None) -> list:
        from napari.layers import Image

        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Image) and (layer.rgb or layer.data.ndim == 3 and layer.data.shape[-1] in (3, 4))
        ]

    def _on_backend(self, *_) -> None:
        """Show only the controls that mean something for the chosen backend (as its spec says)."""
        spec = _spec(self.backend.value)
        self.samples.visible = spec.proposals
        self.seed.visible = spec.seeded
        self.device.visible = spec.uses_torch
        self.backend_options.show(spec.name)
        compact_selectors(self)  # also the controls just made for this backend
        self.live.visible = spec.live
        if not spec.live and self.live.value:
            self.live.value = False  # stops following hint edits (a slow backend takes seconds)
        self.reference.visible = spec.references
        self.reference.label = f"{spec.name} reference"
        if spec.references:
            self.reference.reset_choices()
        self.regions.show_references(spec.references)
        if not spec.proposals:  # no proposals to keep or read out
            self.proposals.set_layer(None)
        self._show_hints_note()
        self.settle_layout()

    def _on_image(self, *_) -> None:
        """The image's own hints and result; the stack control only for images with planes (not 2D gray or RGB)."""
        layer, self._output = self.image.value, None  # the last result is another image's: a live edit must not write into it
        self._plane.forget()  # (nor its plane and layer stay held)
        self.stack.show(layer is not None and layer.ndim - (1 if layer.rgb else 0) > 2)
        self.hints.value = None
        self._pick_hints()

    def _collect(self, run: bool = False) -> dict:
        """The job for the chosen layers and controls; live edits (``run`` False while live) colour the current plane."""
        source = self.image.value
        if source is None:
            raise SemcolorError("add or choose a gray image layer first")
        calibrate(source, self.viewer)  # (a layer added while no dock was open)
        plane, lead = self._plane.read(source, tuple(self.viewer.dims.current_step))
        whole_stack = bool(lead) and self.planes.value == ALL and (run or not self.live.value)
        labels = None
        if self.labels_layer.value is not None:
            lab = self.labels_layer.value.data
            labels = lab[lead] if lead and lab.ndim == len(lead) + 2 and not whole_stack else lab
        spec = _spec(self.backend.value)
        references = self.references()
        if spec.references and not references:
            raise SemcolorError(missing_reference(spec.name))
        job = {
            "source": source,
            "whole_stack": whole_stack,
            "lead": () if whole_stack else lead,
            "image": source.data if whole_stack else plane,
            "backend": spec.name,
            "hints": hints_from_layer(self.hints.value, lead, source, keep_planes=whole_stack),
            "labels": labels,
            "references": references,
            "n_samples": int(self.samples.value) if spec.proposals else 1,
            "seed": int(self.seed.value),
            "device": self.device.value,
            "options": self.backend_options.values(spec.name),
            "region_colors": self.regions.colours() if labels is not None else None,
            "one_color_per_region": bool(self.one_colour.value),
            "same_gray": float(self.same_gray.value),
            "keep_gray": self._databar_mask(source, plane) if self.databar_gray.value else None,
        }
        if whole_stack:
            if job["n_samples"] != 1:
                raise SemcolorError("a whole stack is coloured with one proposal per plane; set proposals to 1")
            del job["n_samples"]
            job.update(self.stack.job(source))
        return job

    def _databar_mask(self, source, plane):
        """Pixels of the instrument data bar (as the file states it, else detected), found once
        per plane: detecting reads the whole image, too slow for every live edit."""
        from napari_semcolor._widgets.parts.live import _ident
        from napari_semcolor.files.sem_tiff import databar_mask

        row = source.metadata.get("sem", {}).get("databar_row") if isinstance(source.metadata, dict) else None
        if self._databar is None or self._databar[0] != (_ident(plane), row):  # the plane is held: its memory is not reused
            self._databar = (_ident(plane), row), plane, databar_mask(plane, row)
        return self._databar[2]

    def _add_result(self, source, result, new_layer: bool = False, live: bool = False, lead: tuple[int, ...] = ()) -> str:
        """Show ``result``: update the output layer in place, or add a layer of its own.

        ``new_layer`` (keep previous results): a new layer, named ``"<image> (<backend>) run N"``
        when the plain name is taken. Otherwise the layer named ``"<image> (<backend>)"`` is
        updated (for a live re-run: the layer the run before wrote, whatever its name).
        Returns the final status ("done in … s").
        """
        name = f"{source.name} ({result.metadata['backend']})"
        if live and (stacked := self.stack.into_stack(self.viewer.layers, [self._output, name], source, lead, result.rgb[0], FULL)):
            self._output = stacked  # all planes: the plane shown, written into the stack result
            return f"plane {lead} done in {result.metadata['seconds']:.1f} s (Run colours all planes)"
        name = plane_layer_name(self.viewer.layers, name) if live else name
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
            kwargs["metadata"]["semcolor"]["resolution"] = FULL
            if live and self._output in self.viewer.layers and self._output.data.ndim == data.ndim and not is_stack_result(self._output):
                layer = self._output  # its preview: replaced in place (shape and scale change)
                place(layer, data, kwargs["scale"], kwargs["translate"], kwargs["metadata"])
            else:
                layer = update_or_add(self.viewer, name, data, self.viewer.add_image, **kwargs)
        self._output = layer
        if len(result.rgb) > 1:  # the slider of the leading axis reads "proposal", not "-3"
            layer.axis_labels = ("proposal", *layer.axis_labels[1:])
        regions = self.labels_layer.value
        if regions is not None and regions in self.viewer.layers and regions.visible:
            place_above(self.viewer.layers, layer, regions)  # else the result is drawn under the labels
        self.proposals.set_layer(layer if len(result.rgb) > 1 else None)
        return f"done in {result.metadata['seconds']:.1f} s"

    def _on_finished(self) -> None:
        self.live_part.runner_idle()  # a live full run that waited for this one starts now

    def show_preview(self, job: dict, preview) -> None:
        """Show a live preview in the output layer, placed exactly over the image."""
        import numpy as np

        source = job["source"]
        name = f"{source.name} ({job['backend']})"
        if stacked := self.stack.into_stack(self.viewer.layers, [self._output, name], source, job["lead"], preview.rgb, PREVIEW):
            self._output, self.status.value = stacked, f"preview of plane {job['lead']} (full resolution follows)"
            return
        name = plane_layer_name(self.viewer.layers, name)
        metadata = {"backend": job["backend"], "resolution": PREVIEW, "preview_scale": list(preview.scale)}
        kwargs = output_kwargs(source, name, metadata, 1)
        kwargs["scale"] = list(np.asarray(kwargs["scale"]) * preview.scale)
        kwargs["translate"] = list(np.asarray(kwargs["translate"]) + np.asarray(source.scale[-2:]) * preview.translate)
        layer = self._output if self._output is not None and self._output in self.viewer.layers and not is_stack_result(self._output) else None
        layer = layer or (self.viewer.layers[name] if name in self.viewer.layers else None)
        if layer is not None and layer.rgb and layer.data.ndim == 3:
            place(layer, preview.rgb, kwargs["scale"], kwargs["translate"], kwargs["metadata"])
        else:
            if layer is not None:
                self.viewer.layers.remove(layer)
            layer = self.viewer.add_image(preview.rgb, **kwargs)
        self._output = layer
        regions = self.labels_layer.value
        if regions is not None and regions in self.viewer.layers and regions.visible:
            place_above(self.viewer.layers, layer, regions)
        self.proposals.set_layer(None)
        self.status.value = "preview (full resolution follows)"

    # -- live mode -------------------------------------------------------------------------
    def _bind_live(self, *_) -> None:
        """Follow the edits of the chosen hints layer while live mode is on."""
        if self._live_layer is not None:
            self._live_layer.events.data.disconnect(self._on_hints_edited)
            self._live_layer = None
        if not self.live.value:
            self.live_part.stop()
        if self.live.value and self.hints.value is not None:
            self._live_layer = self.hints.value
            self._live_layer.events.data.connect(self._on_hints_edited)

    def _on_hints_edited(self, event=None) -> None:
        if str(getattr(event, "action", "")) in ("adding", "removing", "changing"):
            return  # napari announces an edit before making it: answer the one after
        if not _spec(self.backend.value).live:
            fast = [name for name in _backend_choices() if _spec(name).live]
            self.status.value = f"live mode is for the fast backends ({', '.join(fast)})"
            return
        self.live_part.edited()

