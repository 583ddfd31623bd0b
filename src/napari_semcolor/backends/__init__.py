"""Colouring backends behind one small protocol (:mod:`.base`), each described by a
:class:`~.spec.BackendSpec`, and a registry.

Adding a backend = one module (a class with ``spec`` and ``colorize(job)``) + one line in
:data:`_BACKENDS` (or :func:`register` from outside the package). Backend modules import torch
lazily, so listing backends and reading their specs is cheap.
"""

from __future__ import annotations

from importlib import import_module

from napari_semcolor.backends.base import Backend, Job
from napari_semcolor.backends.spec import BackendSpec, Option
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


def register(name: str, target: str) -> None:
    """Register the backend class ``target`` ("module:Class") under ``name`` (replaces one of that name).

    The class's ``spec.name`` must be ``name``; it is imported when first used.
    """
    if ":" not in target:
        raise SemcolorError(f"register a backend as 'module:Class'; got {target!r}")
    _BACKENDS[name] = target
    _instances.pop(name, None)


def unregister(name: str) -> None:
    """Remove the backend ``name`` from the registry (e.g. a test's toy backend)."""
    _BACKENDS.pop(name, None)
    _instances.pop(name, None)


def _check_name(name: str) -> None:
    if name not in _BACKENDS:
        raise SemcolorError(f"unknown backend {name!r}; choose one of: {', '.join(available())}")


def backend_class(name: str) -> type:
    """The class of backend ``name`` (imports its module, not torch)."""
    _check_name(name)
    module, cls = _BACKENDS[name].split(":")
    return getattr(import_module(module), cls)


def get_spec(name: str) -> BackendSpec:
    """What backend ``name`` is and can do, without instantiating it."""
    spec = backend_class(name).spec
    if spec.name != name:
        raise SemcolorError(f"backend registered as {name!r} calls itself {spec.name!r}")
    return spec


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (one shared instance per process, so loaded weights are reused)."""
    if name not in _instances:
        get_spec(name)
        _instances[name] = backend_class(name)()
    return _instances[name]


__all__ = ["Backend", "BackendSpec", "Job", "Option", "available", "backend_class", "get_backend", "get_spec", "register", "unregister"]
