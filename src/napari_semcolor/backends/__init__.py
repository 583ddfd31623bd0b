"""Colouring backends behind one small protocol (see :mod:`.base`) and a registry.

Adding a backend = one module + one line in :data:`_BACKENDS`. Modules are imported only when a
backend is used, so listing backends never imports torch.
"""

from __future__ import annotations

from importlib import import_module

from napari_semcolor.backends.base import Backend, Job
from napari_semcolor.errors import SemcolorError

#: name -> "module:Class"
_BACKENDS: dict[str, str] = {
    "propagate": "napari_semcolor.backends.propagate:PropagateBackend",
    "eecnn": "napari_semcolor.backends.eecnn:EECNNBackend",
    "nst": "napari_semcolor.backends.nstcnn:NSTCNNBackend",
    "diffusion": "napari_semcolor.backends.diffusion:DiffusionBackend",
}

_instances: dict[str, Backend] = {}


def available() -> list[str]:
    """Names of the registered backends."""
    return list(_BACKENDS)


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (one shared instance per process, so loaded weights are reused)."""
    if name not in _BACKENDS:
        raise SemcolorError(f"unknown backend {name!r}; choose one of: {', '.join(available())}")
    if name not in _instances:
        module, cls = _BACKENDS[name].split(":")
        _instances[name] = getattr(import_module(module), cls)()
    return _instances[name]


__all__ = ["Backend", "Job", "available", "get_backend"]
