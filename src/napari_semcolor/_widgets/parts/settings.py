"""Dock settings kept between napari sessions, with a "Restore defaults" button.

The values of a dock's controls (backend, palette, hint size, each backend's options, the Segment
dock's method and parameters…) are saved to one JSON file when they change and set again when
the dock opens. The file is ``settings.json`` in ``$NAPARI_SEMCOLOR_CONFIG_DIR`` if set, else in
the user's config directory (``platformdirs.user_config_dir("napari-semcolor")``). A file that
cannot be read, or a value a control no longer accepts (a backend since uninstalled), is passed
over with a warning: the control keeps its default.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

#: environment variable naming the folder of ``settings.json`` (tests point it at a temporary one)
CONFIG_DIR_ENV = "NAPARI_SEMCOLOR_CONFIG_DIR"
RESTORE_TEXT = "Restore defaults"


def settings_file() -> Path:
    """Where the settings are kept."""
    folder = os.environ.get(CONFIG_DIR_ENV)
    if not folder:
        from platformdirs import user_config_dir

        folder = user_config_dir("napari-semcolor", appauthor=False)
    return Path(folder) / "settings.json"


def read_all(*, warn: bool = True) -> dict:
    """{dock: {key: value}} from the settings file; {} (with a warning) if it is unreadable."""
    path = settings_file()
    if not path.exists():
        return {}
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        problem = None if isinstance(found, dict) and all(isinstance(v, dict) for v in found.values()) else "not a settings file"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problem = f"they cannot be read ({exc})"
    if problem is None:
        return found
    if warn:
        warnings.warn(f"napari-semcolor: ignoring the settings in {path}: {problem}", UserWarning, stacklevel=2)
    return {}


def write(dock: str, values: dict | None) -> None:
    """Replace the settings of ``dock`` (None: forget them); a failed write only warns."""
    path = settings_file()
    everything = read_all(warn=False)  # (a damaged file was warned of when read, and is replaced)
    if values is None:
        everything.pop(dock, None)
    else:
        everything[dock] = values
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(everything, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)  # a crash mid-write leaves the old file whole
    except OSError as exc:
        warnings.warn(f"napari-semcolor: could not save the settings to {path} ({exc})", UserWarning, stacklevel=2)


class DockSettings:
    """Save the values of some of a dock's controls when they change; set them when it opens.

    Parameters
    ----------
    dock : str
        The dock's key in the settings file.
    """

    def __init__(self, dock: str):
        self.dock = dock
        self._widgets: dict[str, Any] = {}
        self._defaults: dict[str, Any] = {}
        self._saved = read_all().get(dock, {})
        self._quiet = False  # setting values ourselves: do not save each one

    def track(self, widgets: dict[str, Any]) -> None:
        """Follow these controls ({key: widget}): set each to its saved value, save its changes.

        A control's value now is its default (what Restore defaults goes back to).
        """
        for key, widget in widgets.items():
            self._widgets[key] = widget
            self._defaults[key] = widget.value
            if key in self._saved:
                self._set(key, widget, self._saved[key])
            widget.changed.connect(lambda *_: self.save())

    def tracker(self, prefix: str):
        """A function ``(group, {key: widget})`` that tracks the widgets as ``prefix.group.key``
        (for controls made later, such as a backend's options when it is first chosen)."""
        return lambda group, widgets: self.track({f"{prefix}.{group}.{key}": w for key, w in widgets.items()})

    def save(self) -> None:
        """Write the values of every followed control."""
        if self._quiet:
            return
        values = {**self._saved, **{key: _plain(w.value) for key, w in self._widgets.items()}}
        values = {key: value for key, value in values.items() if value is not _UNSAVABLE}
        if values != self._saved:
            self._saved = values
            write(self.dock, values)

    def restore_defaults(self) -> None:
        """Every followed control back to its default, and the saved settings forgotten."""
        self._quiet = True
        try:
            for key, widget in self._widgets.items():
                self._set(key, widget, self._defaults[key])
        finally:
            self._quiet = False
        self._saved = {}
        write(self.dock, None)

    def button(self):
        """A "Restore defaults" push button wired to :meth:`restore_defaults`."""
        from magicgui.widgets import PushButton

        button = PushButton(text=RESTORE_TEXT)
        button.tooltip = f"set this dock's controls back to their defaults (saved settings: {settings_file()})"
        button.changed.connect(lambda *_: self.restore_defaults())
        return button

    def _set(self, key: str, widget, value) -> None:
        quiet, self._quiet = self._quiet, True
        try:
            widget.value = value
        except (ValueError, TypeError, KeyError) as exc:
            warnings.warn(f"napari-semcolor: setting {key!r} = {value!r} from {settings_file()} was not used ({exc})", UserWarning, stacklevel=3)
        finally:
            self._quiet = quiet


_UNSAVABLE = object()


def _plain(value):
    """``value`` if JSON can hold it, else a marker that leaves it out."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return _UNSAVABLE
