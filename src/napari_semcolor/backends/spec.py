"""How a backend describes itself: capabilities and a typed schema of its options.

Each backend module declares one :class:`BackendSpec` next to its code (the class attribute
``spec``). The registry, the pipeline (validation, run metadata), the CLI (``--option KEY=VALUE``,
``semcolor backends NAME``) and the Colourize dock (its per-backend controls) all read it, so no
other place needs to know which backend can do what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from napari_semcolor.errors import SemcolorError

_TYPES = {bool: "yes/no", int: "whole number", float: "number", str: "text"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Option:
    """One backend option.

    Attributes
    ----------
    name : str
        Key in ``options`` (and in ``--option KEY=VALUE``).
    type : {bool, int, float, str}
        Python type of the value.
    default : Any
        Value when not given. ``None`` means "automatic": the backend decides at run time and
        ``auto`` says how (e.g. from whether there are hints).
    help : str
        One line for ``--help`` listings and tooltips.
    min, max : float, optional
        Inclusive range for numbers.
    choices : tuple, optional
        The allowed values (for text options).
    auto : str
        What an automatic (``None``) value does; only for options whose default is None.
    advanced : bool
        Tuning knobs kept out of the dock (still accepted from the API and the CLI).
    """

    name: str
    type: type
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    auto: str = ""
    advanced: bool = False

    def parse(self, value: Any) -> Any:
        """``value`` (a Python value or the text of ``KEY=VALUE``) as this option's type, checked.

        Raises
        ------
        SemcolorError
            With what was expected, if the value has the wrong type or is out of range.
        """
        if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
            if self.default is None:
                return None
            raise SemcolorError(f"option {self.name!r} has no automatic value; {self.expects()}")
        try:
            parsed = self._convert(value)
        except (TypeError, ValueError):
            raise SemcolorError(f"option {self.name}={value!r}: {self.expects()}") from None
        if self.choices is not None and parsed not in self.choices:
            raise SemcolorError(f"option {self.name}={value!r}: {self.expects()}")
        if (self.min is not None and parsed < self.min) or (self.max is not None and parsed > self.max):
            raise SemcolorError(f"option {self.name}={value!r} is out of range; {self.expects()}")
        return parsed

    def _convert(self, value: Any) -> Any:
        if self.type is bool:
            if isinstance(value, str):
                text = value.strip().lower()
                if text not in _TRUE + _FALSE:
                    raise ValueError(value)
                return text in _TRUE
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise TypeError(value)
            return bool(value)
        if self.type is int:
            number = float(value.strip()) if isinstance(value, str) else value
            if isinstance(number, bool) or float(number) != int(number):
                raise ValueError(value)
            return int(number)
        if self.type is float:
            if isinstance(value, bool):
                raise TypeError(value)
            number = float(value.strip() if isinstance(value, str) else value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(value)
            return number
        return str(value).strip()

    def expects(self) -> str:
        """What a valid value looks like, e.g. ``"a whole number from 1 to 100 (default 10)"``."""
        if self.choices is not None:
            what = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            what = f"a {_TYPES.get(self.type, self.type.__name__)}"
            if self.min is not None and self.max is not None:
                what += f" from {self.min:g} to {self.max:g}"
            elif self.min is not None:
                what += f" ≥ {self.min:g}"
            elif self.max is not None:
                what += f" ≤ {self.max:g}"
        default = f"auto: {self.auto}" if self.default is None else f"default {self.default}"
        return f"expected {what} ({default})"


@dataclass(frozen=True)
class BackendSpec:
    """What a backend is and can do; read by the registry, pipeline, CLI and docks.

    Attributes
    ----------
    name : str
        Registry name (``--backend NAME``).
    summary : str
        One line for listings.
    working_size : int
        Long side of the working resolution the backend prefers (pixels).
    needs_hints : bool
        True if it gives colour only where hints are (no hints → gray).
    proposals : bool
        Its ``n_samples`` proposals differ from each other (others repeat one result).
    seeded : bool
        It has randomness that ``seed`` fixes.
    uses_torch : bool
        It runs networks, so the device matters.
    references : bool
        It colours from reference images (``references=``).
    live : bool
        Fast enough to re-run on every hint edit.
    weights : tuple of str
        Keys of :data:`napari_semcolor.weights.REGISTRY` it loads (their sha256 go in the run
        metadata).
    options : tuple of Option
        Its options.
    """

    name: str
    summary: str
    working_size: int
    needs_hints: bool = False
    proposals: bool = False
    seeded: bool = False
    uses_torch: bool = False
    references: bool = False
    live: bool = False
    weights: tuple[str, ...] = ()
    options: tuple[Option, ...] = field(default_factory=tuple)

    def option(self, name: str) -> Option:
        """The option called ``name``; an unknown name raises :class:`SemcolorError` listing them."""
        for opt in self.options:
            if opt.name == name:
                return opt
        raise SemcolorError(f"the {self.name} backend has no option {name!r}; {self.describe_options()}")

    def validate_options(self, options: dict | None) -> dict:
        """``options`` checked and typed, with every option's default filled in.

        Raises
        ------
        SemcolorError
            An unknown key or a bad value; the message lists the backend's options.
        """
        given = dict(options or {})
        unknown = [str(k) for k in given if k not in {o.name for o in self.options}]
        if unknown:
            raise SemcolorError(f"the {self.name} backend has no option {', '.join(map(repr, unknown))}; {self.describe_options()}")
        out = {}
        for opt in self.options:
            out[opt.name] = opt.parse(given[opt.name]) if opt.name in given else opt.default
        return out

    def describe_options(self) -> str:
        """One sentence listing the options (for error messages)."""
        if not self.options:
            return "it takes no options"
        return "its options are: " + "; ".join(f"{o.name} ({o.expects().removeprefix('expected ')})" for o in self.options)


__all__ = ["Option", "BackendSpec"]
