"""A colour control: a swatch button that opens a colour picker, beside a ``#rrggbb`` field.

The button shows the colour; clicking it opens Qt's colour dialog. The text field still takes a
typed ``#rrggbb``, for colours copied from elsewhere.
"""

from __future__ import annotations

from magicgui.widgets import Container, LineEdit, PushButton

from napari_semcolor.color import parse_color, to_hex
from napari_semcolor.errors import SemcolorError

#: what an empty swatch shows
NO_COLOUR = "transparent"


def valid_hex(text: str) -> str | None:
    """``text`` as ``#rrggbb``, or None if it is not (yet) a colour."""
    try:
        return to_hex(parse_color(text)) if text else None
    except (SemcolorError, ValueError, TypeError):
        return None


def paint_swatch(widget, colour: str | None) -> None:
    """Fill a magicgui widget's background with ``colour`` (None: empty, with a thin border)."""
    fill = colour or NO_COLOUR
    widget.native.setStyleSheet(f"background-color: {fill}; border: 1px solid #888; min-width: 18px; max-width: 18px;")


class ColourField(Container):
    """A swatch button (opens a colour picker) and a text field; ``value`` is the text.

    Parameters
    ----------
    value : str
        The initial colour ("" for none).
    label : str
        The form label.
    placeholder : str
        Shown in the empty text field.
    """

    def __init__(self, value: str = "", label: str = "", placeholder: str = "#rrggbb", **kwargs):
        self.button = PushButton(text="", tooltip="choose a colour")
        self.text = LineEdit(value=value)
        self.text.native.setPlaceholderText(placeholder)
        self.text.native.setMinimumWidth(60)
        super().__init__(layout="horizontal", labels=False, widgets=[self.button, self.text], label=label, **kwargs)
        self.margins = (0, 0, 0, 0)
        self.button.changed.connect(lambda *_: self.pick())
        self.text.changed.connect(lambda *_: paint_swatch(self.button, valid_hex(self.text.value)))
        paint_swatch(self.button, valid_hex(value))

    @property
    def value(self) -> str:
        """The colour as typed or picked (``#rrggbb`` after a pick; "" for none)."""
        return self.text.value

    @value.setter
    def value(self, colour: str) -> None:
        self.text.value = colour

    def pick(self) -> str | None:
        """Open the colour dialog at the current colour; the chosen one replaces it."""
        from qtpy.QtGui import QColor
        from qtpy.QtWidgets import QColorDialog

        chosen = QColorDialog.getColor(QColor(valid_hex(self.value) or "#808080"), self.native, "Choose a colour")
        if not chosen.isValid():  # cancelled
            return None
        self.value = chosen.name()
        return self.value
