"""Export the EMA weights of a diffusion checkpoint as fp16 safetensors for ``models/``.

    python -m training.export_diffusion runs/diffusion/best.ckpt models/diffusion.safetensors

The network's constructor arguments go into the file's metadata (``config``), so the backend can
rebuild it without unpickling anything. Prints the sha256 for ``weights.REGISTRY``.
"""

from __future__ import annotations

import argparse
import json


def export(ckpt: str, out: str) -> str:
    """Write the EMA weights of ``ckpt`` to ``out`` (fp16 safetensors); return its sha256."""
    from pathlib import Path

    import torch
    from safetensors.torch import save_file

    from napari_semcolor.weights import sha256_of

    ck = torch.load(ckpt, weights_only=True)
    state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in ck["ema"].items()}
    config = ck["config"] if isinstance(ck["config"], str) else json.dumps(ck["config"])
    save_file(state, out, metadata={"config": config, "step": str(int(ck["step"])), "source": "EMA", "net_size": str(int(ck.get("net_size", 64)))})
    Path(out).chmod(0o644)  # safetensors creates it owner-only; it ships in the wheel
    return sha256_of(Path(out))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="export diffusion EMA weights to fp16 safetensors")
    p.add_argument("ckpt")
    p.add_argument("out")
    args = p.parse_args(argv)
    print(export(args.ckpt, args.out))


if __name__ == "__main__":
    main()
