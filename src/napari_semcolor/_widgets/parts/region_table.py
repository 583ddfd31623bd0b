"""The region colour table of the Colourize dock: one row per label of a Labels layer.

A row says what happens to its region: left to the backend, kept gray, or filled with a colour
(chosen with a colour picker, or typed); with a reference backend, a "backend" row can also
name a reference layer of its own. The row's swatch shows the fill the run will use (none for a
backend row). The rows scroll inside a box of at most :data:`TABLE_MAX_HEIGHT` pixels, so
hundreds of labels do not make the dock taller than the screen; with no regions layer, the
table and its button are hidden.
"""

from __future__ import annotations

from collections.abc import Callable

from magicgui.widgets import ComboBox, Container, Label, PushButton, SpinBox

from napari_semcolor._widgets.common import compact_selectors
from napari_semcolor._widgets.parts.colour_field import ColourField, paint_swatch, valid_hex
from napari_semcolor.color import to_hex

#: at most this many rows in the table
MAX_REGION_ROWS = 64
#: what a row can say: leave the region to the backend, keep it gray, or fill it
REGION_MODES = ("backend", "gray", "colour")
#: the table's scroll box is at most this tall (px); about eight rows
TABLE_MAX_HEIGHT = 260
#: the fill a "gray" row shows
GRAY = "#808080"


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
        self.table = Container(labels=False, label="region colours", scrollable=True, visible=False)
        self.table.root_native_widget.setMaximumHeight(TABLE_MAX_HEIGHT)  # the scroll area, not its content
        self.refresh_button = PushButton(text="Refresh region list", visible=False)
        self.refresh_button.changed.connect(lambda *_: self.fill())
        #: label -> (mode combo box, colour field)
        self.rows: dict[int, tuple[ComboBox, ColourField]] = {}
        #: label -> the swatch showing its fill
        self.swatches: dict[int, Label] = {}
        #: label -> its colour in the Labels layer (the first colour offered when a row turns "colour")
        self.display_colours: dict[int, str] = {}
        #: label -> reference combo box (shown for reference backends)
        self.refs: dict[int, ComboBox] = {}
        self._show_refs = False
        self._finder: Container | None = None  # the "add the row of label N" line
        self._hidden: list[int] = []  # labels without a row
        #: called after the user changes a row's fill (mode, or a complete colour); the dock's live mode sets it
        self.on_edit: Callable[[], None] | None = None

    @property
    def widgets(self) -> tuple:
        """The table and its refresh button, for the dock's layout."""
        return self.table, self.refresh_button

    def fill(self, *_) -> None:
        """One row per label of the layer: swatch, backend / gray / colour, #rrggbb, reference.

        Rows keep their settings across refreshes for labels that are still there. Past
        :data:`MAX_REGION_ROWS` labels, a last line adds the row of a label asked for by number.
        """
        import numpy as np

        previous = {k: (mode.value, colour.value, self.refs[k].value) for k, (mode, colour) in self.rows.items()}
        self.table.clear()
        self.rows, self.refs, self.swatches, self.display_colours = {}, {}, {}, {}
        self._finder = None
        layer = self._layer()
        self.table.visible = self.refresh_button.visible = layer is not None
        if layer is None:
            return
        present = [int(v) for v in np.unique(np.asarray(layer.data))]
        for k in sorted(set(present[:MAX_REGION_ROWS]) | (set(previous) & set(present))):
            self._add_row(k, _label_colour(layer, k), previous.get(k))
        self._hidden = [k for k in present if k not in self.rows]
        if self._hidden:
            self._add_finder()

    def add_row(self, k: int) -> bool:
        """Add the row of label ``k`` (one past the first rows); False if it has none or is shown."""
        layer = self._layer()
        if layer is None or k not in self._hidden:
            return False
        self._hidden.remove(k)
        self._add_row(k, _label_colour(layer, k), None)
        self._finder[0].value = f"{len(self._hidden)} more labels are left to the backend; row for label"
        return True

    def _add_finder(self) -> None:
        note = Label(value="")
        number = SpinBox(value=self._hidden[0], min=min(self._hidden), max=max(self._hidden))
        button = PushButton(text="Add row")
        button.changed.connect(lambda *_: self.add_row(int(number.value)))
        self._finder = Container(layout="horizontal", labels=False, widgets=[note, number, button])
        self._finder.margins = (0, 0, 0, 0)
        note.value = f"{len(self._hidden)} more labels are left to the backend; row for label"
        self.table.append(self._finder)

    def _add_row(self, k: int, hex_colour: str, previous: tuple | None) -> None:
        mode_value, colour_value, ref_value = previous or ("backend", "", None)
        self.display_colours[k] = hex_colour
        swatch = Label(value="")
        mode = ComboBox(choices=list(REGION_MODES), value=mode_value, tooltip="what the run does with this region")
        colour = ColourField(value=colour_value, visible=mode_value == "colour")
        # with a reference backend, "backend" rows take this reference (none: the whole-image one)
        ref = ComboBox(choices=self._reference_choices, nullable=True, visible=self._show_refs, tooltip="reference layer for this region")
        if ref_value in ref.choices:
            ref.value = ref_value
        row = Container(layout="horizontal", labels=False, widgets=[Label(value=f"{k}" if k else "0 (background)"), swatch, mode, colour, ref])
        row.margins = (0, 0, 0, 0)
        compact_selectors(row)
        self.table.insert(len(self.table) - (self._finder is not None), row)  # above the finder line
        self.rows[k] = (mode, colour)
        self.refs[k] = ref
        self.swatches[k] = swatch
        mode.changed.connect(lambda *_, k=k: self._on_mode(k))
        colour.changed.connect(lambda *_, k=k: self._on_colour(k))
        self._paint(k)

    def _on_mode(self, k: int) -> None:
        mode, colour = self.rows[k]
        colour.visible = mode.value == "colour"
        if mode.value == "colour" and not colour.value:  # start from the label's own colour
            colour.value = self.display_colours[k]
        self._paint(k)
        self._edited()

    def _on_colour(self, k: int) -> None:
        self._paint(k)
        mode, colour = self.rows[k]
        if mode.value == "colour" and valid_hex(colour.value):  # not a colour half typed
            self._edited()

    def _edited(self) -> None:
        if self.on_edit is not None:
            self.on_edit()

    def _paint(self, k: int) -> None:
        paint_swatch(self.swatches[k], self.swatch_colour(k))

    def swatch_colour(self, k: int) -> str | None:
        """The fill the run will give region ``k``: "#rrggbb", or None (left to the backend)."""
        mode, colour = self.rows[k]
        if mode.value == "gray":
            return GRAY
        return valid_hex(colour.value) if mode.value == "colour" else None

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


def _label_colour(layer, k: int) -> str:
    """Label ``k``'s colour in a Labels layer (background: mid gray), as ``#rrggbb``."""
    import numpy as np

    return to_hex(np.asarray(layer.get_color(k) if k != 0 else (0.5, 0.5, 0.5, 1.0), dtype=float).ravel())
