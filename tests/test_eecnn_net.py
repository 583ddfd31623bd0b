"""EE-CNN network, EfficientNet-Lite0 module and the EE-CNN backend (no training data needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_semcolor.backends.base import Job
from napari_semcolor.backends.eecnn import TEMPERATURE, EECNNBackend
from napari_semcolor.errors import SemcolorError
from napari_semcolor.nets.eecnn import EECNN, ab_bins, soft_cross_entropy, soft_encode
from napari_semcolor.nets.efficientnet_lite import EfficientNetLite0, gray_to_input
from napari_semcolor.weights import REGISTRY, models_dir


def _net(seed: int = 0) -> EECNN:
    torch.manual_seed(seed)
    return EECNN().eval()


def _job(L: np.ndarray, **kw) -> Job:
    h, w = L.shape
    kw["options"] = EECNNBackend.spec.validate_options(kw.get("options"))
    return Job(L=L, hint_ab=np.zeros((h, w, 2), np.float32), hint_mask=np.zeros((h, w), np.float32), **kw)


def test_bins_cover_the_ab_plane_in_gamut():
    bins = ab_bins()
    assert 200 < len(bins) < 330
    assert [0.0, 0.0] in bins.tolist()
    # saturated sRGB primaries are representable, impossible corners are not
    assert [80.0, 70.0] in bins.tolist()  # red
    assert [-110.0, -110.0] not in bins.tolist()


def test_eecnn_shapes():
    net = _net()
    L = torch.rand(2, 1, 64, 96) * 100
    g = torch.rand(2, 1280)
    with torch.inference_mode():
        logits = net(L, g)
        ab = net.predict(L, g, TEMPERATURE)
    assert logits.shape == (2, len(ab_bins()), 32, 48)
    assert ab.shape == (2, 2, 64, 96)
    assert torch.isfinite(ab).all()


def test_eecnn_is_deterministic():
    L = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(1)) * 100
    g = torch.rand(1, 1280, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        a = _net(3).predict(L, g, TEMPERATURE)
        b = _net(3).predict(L, g, TEMPERATURE)
    assert torch.equal(a, b)


def test_readout_of_a_certain_distribution_is_its_bin():
    net = _net()
    logits = torch.full((1, len(net.bins), 1, 1), -50.0)
    logits[0, 7] = 50.0
    ab = net.readout(logits, 0.38)[0, :, 0, 0]
    assert torch.allclose(ab, net.bins[7], atol=1e-3)


def test_soft_encoding_sums_to_one_and_is_lowest_at_truth():
    net = _net()
    ab = torch.tensor([[20.0, -30.0], [0.0, 0.0]]).T.reshape(1, 2, 1, 2)
    index, weight = soft_encode(ab, net.bins)
    assert torch.allclose(weight.sum(1), torch.ones(1, 1, 2))
    assert torch.equal(net.bins[index[0, 0, 0, 1]], torch.tensor([0.0, 0.0]))
    good = torch.full((1, len(net.bins), 1, 2), -30.0).scatter(1, index, weight.log())
    bad = torch.zeros_like(good)
    assert (soft_cross_entropy(good, index, weight) < soft_cross_entropy(bad, index, weight)).all()


def test_efficientnet_lite0_shapes_and_tf_same_padding():
    torch.manual_seed(0)
    net = EfficientNetLite0().eval()
    with torch.inference_mode():
        x = gray_to_input(torch.rand(1, 1, 100, 150) * 100)
        assert x.shape == (1, 3, 224, 224)
        assert net.feature_map(x).shape == (1, 1280, 7, 7)
        assert net(x).shape == (1, 1000)
    assert EfficientNetLite0(num_classes=None)._fc is None


@pytest.fixture
def bundled():
    """The bundled EE-CNN backend (its weights must be in models/: a missing file fails, not skips)."""
    for name in ("eecnn", "efficientnet_lite0_features"):
        assert name in REGISTRY and (models_dir() / REGISTRY[name].filename).is_file(), f"{name} weights missing from models/"
    from napari_semcolor.backends.eecnn import EECNNBackend

    return EECNNBackend()


def test_backend_shapes_determinism_and_odd_sizes(bundled):
    rng = np.random.default_rng(0)
    L = (rng.random((37, 53)) * 100).astype(np.float32)
    seen = []
    a = bundled.colorize(_job(L, n_samples=3, progress=lambda f, m: seen.append(f)))
    b = bundled.colorize(_job(L, n_samples=3))
    assert a.shape == (3, 37, 53, 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.isfinite(a).all() and np.abs(a).max() < 128
    assert seen and seen[-1] == 1.0
    assert bundled.spec.name == "eecnn" and not bundled.spec.needs_hints and 256 <= bundled.spec.working_size <= 512


def test_backend_honours_cancel(bundled):
    import threading

    from napari_semcolor.errors import Cancelled

    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        bundled.colorize(_job(np.full((16, 16), 50, np.float32), cancel=ev))


@pytest.mark.parametrize("content", [None, b"not a safetensors file"])
def test_missing_or_corrupt_weights_raise_semcolor_error(tmp_path, monkeypatch, content):
    from napari_semcolor.backends.eecnn import EECNNBackend, _load_nets

    monkeypatch.setenv("SEMCOLOR_MODELS_DIR", str(tmp_path))
    if content is not None:
        for name in ("eecnn", "efficientnet_lite0_features"):
            if name in REGISTRY:
                (tmp_path / REGISTRY[name].filename).write_bytes(content)
    _load_nets.cache_clear()
    try:
        with pytest.raises(SemcolorError, match="missing|corrupt|unknown"):
            EECNNBackend().colorize(_job(np.full((16, 16), 50, np.float32)))
    finally:
        _load_nets.cache_clear()


def test_pipeline_with_eecnn_keeps_lightness(bundled):
    from napari_semcolor.color import rgb_to_lab, to_lightness
    from napari_semcolor.pipeline import colorize

    yy, xx = np.mgrid[0:90, 0:130]
    img = (127 + 100 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.uint8)
    res = colorize(img, backend="eecnn", n_samples=2)
    assert res.rgb.shape == (2, 90, 130, 3)
    L_out = rgb_to_lab(res.rgb.astype(np.float32) / 255.0)[..., 0]
    assert np.abs(L_out - to_lightness(img)[None]).max() <= 1.0
    assert res.metadata["model_sha256"] == REGISTRY["eecnn"].sha256


def test_region_options_with_eecnn(scene):
    from napari_semcolor.color import image_to_lab
    from napari_semcolor.pipeline import colorize

    free = colorize(scene.image, "eecnn", labels=scene.labels)
    flat = colorize(scene.image, "eecnn", labels=scene.labels, one_color_per_region=True)
    for result in (free, flat):
        assert np.abs(image_to_lab(result.image)[..., 0] - scene.L).max() <= 1.0
    # one colour per region: mid-lightness interior pixels of a region share one colour
    lab_free, lab_flat = image_to_lab(free.image), image_to_lab(flat.image)
    mid = (scene.L > 45) & (scene.L < 80)
    spread = lambda lab, m: np.percentile(np.linalg.norm(lab[m][:, 1:] - np.median(lab[m][:, 1:], 0), axis=-1), 90)  # noqa: E731
    regions = [r & mid for r in scene.regions if (r & mid).sum() > 50]
    assert regions
    assert max(spread(lab_flat, m) for m in regions) < 3
    assert max(spread(lab_free, m) for m in regions) > max(spread(lab_flat, m) for m in regions)


def test_widget_runs_eecnn(make_napari_viewer, qtbot, scene):
    viewer = make_napari_viewer()
    image = viewer.add_image(scene.image, name="sem")
    _, widget = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    widget.backend.value = "eecnn"
    widget.run()
    qtbot.waitUntil(lambda: "sem (eecnn)" in viewer.layers, timeout=60_000)
    out = viewer.layers["sem (eecnn)"]
    assert out.metadata["semcolor"]["model_sha256"]
    from napari_semcolor.color import image_to_lab

    assert np.abs(image_to_lab(out.data)[..., 0] - scene.L).max() <= 1.0
    np.testing.assert_array_equal(image.data, scene.image)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)
