"""Old public names kept importable, with a DeprecationWarning, for one release after a rename."""

from __future__ import annotations

import warnings
from collections.abc import Callable


def renamed(module: str, names: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """A module ``__getattr__`` that serves each old name in ``names`` (old → new) from ``namespace``.

    Use as ``__getattr__ = renamed(__name__, {"old": "new"}, globals())``; every use of an old name
    warns with the new one.
    """

    def __getattr__(name: str) -> object:
        if name in names:
            warnings.warn(f"{module}.{name} is deprecated and will be removed in the next release; use {names[name]}", DeprecationWarning, stacklevel=2)
            return namespace[names[name]]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
