"""Bundled weights: sha256 checked before parsing, never unpickled, clear messages."""

import os
import pickle

import pytest

from napari_semcolor import weights
from napari_semcolor.errors import SemcolorError


class _Payload:
    """Unpickling this would create a file: the tests check that it never happens."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_every_bundled_file_is_present_and_matches_its_sha256():
    assert weights.REGISTRY, "no bundled models registered"
    for name in weights.REGISTRY:
        assert weights.model_path(name).stat().st_size < 30 * 10**6  # each file < 30 MB


@pytest.mark.parametrize("name", sorted(weights.REGISTRY))
def test_missing_truncated_and_pickled_weights_are_refused(name, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOLOR_MODELS_DIR", str(tmp_path))
    with pytest.raises(SemcolorError, match="missing"):
        weights.load_state_dict(name)
    target = tmp_path / weights.REGISTRY[name].filename
    target.write_bytes(b"\x00" * 100)  # truncated / wrong content
    with pytest.raises(SemcolorError, match="corrupt"):
        weights.load_state_dict(name)
    sentinel = tmp_path / "pwned"
    target.write_bytes(pickle.dumps(_Payload(str(sentinel))))
    with pytest.raises(SemcolorError, match="corrupt"):
        weights.load_state_dict(name)
    assert not sentinel.exists()


def test_a_pickle_with_a_matching_hash_is_still_not_executed(tmp_path, monkeypatch):
    sentinel = tmp_path / "pwned"
    data = pickle.dumps(_Payload(str(sentinel)))
    (tmp_path / "evil.safetensors").write_bytes(data)
    monkeypatch.setenv("SEMCOLOR_MODELS_DIR", str(tmp_path))
    monkeypatch.setitem(weights.REGISTRY, "evil", weights.ModelFile("evil.safetensors", weights.sha256_of(tmp_path / "evil.safetensors"), "-", "test"))
    with pytest.raises(SemcolorError, match="could not read"):
        weights.load_state_dict("evil")
    assert not sentinel.exists() and not os.path.exists(sentinel)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(SemcolorError, match="known models"):
        weights.model_path("nope")
