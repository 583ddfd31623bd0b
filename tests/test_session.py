"""Live colouring (issue 14): a Session previews hint edits from cached work and its full
resolution equals ``colorize()``."""

from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np
import pytest
from scipy import ndimage

from napari_semcolor import SemcolorError, Session, colorize, propagation
from napari_semcolor.color import compose, rgb_to_lab, to_lightness
from napari_semcolor.hints import Hint
from napari_semcolor.synthetic import make_sem
from napari_semcolor.upsample import downsample, working_shape

# 300² at working size 300 is above propagate's direct limit: the preview solves one level coarser
SHAPE, WORK = (300, 300), 300
COLORS = [(0.85, 0.35, 0.3), (0.3, 0.6, 0.85), (0.45, 0.75, 0.35), (0.8, 0.7, 0.3)]


@pytest.fixture(autouse=True)
def fresh_graph_cache(monkeypatch):
    """Each test starts with no affinity graph cached (graphs are shared by content)."""
    monkeypatch.setattr(propagation, "_RECENT", OrderedDict())
    monkeypatch.setattr(propagation, "_ALIVE", weakref.WeakValueDictionary())


@pytest.fixture(scope="module")
def sem():
    return make_sem(SHAPE, "particles", seed=3, n_objects=6)


def region_hints(sem, n: int = 4, size: int = 3) -> list[Hint]:
    """One hint deep inside each of the n largest regions (background included)."""
    ids, counts = np.unique(sem.labels, return_counts=True)
    hints = []
    for label, color in zip(ids[np.argsort(-counts)][:n], COLORS):
        inside = ndimage.distance_transform_edt(sem.labels == label)
        y, x = np.unravel_index(np.argmax(inside), inside.shape)
        hints.append(Hint(int(y), int(x), color, size))
    return hints


def test_preview_places_hint_colours_at_their_pixels(sem):
    hints = region_hints(sem)
    preview = Session(sem.image, working_size=WORK).preview(hints)
    h, w = working_shape(SHAPE, WORK)
    assert preview.rgb.shape == (h, w, 3) and preview.rgb.dtype == np.uint8
    L = downsample(to_lightness(sem.image), (h, w))
    got = rgb_to_lab(preview.rgb / 255)
    for hint in hints:
        y, x = int((hint.y + 1) / preview.scale[0]), int((hint.x + 1) / preview.scale[1])
        want = rgb_to_lab(compose(L[y : y + 1, x : x + 1], hint.ab[None, None]) / 255)[0, 0]  # gamut-mapped at this L*
        assert np.linalg.norm(got[y, x] - want) < 10, (hint, got[y, x], want)


def test_preview_keeps_the_images_lightness_and_says_where_it_goes(sem):
    preview = Session(sem.image, working_size=150).preview(region_hints(sem))
    h, w = preview.rgb.shape[:2]
    L = downsample(to_lightness(sem.image), (h, w))
    assert np.abs(rgb_to_lab(preview.rgb / 255)[..., 0] - L).max() <= 1
    assert preview.scale == (SHAPE[0] / h, SHAPE[1] / w)
    assert preview.translate == ((SHAPE[0] / h - 1) / 2, (SHAPE[1] / w - 1) / 2)


@pytest.mark.parametrize("extra", [{}, {"with_labels": True, "same_gray": 0.5}])
def test_session_colorize_equals_colorize(sem, extra):
    extra = dict(extra)
    labels = sem.labels if extra.pop("with_labels", False) else None
    hints = region_hints(sem)
    session = Session(sem.image, labels=labels, working_size=WORK, **extra)
    session.preview(hints[:2])  # a preview first: the full run then reuses its factorisation
    got = session.colorize(hints)
    want = colorize(sem.image, hints=hints, labels=labels, working_size=WORK, **extra)
    assert got.rgb.shape == want.rgb.shape == (1, *SHAPE, 3)
    assert np.abs(got.rgb.astype(int) - want.rgb).max() <= 1
    assert got.metadata["hints"] == want.metadata["hints"] and got.metadata["backend"] == "propagate"


def test_call_arguments_override_the_sessions(sem):
    hints = region_hints(sem)
    session = Session(sem.image, working_size=WORK)
    got = session.colorize(hints, same_gray=1.0)
    want = colorize(sem.image, hints=hints, working_size=WORK, same_gray=1.0)
    assert np.abs(got.rgb.astype(int) - want.rgb).max() <= 1
    fresh = session.colorize(hints, working_size=100)  # changes the image-only work: run afresh
    assert np.abs(fresh.rgb.astype(int) - colorize(sem.image, hints=hints, working_size=100).rgb).max() <= 1


def test_hint_edits_reuse_the_graph_and_its_factorisation(sem, monkeypatch):
    import scipy.sparse.linalg as spl

    calls = {"graph": 0, "lu": 0}
    build, factor = propagation.affinity_graph, spl.splu

    def graph_spy(*args, **kwargs):
        calls["graph"] += 1
        return build(*args, **kwargs)

    def lu_spy(*args, **kwargs):
        calls["lu"] += 1
        return factor(*args, **kwargs)

    monkeypatch.setattr(propagation, "affinity_graph", graph_spy)
    monkeypatch.setattr(spl, "splu", lu_spy)
    hints = region_hints(sem)
    session = Session(sem.image, working_size=WORK)
    first = session.preview(hints[:2])
    assert calls == {"graph": 1, "lu": 1}
    second = session.preview(hints[:2] + [hints[2]])  # add a hint
    third = session.preview(hints[:2] + [Hint(hints[2].y + 4, hints[2].x, hints[2].rgb, 3)])  # move it
    assert calls == {"graph": 1, "lu": 1}
    assert not np.array_equal(first.rgb, second.rgb) and not np.array_equal(second.rgb, third.rgb)
    session.colorize(hints)  # adds the working-resolution graph; the coarse level reuses the LU
    session.colorize(hints[:3])
    assert calls == {"graph": 2, "lu": 1}


def test_other_backends_fall_back_to_a_run_per_call(sem):
    from napari_semcolor import backends

    backends.register("toy", "toy_backend:ToyBackend")
    try:
        session = Session(sem.image, "toy", options={"hue": 200.0})
        preview = session.preview([])
        a, b = np.median(rgb_to_lab(preview.rgb / 255)[..., 1:].reshape(-1, 2), axis=0)
        assert abs(np.degrees(np.arctan2(b, a)) % 360 - 200) < 5  # the toy's hue (gamut mapping lowers its chroma)
        assert np.hypot(a, b) > 10
        hints = region_hints(sem, 2)
        got, want = session.colorize(hints), colorize(sem.image, "toy", hints=hints, options={"hue": 200.0})
        assert np.abs(got.rgb.astype(int) - want.rgb).max() <= 1
    finally:
        backends.unregister("toy")


def test_bad_input_gets_a_clear_error(sem):
    session = Session(sem.image, working_size=WORK)
    outside = [Hint(SHAPE[0] + 5, 10, (1, 0, 0))]
    with pytest.raises(SemcolorError, match="outside the image"):
        session.preview(outside)
    with pytest.raises(SemcolorError, match="outside the image"):
        session.colorize(outside)
    with pytest.raises(SemcolorError, match="labels have shape"):
        Session(sem.image, labels=np.zeros((10, 10), np.int32))
    with pytest.raises(SemcolorError, match="does not take"):
        Session(sem.image, hints=[])
    with pytest.raises(SemcolorError, match="does not take"):
        session.colorize([], colour="red")


# -- eecnn and nst: the hint-free work (network, fitted net) is done once per session ------------
NST_OPTIONS = {"iterations": 15, "seconds": 1000.0}  # stops on iterations: the same fit every time
NET_WORK = 160  # the networks' tests: a smaller working size keeps them quick (and solves eecnn's hints directly)


@pytest.fixture(scope="module")
def reference():
    """A colour reference for ``nst``: a generated micrograph with its regions painted."""
    from napari_semcolor.synthetic import paint, region_colors

    ref = make_sem((96, 96), "particles", seed=5, n_objects=5)
    return compose(to_lightness(ref.image), paint(ref.labels, region_colors(ref.labels, seed=6)))


def _backend_args(backend: str, reference) -> dict:
    return {"references": {0: reference}, "options": NST_OPTIONS} if backend == "nst" else {}


@pytest.fixture
def network_runs(monkeypatch):
    """Counts the runs of the eecnn network and of nst's fit and apply."""
    from napari_semcolor.backends import nstcnn
    from napari_semcolor.nets.eecnn import EECNN

    runs = {"eecnn": 0, "nst fit": 0, "nst apply": 0}

    def counted(name, fn):
        def spy(*args, **kwargs):
            runs[name] += 1
            return fn(*args, **kwargs)

        return spy

    monkeypatch.setattr(EECNN, "forward", counted("eecnn", EECNN.forward))
    monkeypatch.setattr(nstcnn, "fit", counted("nst fit", nstcnn.fit))
    monkeypatch.setattr(nstcnn, "apply", counted("nst apply", nstcnn.apply))
    nstcnn.clear_cache()
    yield runs
    nstcnn.clear_cache()


@pytest.mark.parametrize("backend", ["eecnn", "nst"])
def test_hint_edits_reuse_the_networks_output(sem, reference, network_runs, backend):
    args = _backend_args(backend, reference)
    hints = region_hints(sem)
    session = Session(sem.image, backend, working_size=NET_WORK, **args)
    first = session.preview(hints[:2])
    runs = dict(network_runs)
    assert runs["eecnn" if backend == "eecnn" else "nst apply"] == 1
    second = session.preview(hints[:3])
    got = session.colorize(hints)
    assert network_runs == runs  # the edits and the full resolution only applied the hints
    assert not np.array_equal(first.rgb, second.rgb)
    want = colorize(sem.image, backend, hints=hints, working_size=NET_WORK, **args)
    assert np.abs(got.rgb.astype(int) - want.rgb).max() <= 1
    assert got.metadata["hints"] == want.metadata["hints"] and got.metadata["backend"] == backend


@pytest.mark.parametrize("backend", ["eecnn", "nst"])
def test_preview_follows_the_hints_over_the_cached_prior(sem, reference, backend):
    hints = region_hints(sem)
    session = Session(sem.image, backend, working_size=NET_WORK, **_backend_args(backend, reference))
    session.preview([])
    preview = session.preview(hints)
    got = rgb_to_lab(preview.rgb / 255)
    L = downsample(to_lightness(sem.image), preview.rgb.shape[:2])
    for hint in hints:
        y, x = int((hint.y + 1) / preview.scale[0]), int((hint.x + 1) / preview.scale[1])
        want = rgb_to_lab(compose(L[y : y + 1, x : x + 1], hint.ab[None, None]) / 255)[0, 0]
        assert np.linalg.norm(got[y, x] - want) < 10, (hint, got[y, x], want)


def test_new_region_colours_recompose_without_running_the_network(sem, network_runs):
    hints = region_hints(sem, 2)
    ids, counts = np.unique(sem.labels, return_counts=True)
    particle = int(ids[np.argsort(-counts)][1])
    session = Session(sem.image, "eecnn", labels=sem.labels, working_size=NET_WORK, region_colors={particle: "#2060e0"})
    session.preview(hints)
    assert network_runs["eecnn"] == 1
    tables = ({particle: "#e03020"}, {particle: "gray"}, None)
    results = [(session.preview(hints, region_colors=table), session.colorize(hints, region_colors=table)) for table in tables]
    assert network_runs["eecnn"] == 1  # 3 tables, previews and full resolution: one network run
    for table, (preview, got) in zip(tables, results):
        want = colorize(sem.image, "eecnn", hints=hints, labels=sem.labels, working_size=NET_WORK, region_colors=table)
        assert np.abs(got.rgb.astype(int) - want.rgb).max() <= 1
        assert got.metadata["region_colors"] == want.metadata["region_colors"]
        inside = downsample((sem.labels == particle).astype(np.float32), preview.rgb.shape[:2]) == 1
        a, b = np.median(rgb_to_lab(preview.rgb / 255)[inside][:, 1:], axis=0)
        if table and table[particle] == "gray":
            assert np.hypot(a, b) < 2
        elif table:
            assert a > 20  # red
    with pytest.raises(SemcolorError, match="not in the label image"):
        session.preview(hints, region_colors={9999: "#ff0000"})


def test_the_data_bar_stays_gray_by_default_as_in_colorize():
    # Session and napari_semcolor.colorize() answer the same arguments the same way
    from napari_semcolor.color import image_to_lab

    bar_sem = make_sem((160, 200), "particles", seed=3, databar=True)
    bar = bar_sem.labels == -1
    top = int(np.argmax(bar.any(axis=1)))
    hints = [Hint(top + 5, 100, (0.9, 0.1, 0.1), size=3), Hint(20, 20, (0.1, 0.1, 0.9), size=3)]
    kept = Session(bar_sem.image).colorize(hints).image
    np.testing.assert_allclose(kept, colorize(bar_sem.image, hints=hints).image, atol=1)
    assert np.abs(image_to_lab(kept)[..., 1:][bar]).max() < 1.5  # the red hint inside the bar did not colour it
    tinted = Session(bar_sem.image, databar_gray=False).colorize(hints).image
    assert np.abs(image_to_lab(tinted)[..., 1:][bar]).max() > 10
