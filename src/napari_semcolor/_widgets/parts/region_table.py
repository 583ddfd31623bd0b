"""The region colour table of the Colourize dock: one row per label of a Labels layer.

A row says what happens to its region: left to the backend, kept gray, or filled with a colour;
with a reference backend, a "backend" row can also name a reference layer of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from magicgui.widgets import ComboBox, Container, Label, LineEdit, PushButton

from napari_semcolor.color import to_hex

#: at most this many rows in the table
MAX_REGION_ROWS = 64
#: what a row can say: leave the region to the backend, keep it gray, or fill it
REGION_MODES = ("backend", "gray", "colour")


class RegionTable:
    """The table (a Container of rows) and its "Refresh region list" button.

    Parameters
    ----------
    layer : callable
        Returns the Labels layer to list (or None: an empty table).
    reference_choices : callable
        Choices for the per-region reference combo boxes (colour image layers).
    """

    def __init__(self, layer: Callable[[], object], reference_choices: Callable):
        self._layer = layer
        self._reference_choices = reference_choices
        self.table = Container(labels=False, label="region colours")
        self.refresh_button = PushButton(text="Refresh region list")
        self.refresh_button.changed.connect(lambda *_: self.fill())
        #: label -> (mode combo box, colour line edit)
        self.rows: dict[int, tuple[ComboBox, LineEdit]] = {}
        #: label -> reference combo box (shown for reference backends)
        self.refs: dict[int, ComboBox] = {}
        self._show_refs = False

    @property
    def widgets(self) -> tuple:
        """The table and its refresh button, for the dock's layout."""
        return self.table, self.refresh_button

    def fill(self, *_) -> None:
        """One row per label of the layer: swatch, backend / gray / colour, #rrggbb, reference.

        Rows keep their settings across refreshes for labels that are still there.
        """
        import numpy as np

        previous = {k: (mode.value, colour.value, self.refs[k].value) for k, (mode, colour) in self.rows.items()}
        self.table.clear()
        self.rows, self.refs = {}, {}
        layer = self._layer()
        if layer is None:
            return
        present = [int(v) for v in np.unique(np.asarray(layer.data))]
        shown = present[:MAX_REGION_ROWS]
        for k in shown:
            rgba = np.asarray(layer.get_color(k) if k != 0 else (0.5, 0.5, 0.5, 1.0), dtype=float).ravel()
            self._add_row(k, to_hex(rgba), previous.get(k))
        if len(present) > len(shown):
            self.table.append(Label(value=f"{len(present) - len(shown)} more labels are left to the backend"))

    def _add_row(self, k: int, hex_colour: str, previous: tuple | None) -> None:
        mode_value, colour_value, ref_value = previous or ("backend", hex_colour, None)
        swatch = Label(value="")
        swatch.native.setStyleSheet(f"background-color: {hex_colour}; min-width: 18px; max-width: 18px;")
        mode = ComboBox(choices=list(REGION_MODES), value=mode_value)
        colour = LineEdit(value=colour_value)
        # with a reference backend, "backend" rows take this reference (none: the whole-image one)
        ref = ComboBox(choices=self._reference_choices, nullable=True, visible=self._show_refs, tooltip="reference layer for this region")
        if ref_value in ref.choices:
            ref.value = ref_value
        row = Container(layout="horizontal", labels=False, widgets=[Label(value=f"{k}" if k else "0 (background)"), swatch, mode, colour, ref])
        row.margins = (0, 0, 0, 0)
        self.table.append(row)
        self.rows[k] = (mode, colour)
        self.refs[k] = ref

    def show_references(self, shown: bool) -> None:
        """Show the per-region reference column (for backends that take references)."""
        self._show_refs = shown
        for ref in self.refs.values():
            ref.visible = shown
            if shown:
                ref.reset_choices()

    def colours(self) -> dict:
        """The region colour table the rows describe: {label: "#rrggbb" | "gray"} (backend rows left out)."""
        table = {}
        for k, (mode, colour) in self.rows.items():
            if mode.value == "gray":
                table[k] = "gray"
            elif mode.value == "colour":
                table[k] = colour.value
        return table

    def references(self) -> dict:
        """{label: reference image data} for the "backend" rows that name a reference layer."""
        refs = {}
        for k, (mode, _) in self.rows.items():
            ref = self.refs[k]
            if mode.value == "backend" and ref.value is not None:
                refs[k] = ref.value.data
        return refs
