"""Per-backend controls generated from the backend's declaration (its ``BackendSpec.options``).

One control per option that is not ``advanced``: a whole number → spin box, a number → float
spin box (both with the option's range), choices → combo box, yes/no → check box, text → line
edit. An option whose default is None ("automatic": the backend decides at run time, and
``Option.auto`` says how) gets a control that offers "auto". No backend is named here: a
registered backend brings its own controls.
"""

from __future__ import annotations

import math
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, SpinBox

from napari_semcolor.backends.spec import Option

#: what an automatic value shows as
AUTO = "auto"
_INT_LIMIT = 2**31 - 1
_FLOAT_LIMIT = 1e9


class _AutoMixin:
    """A spin box whose lowest position shows "auto" and means None (Qt's special value text)."""

    def get_value(self) -> Any:
        value = super().get_value()
        return None if value <= self.min else value

    def set_value(self, value: Any) -> None:
        super().set_value(self.min if value is None or value == AUTO else value)

    def _on_value_change(self, value: Any = None) -> None:
        self.changed.emit(self.get_value())


class AutoSpinBox(_AutoMixin, SpinBox):
    """Whole numbers, or "auto" (None) at the bottom of the range."""


class AutoFloatSpinBox(_AutoMixin, FloatSpinBox):
    """Numbers, or "auto" (None) at the bottom of the range."""


def nice_step(low: float, high: float) -> float:
    """A round step (1, 2 or 5 × 10^k) giving about 20 steps from ``low`` to ``high``."""
    raw = (high - low) / 20
    if not raw > 0 or not math.isfinite(raw):
        return 0.1
    exponent = math.floor(math.log10(raw))
    for mantissa in (1, 2, 5, 10):
        if mantissa * 10.0**exponent >= raw * (1 - 1e-9):
            return round(mantissa * 10.0**exponent, 12)
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def decimals_for(*values: float) -> int:
    """Decimals a float spin box needs to show every one of ``values`` exactly (2 to 6)."""
    needed = 2
    for value in values:
        for d in range(needed, 7):
            if abs(round(value, d) - value) < 1e-12:
                break
        needed = max(needed, d)
    return needed


def option_label(backend: str, option: Option) -> str:
    """The form label: the backend's name, then the option's (it tells the user whose knob it is)."""
    return f"{backend} {option.name.replace('_', ' ')}"


def _number_widget(option: Option) -> SpinBox | FloatSpinBox:
    automatic = option.default is None
    if option.type is int:
        low = int(option.min) if option.min is not None else -_INT_LIMIT + 1
        high = int(option.max) if option.max is not None else _INT_LIMIT
        cls, step = (AutoSpinBox if automatic else SpinBox), 1
    else:
        low = float(option.min) if option.min is not None else -_FLOAT_LIMIT
        high = float(option.max) if option.max is not None else _FLOAT_LIMIT
        step = nice_step(low, high)
        if option.default:  # a small default (e.g. 0.02 in 0…10) gets steps of its own size
            step = min(step, nice_step(0.0, 10 * abs(float(option.default))))
        cls = AutoFloatSpinBox if automatic else FloatSpinBox
    floor = low - step if automatic else low  # one step below the range: "auto"
    widget = cls(min=floor, max=high, step=step, value=floor if automatic else option.default)
    if option.type is float:
        widget.native.setDecimals(decimals_for(floor, step, *([] if automatic else [option.default])))
        widget.min, widget.value = floor, None if automatic else option.default  # again, at those decimals
    if automatic:
        widget.native.setSpecialValueText(AUTO)
    return widget


def option_widget(backend: str, option: Option):
    """A magicgui control for ``option`` of backend ``backend``, set to the option's default.

    Its ``value`` is the option's value; an automatic one reads as None (spin boxes) or
    ``"auto"`` (combo boxes); :func:`option_value` turns both into None.
    """
    if option.choices is not None or (option.type is bool and option.default is None):
        choices = [str(c) for c in option.choices] if option.choices is not None else ["yes", "no"]
        if option.default is None:
            widget = ComboBox(choices=[AUTO, *choices], value=AUTO)
        else:
            widget = ComboBox(choices=list(option.choices), value=option.default)
    elif option.type is bool:
        widget = CheckBox(value=bool(option.default), text="")
    elif option.type in (int, float):
        widget = _number_widget(option)
    else:
        widget = LineEdit(value="" if option.default is None else str(option.default))
    widget.label = option_label(backend, option)
    default = f"auto: {option.auto}" if option.default is None and option.auto else f"default {option.default}"
    widget.tooltip = f"{option.help} ({default})"
    return widget


def option_value(widget) -> Any:
    """The value of a control made by :func:`option_widget` (None: automatic)."""
    value = widget.value
    return None if value is None or value == AUTO or (isinstance(widget, LineEdit) and value == "") else value


class BackendOptions:
    """The option controls of every backend chosen so far, in a form; those of one are shown.

    A backend's controls are made from its spec the first time it is chosen and kept, so a
    value set for a backend is still there when the user comes back to it.

    Parameters
    ----------
    form : magicgui Container
        The dock's form; the controls go right after ``after``.
    after : magicgui Widget
        The widget of ``form`` the controls follow.
    on_build : callable, optional
        Called with the backend's name and its {option name: control} when they are made (the
        dock's saved settings are set there).
    """

    def __init__(self, form: Container, after, on_build=None):
        self._form, self._after, self._on_build = form, after, on_build
        self._controls: dict[str, dict[str, Any]] = {}
        self.backend: str | None = None

    def show(self, backend: str) -> None:
        """Show the controls of ``backend`` (made from its spec if new) and hide the others."""
        self.controls(backend)
        for name, controls in self._controls.items():
            for widget in controls.values():
                widget.visible = name == backend
        self.backend = backend

    def controls(self, backend: str | None = None) -> dict:
        """{option name: control} of ``backend`` (default: the one shown)."""
        backend = self.backend if backend is None else backend
        if backend not in self._controls:
            self._controls[backend] = self._build(backend)
            if self._on_build is not None:
                self._on_build(backend, self._controls[backend])
        return self._controls[backend]

    def values(self, backend: str | None = None) -> dict:
        """The ``options`` dict for ``backend`` (default: the one shown); automatic values are left out."""
        found = {name: option_value(widget) for name, widget in self.controls(backend).items()}
        return {name: value for name, value in found.items() if value is not None}

    def _build(self, backend: str) -> dict:
        from napari_semcolor.backends import get_spec

        controls = {o.name: option_widget(backend, o) for o in get_spec(backend).options if not o.advanced}
        index = self._position()
        for offset, widget in enumerate(controls.values()):
            widget.visible = False
            self._form.insert(index + offset, widget)
        return controls

    def _position(self) -> int:
        """Where the next backend's controls go: after ``after`` and the controls made before."""
        for i, widget in enumerate(self._form):
            if widget is self._after:
                return i + 1 + sum(len(c) for c in self._controls.values())
        raise ValueError("the anchor widget is not in the form")
