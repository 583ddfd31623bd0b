"""Small pieces the dock widgets share: result layers that update in place, error messages, and a
labelled checkbox."""

from __future__ import annotations

from napari_semcolor.errors import Cancelled, SemcolorError


def update_or_add(viewer, name: str, data, add, **kwargs):
    """Put ``data`` into layer ``name``: in place if it has the same shape, else a new layer.

    ``add`` is the viewer method that makes the layer (``viewer.add_image``, ``viewer.add_labels``).
    Re-running a tool then updates its result instead of piling up layers.
    """
    if name in viewer.layers and viewer.layers[name].data.shape == data.shape:
        layer = viewer.layers[name]
        layer.data = data
        if "metadata" in kwargs:
            layer.metadata = kwargs["metadata"]
        return layer
    if name in viewer.layers:
        viewer.layers.remove(name)
    return add(data, name=name, **kwargs)


def free_name(taken, name: str) -> str:
    """``name`` if no layer has it, else ``"<name> run N"`` with the smallest free N ≥ 2."""
    taken = set(taken)
    if name not in taken:
        return name
    n = 2
    while f"{name} run {n}" in taken:
        n += 1
    return f"{name} run {n}"


def error_text(exc: Exception) -> str | None:
    """What to tell the user about an exception from a worker (None for a cancellation)."""
    if isinstance(exc, Cancelled):
        return None
    if isinstance(exc, SemcolorError):
        return str(exc)
    return f"unexpected error ({type(exc).__name__}: {exc}); please report it"


def notify_error(status, message: str) -> None:
    """Show ``message`` in a widget's status label and as a napari error notification."""
    from napari.utils.notifications import show_error

    status.value = message
    show_error(f"semcolor: {message}")


#: a selector is at least this many characters wide; longer layer names are elided
SELECTOR_CHARS = 14


def compact_selectors(container) -> None:
    """Keep the combo boxes of ``container`` (and of its sub-containers) from widening the dock.

    A QComboBox is as wide as its longest item by default, so one long layer name made the
    whole dock (and squeezed the canvas); now a long name is elided, and shown in full in the
    drop-down list.
    """
    from magicgui.widgets import ComboBox, Container
    from qtpy.QtWidgets import QComboBox

    for widget in container:
        if isinstance(widget, Container):
            compact_selectors(widget)
        elif isinstance(widget, ComboBox):
            box = widget.native
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(SELECTOR_CHARS)


def wrap_text(label) -> None:
    """Let a magicgui Label wrap its text instead of widening the dock (errors can be long)."""
    from qtpy.QtWidgets import QSizePolicy

    label.native.setWordWrap(True)
    label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)


def place_above(layers, layer, below) -> None:
    """Move ``layer`` just above ``below`` in a napari LayerList, if it is under it."""
    i, j = layers.index(layer), layers.index(below)
    if i < j:
        layers.move(i, j + 1)


#: widest a dock makes itself to show its rows whole (px); wider rows scroll sideways
MAX_DOCK_WIDTH = 560


class DockScrolls:
    """Mixin for a ``Container(scrollable=True)`` dock: napari docks the scroll area, not its content.

    napari's ``add_dock_widget`` puts a magicgui widget's ``native`` into the dock, and for a
    scrollable Container that is the content inside the scroll area, so the dock did not scroll
    and a long form (a region table of many labels) made the window taller than the screen.
    """

    @property
    def native(self):
        """The scroll area (the widget that goes into the dock)."""
        return self.root_native_widget

    def settle_layout(self, max_width: int = MAX_DOCK_WIDTH) -> None:
        """Rows at their natural height (extra height goes below the last row, not between rows),
        and a dock wide enough for its widest row, up to ``max_width`` (past it, a horizontal
        scroll bar instead of rows cut off at the right edge). Call again when rows change."""
        from qtpy.QtCore import Qt

        scroll, content = self.root_native_widget, self.native_layout_widget
        layout = content.layout()
        if layout.count() and layout.itemAt(layout.count() - 1).spacerItem() is None:
            layout.addStretch(1)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(min(content.minimumSizeHint().width() + bar + 4, max_width))

    @property
    def native_layout_widget(self):
        """The widget inside the scroll area that holds the rows."""
        return self.root_native_widget.widget()


def labelled_checkbox(text: str, label: str, value: bool):
    """A checkbox with a label in the form's left column and a text beside the box.

    magicgui treats ``text`` and ``label`` of a button as synonyms and warns if both are given,
    though it shows both; setting the label afterwards gives the same widget without the warning.
    """
    from magicgui.widgets import CheckBox

    box = CheckBox(value=value, text=text)
    box.label = label
    return box


def natural_height(container) -> None:
    """Keep a short dock at its natural height, so that a dock added below it gets the rest.

    Qt keeps a dock's height when another dock is added to the same side: a short form (Segment,
    Colour hints) docked first held the whole column and the Colourize dock opened below it
    69 px tall, its region table out of sight.
    """
    from qtpy.QtWidgets import QSizePolicy

    container.native.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
