"""Property-based hardening: any input gives a correct result or a clear SemcolorError, never a crash,
never a silent wrong result, and inputs are never mutated."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_semcolor import SemcolorError
from napari_semcolor.color import image_to_lab, to_lightness
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import colorize

# an overflow or invalid value inside the pipeline is a silent wrong result waiting to happen
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

DTYPES = [np.bool_, np.uint8, np.uint16, np.int8, np.int32, np.float16, np.float32, np.float64]
shapes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.tuples(st.just(1), st.integers(1, 600)),  # a single row, very wide
    st.tuples(st.integers(1, 600), st.just(2)),
)


@st.composite
def images(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(shapes)
    arr = draw(arrays(dtype, shape, elements={"allow_nan": True, "allow_infinity": True} if np.dtype(dtype).kind == "f" else None))
    view = draw(st.sampled_from(["plain", "readonly", "strided"]))
    if view == "strided":  # non-contiguous: every other column of a wider array
        wide = np.repeat(arr, 2, axis=1)
        arr = wide[:, ::2]
    elif view == "readonly":
        arr.setflags(write=False)
    return arr


#: hint colours a caller might pass by mistake: NaN, out of [0, 1], 0–255 numbers, too few values
BAD_COLOURS = [(float("nan"), 0.5, 0.5), (-0.1, 0.2, 0.3), (1.5, 0.0, 0.0), (255.0, 0.0, 0.0), (0.5, 0.5)]


def hint_colour_ok(rgb) -> bool:
    rgb = np.asarray(rgb, np.float64)
    return rgb.shape == (3,) and bool(np.all(np.isfinite(rgb))) and 0 <= rgb.min() and rgb.max() <= 1


@st.composite
def hint_lists(draw, shape):
    n = draw(st.integers(0, 4))
    out = []
    for _ in range(n):
        y = draw(st.integers(-2, shape[0] + 2))
        x = draw(st.integers(-2, shape[1] + 2))
        if draw(st.integers(0, 9)) == 0:
            rgb = draw(st.sampled_from(BAD_COLOURS))
        else:
            rgb = tuple(draw(st.floats(0, 1)) for _ in range(3))
        out.append(Hint(y, x, rgb, draw(st.integers(1, 4))))
    if out and draw(st.booleans()):
        out.append(out[0])  # duplicated
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_colorize_gives_a_correct_result_or_a_clear_error(data):
    image = data.draw(images())
    hints = data.draw(hint_lists(image.shape))
    labels = data.draw(st.sampled_from([None, "good", "wrong shape", "float"]))
    if labels == "good":
        labels = (np.arange(image.size).reshape(image.shape) % 3).astype(np.int64)
    elif labels == "wrong shape":
        labels = np.zeros((image.shape[0] + 1, image.shape[1]), np.int32)
    elif labels == "float":
        labels = np.full(image.shape, 0.5)
    before = image.copy()
    labels_before = None if labels is None else labels.copy()
    try:
        result = colorize(image, "propagate", hints, labels=labels)
    except SemcolorError as exc:
        assert str(exc)  # a message a person can act on
        finite = image.dtype.kind != "f" or np.isfinite(image).all()
        inside = all(0 <= h.y < image.shape[0] and 0 <= h.x < image.shape[1] and hint_colour_ok(h.rgb) for h in hints)
        good_labels = labels is None or (labels.shape == image.shape and labels.dtype.kind in "iub")
        assert not (finite and inside and good_labels), f"refused valid input: {exc}"
    else:
        assert result.image.shape == (*image.shape, 3) and result.image.dtype == np.uint8
        L_in = to_lightness(image)
        assert np.abs(image_to_lab(result.image)[..., 0] - L_in).max() <= 1.0
    np.testing.assert_array_equal(image, before)
    if labels is not None:
        np.testing.assert_array_equal(labels, labels_before)


def test_same_seed_same_output_across_runs():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (64, 80), dtype=np.uint8)
    hints = [Hint(10, 10, (1, 0, 0), 3), Hint(40, 60, (0, 0, 1), 3)]
    runs = [colorize(image, "propagate", hints, seed=5).rgb for _ in range(3)]
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_segment_gives_labels_or_a_clear_error(data):
    from napari_semcolor.segment import segment

    image = data.draw(images())
    method = data.draw(st.sampled_from(["otsu", "multiotsu", "local"]))
    before = image.copy()
    try:
        labels = segment(image, method)
    except SemcolorError as exc:
        assert str(exc)
        non_finite = image.dtype.kind == "f" and not np.isfinite(image).all()
        # multiotsu cannot make 3 classes from fewer (or too unevenly spread) gray levels
        too_few_levels = method == "multiotsu" and "classes" in str(exc)
        assert non_finite or too_few_levels, f"refused valid input: {exc}"
    else:
        assert labels.shape == image.shape and labels.dtype == np.int32 and labels.min() >= 0
    np.testing.assert_array_equal(image, before)


#: NST fit budget small enough for a property test
NST_FAST = {"iterations": 10, "seconds": 1.0}


@st.composite
def references(draw):
    """Colour references of odd sizes and modes: gray, RGB, RGBA, uint16, float with NaN, tiny."""
    h, w = draw(st.sampled_from([(1, 1), (3, 2), (1, 50), (24, 20)]))
    mode = draw(st.sampled_from(["rgb8", "rgba8", "rgb16", "float", "float_nan", "gray", "constant"]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    rgb = rng.random((h, w, 3))
    if mode == "rgb8":
        return (rgb * 255).astype(np.uint8)
    if mode == "rgba8":
        return (np.concatenate([rgb, np.ones((h, w, 1))], axis=-1) * 255).astype(np.uint8)
    if mode == "rgb16":
        return (rgb * 65535).astype(np.uint16)
    if mode == "float_nan":
        rgb[0, 0, 0] = np.nan
    if mode == "gray":
        return rgb[..., 0]
    if mode == "constant":
        return np.broadcast_to(np.array([200, 40, 40], np.uint8), (h, w, 3))
    return rgb.astype(np.float32)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_network_backends_give_a_correct_result_or_a_clear_error(data):
    """The same contract for the networks (eecnn, diffusion, nst): odd shapes, dtypes, hints, references."""
    backend = data.draw(st.sampled_from(["eecnn", "diffusion", "nst"]))
    image = data.draw(images())
    hints = data.draw(hint_lists(image.shape))
    refs, options = None, ({"steps": 2} if backend == "diffusion" else {})  # each backend takes only its own options
    if backend == "nst":
        refs, options = {0: data.draw(references())}, NST_FAST
    before = image.copy()
    ref_before = None if refs is None else refs[0].copy()
    try:
        result = colorize(image, backend, hints, references=refs, options=options, n_samples=2 if backend == "diffusion" else 1)
    except SemcolorError as exc:
        assert str(exc)
        finite = image.dtype.kind != "f" or np.isfinite(image).all()
        inside = all(0 <= h.y < image.shape[0] and 0 <= h.x < image.shape[1] and hint_colour_ok(h.rgb) for h in hints)
        usable_ref = refs is None or (refs[0].ndim == 3 and refs[0].size >= 24 * 20 * 3 and np.isfinite(refs[0]).all() and np.ptp(refs[0][..., :3]) > 0)
        assert not (finite and inside and usable_ref), f"{backend} refused valid input: {exc}"
    else:
        assert result.rgb.shape[1:] == (*image.shape, 3) and result.rgb.dtype == np.uint8
        L_in = to_lightness(image)
        for rgb in result.rgb:
            assert np.abs(image_to_lab(rgb)[..., 0] - L_in).max() <= 1.0
    np.testing.assert_array_equal(image, before)
    if refs is not None:
        np.testing.assert_array_equal(refs[0], ref_before)
