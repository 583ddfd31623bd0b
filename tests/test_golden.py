"""Refactors keep behaviour: every backend's output on the bundled sample is bit-identical to the
one recorded before (``scripts/record_golden.py``; same seeds and options)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("record_golden", ROOT / "scripts" / "record_golden.py")
record_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record_golden)

RECORDED = json.loads((ROOT / "tests" / "data" / "golden_sample.json").read_text())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_output_unchanged(name):
    from napari_semcolor import colorize

    kwargs = record_golden.golden_cases()[name]
    rgb = np.asarray(colorize(**kwargs).rgb)
    assert list(rgb.shape) == RECORDED[name]["shape"]
    got = record_golden.fingerprints(rgb)
    assert got == RECORDED[name]["sha256"], f"{name}: the output changed (re-record only if that is intended)"


def test_golden_cases_cover_every_backend():
    from napari_semcolor.backends import available

    used = {kwargs["backend"] for kwargs in record_golden.golden_cases().values()}
    assert used == set(available())
