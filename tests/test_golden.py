"""Refactors keep behaviour: every backend's output on the bundled sample matches the one recorded
before (``scripts/record_golden.py``; same seeds and options), up to the rounding another
numpy/scipy/torch release or CPU may give."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("record_golden", ROOT / "scripts" / "record_golden.py")
record_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record_golden)

with np.load(ROOT / "tests" / "data" / "golden_sample.npz", allow_pickle=False) as _f:
    RECORDED = {name: _f[name] for name in _f.files}

# On 8 × 8 block means of uint8 RGB. A real change of behaviour moves whole regions by far more;
# a different BLAS or SIMD kernel moves a few pixels by one level (< 0.1 on a block mean).
MAX_BLOCK_DIFF = 3.0
MEAN_BLOCK_DIFF = 0.3


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_output_unchanged(name):
    from napari_semcolor import colorize

    kwargs = record_golden.golden_cases()[name]
    got = record_golden.thumbnails(colorize(**kwargs).rgb)
    want = RECORDED[name]
    assert got.shape == want.shape
    diff = np.abs(got - want)
    message = f"{name}: the output changed (max {diff.max():.2f}, mean {diff.mean():.3f}; re-record only if that is intended)"
    assert diff.max() <= MAX_BLOCK_DIFF and diff.mean() <= MEAN_BLOCK_DIFF, message


def test_golden_cases_cover_every_backend():
    from napari_semcolor.backends import available

    used = {kwargs["backend"] for kwargs in record_golden.golden_cases().values()}
    assert used == set(available()) and set(RECORDED) == set(record_golden.golden_cases())
