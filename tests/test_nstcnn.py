"""NST-CNN backend: reference colouring, per region, cache, cancel, CLI (generated fixtures only)."""

from __future__ import annotations

import threading
import time

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import torch

from napari_semcolor import Cancelled, colorize
from napari_semcolor.backends import nstchroma, nstcnn
from napari_semcolor.backends.base import Job
from napari_semcolor.cli import main
from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.errors import SemcolorError
from napari_semcolor.nets.nstcnn import NSTCNN
from napari_semcolor.synthetic import make_sem, paint, region_colors

FAST = {"iterations": 80, "seconds": 2.0}


def _reference(seed: int, shape=(160, 160), kind="particles", colours=None) -> np.ndarray:
    """A colour micrograph: a generated SEM image with its regions painted."""
    sem = make_sem(shape, kind, seed=seed, n_objects=8)
    L = to_lightness(sem.image)
    colours = colours or region_colors(sem.labels, seed=seed + 1)
    return compose(L, paint(sem.labels, colours))


def _tinted(seed: int, ab: tuple[float, float], shape=(128, 128)) -> np.ndarray:
    """A textured reference of one hue (a*b* = ``ab``), uint8 RGB."""
    sem = make_sem(shape, "fibres", seed=seed, n_objects=6)
    L = to_lightness(sem.image)
    return compose(L, np.broadcast_to(np.asarray(ab, np.float32), L.shape + (2,)))


def _gray(seed: int = 11, shape=(140, 150)) -> np.ndarray:
    return make_sem(shape, "particles", seed=seed, n_objects=8).image


def _ab(rgb: np.ndarray, where=None) -> np.ndarray:
    ab = image_to_lab(rgb)[..., 1:]
    return (ab if where is None else ab[where]).reshape(-1, 2)


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, n_dirs: int = 32, n_q: int = 64) -> float:
    """Sliced Wasserstein-1 distance between two a*b* point clouds (n, 2)."""
    angles = np.linspace(0, np.pi, n_dirs, endpoint=False)
    dirs = np.stack([np.cos(angles), np.sin(angles)], 1)
    q = np.linspace(0, 1, n_q)
    return float(np.mean([np.mean(np.abs(np.quantile(x @ d, q) - np.quantile(y @ d, q))) for d in dirs]))


def _job(L, **kw) -> Job:
    h, w = L.shape
    kw["options"] = nstcnn.NSTCNNBackend.spec.validate_options(kw.get("options"))
    return Job(L=L, hint_ab=np.zeros((h, w, 2), np.float32), hint_mask=np.zeros((h, w), np.float32), **kw)


def test_net_keeps_the_shape():
    net = NSTCNN(8)
    with torch.inference_mode():
        assert net(torch.rand(2, 1, 5, 37) * 100).shape == (2, 2, 5, 37)


def test_L_is_unchanged_and_colours_follow_the_reference():
    gray, ref = _gray(), _reference(3)
    out = colorize(gray, "nst", references={0: ref}, options=FAST).image
    assert np.abs(image_to_lab(out)[..., 0] - to_lightness(gray)).max() <= 1.0
    got, want = _ab(out), _ab(ref)
    zero = np.zeros_like(got)
    assert sliced_wasserstein(got, want) < 0.5 * sliced_wasserstein(got, zero)
    assert sliced_wasserstein(got, want) < sliced_wasserstein(zero, want)


def _weak_reference(seed: int = 21, shape=(160, 160)) -> np.ndarray:
    """Like the sample's propagate result: gray background, particles of several hues, mean chroma ~8."""
    sem = make_sem(shape, "particles", seed=seed, n_objects=8)
    colours = {k: v for k, v in region_colors(sem.labels, seed=seed, chroma=(40, 50)).items() if k > 0}
    ab = paint(sem.labels, colours)
    ab *= 8.0 / np.hypot(ab[..., 0], ab[..., 1]).mean()
    return compose(to_lightness(sem.image), ab)


def _chroma(rgb: np.ndarray) -> float:
    return float(np.hypot(*image_to_lab(rgb)[..., 1:].transpose(2, 0, 1)).mean())


def test_weak_reference_gives_its_chroma_not_gray():
    gray, ref = _gray(17, (128, 128)), _weak_reference()
    want = _chroma(ref)
    assert 6 < want < 10
    opts = {"iterations": 20, "seconds": 1000}
    out = colorize(gray, "nst", references={0: ref}, options=opts).image
    assert np.abs(image_to_lab(out)[..., 0] - to_lightness(gray)).max() <= 1.0
    assert 0.7 * want < _chroma(out) < 1.3 * want
    # the fitted net alone predicts a central a*b*, near gray for such a reference
    raw = colorize(gray, "nst", references={0: ref}, options={**opts, "match_chroma": 0.0}).image
    assert _chroma(raw) < 0.5 * want


def test_matched_chroma_takes_the_reference_quantiles_and_keeps_hue_and_ties():
    rng = np.random.default_rng(0)
    ab = rng.normal(size=(40, 50, 2)).astype(np.float32)
    ab[:5] = ab[0, 0]  # equal colours stay equal
    reference = rng.gamma(1.0, 10.0, size=(3000, 1)) * np.array([[0.6, 0.8]])
    out = nstchroma.match_chroma(ab, reference)
    c_in, c_out, c_ref = (np.hypot(x[..., 0], x[..., 1]).ravel() for x in (ab, out, reference))
    assert np.all(np.diff(c_out[np.argsort(c_in, kind="stable")]) >= -1e-4)  # monotone in the input's chroma
    assert abs(np.median(c_out) - np.median(c_ref)) < 1.0 and abs(c_out.mean() - c_ref.mean()) < 1.0
    assert np.allclose(out / c_out.reshape(out.shape[:2])[..., None], ab / c_in.reshape(ab.shape[:2])[..., None], atol=1e-4)
    assert np.ptp(out[:5].reshape(-1, 2), axis=0).max() < 1e-4
    assert np.array_equal(nstchroma.match_chroma(ab, reference, strength=0.0), ab)
    where = np.zeros(ab.shape[:2], bool)
    where[10:] = True
    part = nstchroma.match_chroma(ab, reference, where)
    assert np.array_equal(part[~where], ab[~where]) and not np.allclose(part[where], ab[where])


def test_chroma_lost_to_the_gamut_is_made_up_elsewhere():
    rng = np.random.default_rng(1)
    L = np.where(rng.random((60, 60)) < 0.3, 3.0, 55.0).astype(np.float32)  # 30 % near black: little room
    ab = np.dstack([rng.normal(20, 5, L.shape), rng.normal(10, 5, L.shape)]).astype(np.float32)
    reference = np.stack([rng.normal(20, 5, 4000), rng.normal(10, 5, 4000)], 1)
    want = np.hypot(reference[:, 0], reference[:, 1]).mean()
    shown = {}
    for name, L_arg in (("plain", None), ("gamut", L)):
        out = nstchroma.match_chroma(ab, reference, L=L_arg)
        lab = image_to_lab(compose(L, out))
        shown[name] = np.hypot(lab[..., 1], lab[..., 2]).mean()
    assert shown["plain"] < 0.85 * want and abs(shown["gamut"] - want) < 0.1 * want


@pytest.mark.parametrize("kind", ["uint16", "float", "rgba", "float255"])
def test_any_reference_dtype_gives_the_same_lab(kind):
    ref = _reference(4)
    variants = {
        "uint16": ref.astype(np.uint16) * 257,
        "float": ref.astype(np.float32) / 255,
        "rgba": np.dstack([ref, np.full(ref.shape[:2], 255, np.uint8)]),
        "float255": ref.astype(np.float64),
    }
    lab, mask = nstcnn.reference_lab(variants[kind])
    lab0, _ = nstcnn.reference_lab(ref)
    assert mask.all() and np.abs(lab - lab0).max() < 0.05


def test_two_references_colour_their_own_regions_with_hard_borders():
    gray = _gray(12, (128, 128))
    labels = np.zeros(gray.shape, np.int32)
    labels[:, 64:] = 1
    red, blue = _tinted(5, (45, 25)), _tinted(6, (5, -45))
    out = colorize(gray, "nst", labels=labels, references={0: red, 1: blue}, options=FAST).image
    left, right = _ab(out, np.s_[:, :60]), _ab(out, np.s_[:, 68:])
    assert sliced_wasserstein(left, _ab(red)) < sliced_wasserstein(left, _ab(blue))
    assert sliced_wasserstein(right, _ab(blue)) < sliced_wasserstein(right, _ab(red))
    # the border stays hard: the two columns either side of it have their own reference's hue
    assert np.median(_ab(out, np.s_[:, 63])[:, 0]) > 25 and np.median(_ab(out, np.s_[:, 64])[:, 1]) < -25


def test_unlisted_region_without_default_stays_gray():
    gray = _gray(13, (96, 96))
    labels = np.zeros(gray.shape, np.int32)
    labels[48:] = 2
    out = colorize(gray, "nst", labels=labels, references={2: _tinted(5, (45, 25))}, options=FAST).image
    assert np.abs(_ab(out, np.s_[:44])).max() < 2
    assert np.median(_ab(out, np.s_[52:])[:, 0]) > 20


def test_mask_selects_the_part_of_the_reference_to_learn_from():
    red, blue = _tinted(7, (45, 25), (96, 96)), _tinted(7, (5, -45), (96, 96))
    ref = np.concatenate([red, blue], axis=1)
    mask = np.zeros(ref.shape[:2], bool)
    mask[:, 96:] = True
    out = colorize(_gray(14, (96, 96)), "nst", references={0: (ref, mask)}, options=FAST).image
    assert np.median(_ab(out)[:, 1]) < -25


def test_same_gray_makes_equal_L_pixels_equal_in_ab():
    L = np.round(to_lightness(_gray(15, (96, 96))))  # whole L* levels: many pixels share one
    labels = np.zeros(L.shape, np.int32)
    labels[:, 48:] = 1
    refs = {0: _reference(3), 1: _tinted(6, (5, -45))}
    ab = nstcnn.NSTCNNBackend().colorize(_job(L, labels=labels, references=refs, options={**FAST, "same_gray": 1.0}))[0]
    for k in (0, 1):
        for level in np.unique(L[labels == k]):
            sel = (labels == k) & (L == level)
            assert np.ptp(ab[sel], axis=0).max() < 1e-3
    off = nstcnn.NSTCNNBackend().colorize(_job(L, labels=labels, references=refs, options={**FAST, "same_gray": 0.0}))[0]
    assert max(np.ptp(off[(labels == 0) & (L == v)], axis=0).max() for v in np.unique(L[labels == 0])) > 1


@pytest.mark.parametrize("ref", [np.full((32, 32), 128, np.uint8), np.full((32, 32, 3), 90, np.uint8), np.full((32, 32, 1), 0.5)])
def test_gray_reference_is_a_clear_error(ref):
    with pytest.raises(SemcolorError, match="a reference must have colour"):
        colorize(_gray(), "nst", references={0: ref})


def test_missing_reference_and_empty_mask_are_clear_errors():
    with pytest.raises(SemcolorError, match="needs a colour reference"):
        colorize(_gray(), "nst")
    ref = _reference(3)
    with pytest.raises(SemcolorError, match="selects no pixels"):
        colorize(_gray(), "nst", references={0: (ref, np.zeros(ref.shape[:2], bool))})


def test_cancel_mid_fit_returns_promptly_and_caches_nothing():
    nstcnn.clear_cache()
    cancel = threading.Event()
    when = {}

    def progress(fraction, message):
        if "fitting" in message and "iterations" in message and not cancel.is_set() and " 0 " not in message:
            when["t"] = time.perf_counter()
            cancel.set()

    ref = _reference(8)
    with pytest.raises(Cancelled):
        colorize(_gray(), "nst", references={0: ref}, progress=progress, cancel=cancel, options={"iterations": 10**6, "seconds": 60})
    assert time.perf_counter() - when["t"] < 0.5
    assert len(nstcnn._cache) == 0


def test_cache_hit_is_much_faster_than_a_fit():
    nstcnn.clear_cache()
    gray, ref = _gray(), _reference(9)
    opts = {"iterations": 10**6, "seconds": 1.5}
    t0 = time.perf_counter()
    first = colorize(gray, "nst", references={0: ref}, options=opts).image
    fit_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = colorize(gray, "nst", references={0: ref.copy()}, options=opts).image
    assert time.perf_counter() - t0 < fit_time / 4
    assert np.array_equal(first, second)
    assert len(nstcnn._cache) == 1


def test_seeded_fit_is_reproducible():
    nstcnn.clear_cache()
    gray, ref = _gray(), _reference(10)
    opts = {"iterations": 20, "seconds": 60}
    a = colorize(gray, "nst", references={0: ref}, options=opts, seed=1).image
    nstcnn.clear_cache()
    b = colorize(gray, "nst", references={0: ref}, options=opts, seed=1).image
    assert np.array_equal(a, b)


def test_cli_round_trip_with_region_references(tmp_path):
    gray = _gray(16, (112, 112))
    labels = np.zeros(gray.shape, np.uint8)
    labels[:, 56:] = 1
    iio.imwrite(tmp_path / "in.png", gray)
    tifffile.imwrite(tmp_path / "labels.tif", labels)
    iio.imwrite(tmp_path / "bg.png", _tinted(5, (45, 25), (64, 64)))
    iio.imwrite(tmp_path / "cells.png", _tinted(6, (5, -45), (64, 64)))
    args = ["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--backend", "nst", "--labels", str(tmp_path / "labels.tif"),
            "--reference", f"0={tmp_path / 'bg.png'}", "--reference", f"1={tmp_path / 'cells.png'}", "-q"]
    assert main(args) == 0
    out = iio.imread(tmp_path / "out.png")
    assert np.abs(image_to_lab(out)[..., 0] - to_lightness(gray)).max() <= 1.0
    assert np.median(_ab(out, np.s_[:, :50])[:, 0]) > 20 and np.median(_ab(out, np.s_[:, 62:])[:, 1]) < -20


def test_cli_gray_reference_exits_2(tmp_path, capsys):
    iio.imwrite(tmp_path / "in.png", _gray())
    iio.imwrite(tmp_path / "ref.png", _gray(2))
    assert main(
        ["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "--backend", "nst", "--reference", f"0={tmp_path / 'ref.png'}", "-q"]
    ) == 2
    assert "must have colour" in capsys.readouterr().err


def test_same_gray_default_is_one_value_in_spec_dock_and_metadata(make_napari_viewer, qtbot):
    from napari_semcolor._widgets.colorize import ColorizeWidget

    spec = {o.name: o for o in nstcnn.NSTCNNBackend.spec.options}
    assert spec["same_gray"].default == nstcnn.SAME_GRAY == 0.75
    viewer = make_napari_viewer()
    gray = _gray(18, (64, 64))
    image = viewer.add_image(gray, name="sem")
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value = image
    widget.backend.value = "nst"
    control = widget.backend_options.controls("nst")["same_gray"]
    assert not control.native.isHidden() and control.label == "nst same gray" and control.value == nstcnn.SAME_GRAY
    assert widget.backend_options.values("nst")["same_gray"] == nstcnn.SAME_GRAY
    # the dock's general "same gray, same colour" (pipeline, default 0) is another setting
    assert widget.same_gray.value == 0.0 and widget.same_gray.label != control.label
    # what a run with the dock's options records
    result = colorize(gray, "nst", references={0: _reference(3, (64, 64))}, options={**widget.backend_options.values("nst"), **FAST})
    assert result.metadata["options"]["same_gray"] == nstcnn.SAME_GRAY and result.metadata["same_gray"] == 0.0
