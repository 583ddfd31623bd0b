import numpy as np
import pytest
import skimage.color
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_semcolor.color import compose, image_to_lab, lab_to_rgb, rgb_to_lab, to_lightness
from napari_semcolor.errors import SemcolorError
from napari_semcolor.gamut import gamut_scale


def lightness_of(rgb_u8):
    return rgb_to_lab(rgb_u8.astype(np.float32) / 255)[..., 0]


@settings(max_examples=60, deadline=None)
@given(
    L=arrays(np.float32, (6, 7), elements=st.floats(0, 100, width=32)),
    ab=arrays(np.float32, (6, 7, 2), elements=st.floats(-200, 200, width=32)),
)
def test_compose_keeps_lightness_for_any_colour(L, ab):
    rgb = compose(L, ab)
    assert rgb.dtype == np.uint8 and rgb.shape == (6, 7, 3)
    assert np.abs(lightness_of(rgb) - L).max() <= 1.0


def test_compose_extreme_chroma_and_edges_of_lightness():
    L = np.repeat(np.array([0, 0.5, 1, 5, 50, 95, 99.5, 100], np.float32)[:, None], 8, axis=1)
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ab = np.broadcast_to(np.stack([np.cos(angles), np.sin(angles)], -1) * 500, (8, 8, 2))
    assert np.abs(lightness_of(compose(L, ab)) - L).max() <= 1.0


def test_gamut_mapping_keeps_hue_and_lowers_chroma_only():
    L = np.full((1, 4), 60, np.float32)
    ab = np.array([[[120, 40], [-90, 100], [10, -150], [20, 10]]], np.float32)
    s = gamut_scale(L, ab)
    assert s[0, 3] == 1  # in gamut: untouched
    assert np.all(s[0, :3] < 1) and np.all(s > 0)
    out = image_to_lab(compose(L, ab))[..., 1:]
    hue_in = np.arctan2(ab[..., 1], ab[..., 0])
    hue_out = np.arctan2(out[..., 1], out[..., 0])
    assert np.abs(np.angle(np.exp(1j * (hue_in - hue_out)))).max() < 0.1


def test_lab_conversion_matches_skimage():
    rgb = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    np.testing.assert_allclose(rgb_to_lab(rgb), skimage.color.rgb2lab(rgb), atol=2e-3)
    np.testing.assert_allclose(lab_to_rgb(skimage.color.rgb2lab(rgb)), rgb, atol=1e-4)


@pytest.mark.parametrize(
    "image, expected",
    [
        (np.array([[0, 255], [51, 102]], np.uint8), [[0, 100], [20, 40]]),
        (np.array([[0, 65535]], np.uint16), [[0, 100]]),
        (np.array([[False, True]]), [[0, 100]]),
        (np.array([[0.0, 0.25, 1.0]]), [[0, 25, 100]]),
        (np.array([[-5.0, 5.0]]), [[0, 100]]),
        (np.array([[10, 20, 30]], np.int32), [[0, 50, 100]]),
    ],
)
def test_to_lightness_mapping(image, expected):
    np.testing.assert_allclose(to_lightness(image), expected, atol=1e-4)


def test_constant_image_is_fine():
    L = to_lightness(np.full((5, 5), 3.5))
    assert L.shape == (5, 5) and np.all(np.isfinite(L))


def test_subnormal_range_counts_as_constant():
    # found by hypothesis: a float64 image spanning 1e-308 made 100 / span overflow to inf → NaN L*
    L = to_lightness(np.array([[-1.11253693e-308, 0.0]]))
    assert np.all(np.isfinite(L)) and np.all(L == L[0, 0])


def test_nan_is_a_clear_error_or_filled():
    img = np.ones((4, 4))
    img[1, 1] = np.nan
    with pytest.raises(SemcolorError, match="NaN"):
        to_lightness(img)
    assert to_lightness(img, nan=0)[1, 1] == 0


def test_rgb_given_for_gray_warns_and_uses_lightness():
    rgb = np.zeros((3, 3, 3), np.uint8)
    rgb[..., 1] = 255
    with pytest.warns(UserWarning, match="RGB"):
        L = to_lightness(rgb)
    np.testing.assert_allclose(L, 87.7, atol=0.5)  # L* of pure sRGB green


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 5)), np.zeros(7), np.zeros((0, 4)), np.array([["a"]], object)])
def test_bad_shapes_and_dtypes_are_refused(bad):
    with pytest.raises(SemcolorError):
        to_lightness(bad)


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((1, 0, 0), "#ff0000"),  # Python ints are floats in [0, 1], as in a Hint
        ((0.5, 0.25, 1.0), "#8040ff"),
        ((0.2, 0.4, 0.6, 0.5), "#336699"),  # alpha ignored
        (np.array([10, 200, 30], np.uint8), "#0ac81e"),  # uint8 is 0–255
        ((1.2, -0.1, 0.0), "#ff0000"),  # clipped
    ],
)
def test_to_hex(rgb, expected):
    from napari_semcolor.color import to_hex

    assert to_hex(rgb) == expected


def test_to_hex_and_parse_color_are_inverses():
    from napari_semcolor.color import parse_color, to_hex

    for text in ("#000000", "#ffffff", "#0ac81e", "#cc3399", "#7f8081"):
        assert to_hex(parse_color(text)) == text


def test_compose_keeps_nearly_all_the_chroma_the_gamut_allows():
    # out-of-gamut pixels are brought in from a table of the gamut's largest chroma: checked against
    # bisection on the exact conversion, pixel by pixel
    rng = np.random.default_rng(3)
    L = rng.uniform(0, 100, (200, 200)).astype(np.float32)
    ab = rng.normal(0, 60, (200, 200, 2)).astype(np.float32)
    got = image_to_lab(compose(L, ab))
    assert np.abs(got[..., 0] - L).max() <= 1.0
    best = np.hypot(*np.moveaxis(ab * gamut_scale(L, ab, iterations=20)[..., None], -1, 0))
    lost = best - np.hypot(got[..., 1], got[..., 2])
    assert np.mean(lost > 2) < 0.01  # 8-bit rounding moves chroma by about one unit
    assert np.median(np.abs(lost)) < 0.5
