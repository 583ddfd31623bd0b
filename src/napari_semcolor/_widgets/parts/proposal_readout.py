"""The proposal readout of the Colourize dock: "Keep this proposal" and "suggest colours here".

While a layer of several proposals is shown, the readout follows the cursor: one swatch per
proposal with that proposal's colour under the cursor; a click on a swatch hands the colour to
the dock (which makes it the current hint colour).
"""

from __future__ import annotations

from collections.abc import Callable

from magicgui.widgets import Container, Label, PushButton

from napari_semcolor._widgets.common import notify_error, wrap_text

#: proposal swatches per row
SWATCHES_PER_ROW = 8


def _text_colour(rgb) -> str:
    """Black or white, whichever reads better on ``rgb`` (perceived brightness)."""
    return "black" if int(rgb[0]) * 299 + int(rgb[1]) * 587 + int(rgb[2]) * 114 > 128_000 else "white"


class ProposalReadout:
    """Follows one proposals layer (n, …, H, W, 3) of a viewer.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    status : magicgui Label
        The dock's status line.
    on_pick : callable
        Called with ``k`` when the swatch of proposal ``k`` is clicked.
    """

    def __init__(self, viewer, status: Label, on_pick: Callable[[int], object]):
        self.viewer = viewer
        self._status = status
        self._on_pick = on_pick
        self.keep_button = PushButton(text="Keep this proposal", visible=False)
        self.keep_button.changed.connect(lambda *_: self.keep())
        self.suggest_label = Label(value="", label="suggest colours here", visible=False)
        wrap_text(self.suggest_label)  # a long readout must not widen the dock past the screen
        self.suggest_swatches = Container(labels=False, visible=False, label=" ")
        self.swatch_buttons: list[PushButton] = []
        #: the colours under the cursor, one "#rrggbb" per proposal (empty until read)
        self.suggested: list[str] = []
        self.layer = None

    @property
    def widgets(self) -> tuple:
        """The keep button, the readout text and the swatches, for the dock's layout."""
        return self.keep_button, self.suggest_label, self.suggest_swatches

    def set_layer(self, layer) -> None:
        """Follow the proposals layer ``layer`` (None: there are no proposals to show)."""
        self.layer = layer
        self.keep_button.visible = layer is not None
        callbacks = self.viewer.mouse_move_callbacks
        if layer is None:
            if self.on_mouse_move in callbacks:
                callbacks.remove(self.on_mouse_move)
            self.suggest_label.visible = self.suggest_swatches.visible = False
            return
        if self.on_mouse_move not in callbacks:
            callbacks.append(self.on_mouse_move)
        self._make_swatches(layer.data.shape[0])
        self.suggest_label.value = "move the cursor over the proposals"
        self.suggest_label.visible = True

    def _make_swatches(self, n: int) -> None:
        if len(self.swatch_buttons) == n:
            return
        self.suggest_swatches.clear()
        self.swatch_buttons, self.suggested = [], []
        for start in range(0, n, SWATCHES_PER_ROW):
            row = Container(layout="horizontal", labels=False)
            row.margins = (0, 0, 0, 0)
            for k in range(start, min(n, start + SWATCHES_PER_ROW)):
                button = PushButton(text=str(k), tooltip=f"proposal {k}: click to hint with this colour")
                button.native.setFixedSize(40, 28)
                button.changed.connect(lambda *_, k=k: self._on_pick(k))
                row.append(button)
                self.swatch_buttons.append(button)
            self.suggest_swatches.append(row)

    def on_mouse_move(self, viewer, event) -> None:
        """Show the colour of the pixel under the cursor in every proposal (one pixel each)."""
        layer = self.layer
        if layer is None or layer not in self.viewer.layers:
            return self.set_layer(None)
        y, x = layer.world_to_data(event.position)[-2:]
        self.show_suggestions(y, x)

    def show_suggestions(self, y: float, x: float):
        """Fill the readout with the colours of pixel (``y``, ``x``) of the proposals layer.

        Returns
        -------
        napari_semcolor.proposals.PixelColors or None
            What was read (None: the pixel is outside the proposals).
        """
        from napari_semcolor.proposals import colors_at

        data = self.layer.data
        found = colors_at(data.reshape(data.shape[0], *data.shape[-3:]), y, x)  # drop a stack's size-1 plane axes
        if found is None:
            self.suggest_swatches.visible = False
            self.suggest_label.value = "the cursor is outside the proposals"
            return None
        if found.hex != self.suggested or not self.suggest_swatches.visible:
            for button, colour, rgb in zip(self.swatch_buttons, found.hex, found.rgb):
                button.native.setStyleSheet(f"background-color: {colour}; color: {_text_colour(rgb)};")
                button.tooltip = f"proposal {button.text}: {colour} (click to hint with it)"
            self.suggested = found.hex
        lines = [" ".join(found.hex[i : i + 4]) for i in range(0, len(found.hex), 4)]
        self.suggest_label.value = f"pixel ({found.y}, {found.x}): the proposals differ by ΔE {found.spread:.0f}\n" + "\n".join(lines)
        self.suggest_swatches.visible = True
        return found

    def keep(self):
        """Make the proposal shown by the sample slider a normal RGB layer of its own.

        Returns
        -------
        napari.layers.Image or None
            The new layer (None, with a message, if there are no proposals).
        """
        layer = self.layer
        if layer is None or layer not in self.viewer.layers:
            return notify_error(self._status, "run with several proposals first")
        axis = self.viewer.dims.ndim - layer.ndim  # the sample axis is the layer's first one
        k = int(self.viewer.dims.current_step[axis]) if axis >= 0 else 0
        k = min(max(k, 0), layer.data.shape[0] - 1)
        metadata = {"semcolor": {**layer.metadata.get("semcolor", {}), "proposal": k}}
        kept = self.viewer.add_image(
            layer.data[k], name=f"{layer.name} proposal {k}", rgb=True, scale=layer.scale[1:], translate=layer.translate[1:],
            units=tuple(str(u) for u in layer.units[1:]), metadata=metadata,
        )
        self._status.value = f"kept proposal {k}"
        return kept
