"""Choosing the torch device: ``auto`` prefers CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

from napari_semcolor.errors import SemcolorError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str = "auto") -> str:
    """Turn ``auto|cpu|cuda|mps`` into a device torch can use, with a clear error if it is absent."""
    if device not in DEVICES:
        raise SemcolorError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    import torch

    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SemcolorError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if device == "mps" and not has_mps:
        raise SemcolorError("device 'mps' was asked for but it is not available; use 'auto' or 'cpu'")
    return device
