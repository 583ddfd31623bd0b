"""Regions in colouring: no colour crosses a label border; the region colour table."""

import numpy as np
import pytest
from scipy import ndimage

from napari_semcolor import SemcolorError
from napari_semcolor.color import image_to_lab, rgb_to_ab, to_lightness
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import colorize
from napari_semcolor.regions import fill_regions, parse_region_colors, region_coefficients
from napari_semcolor.synthetic import make_sem


@pytest.fixture(scope="module")
def big():
    return make_sem((640, 640), "particles", seed=3, n_objects=10)


def centre_hint(labels, k, rgb=(0.9, 0.2, 0.1)):
    d = ndimage.distance_transform_edt(labels == k)
    y, x = np.unravel_index(np.argmax(d), d.shape)
    return Hint(max(int(y) - 1, 0), max(int(x) - 1, 0), rgb, 3)


def chroma(rgb):
    ab = image_to_lab(rgb)[..., 1:]
    return np.hypot(ab[..., 0], ab[..., 1])


@pytest.mark.parametrize("working_size", [96, 200, 400])
def test_backend_colour_does_not_cross_region_borders_after_upsampling(big, working_size):
    for k in (1, 2, 3):
        result = colorize(big.image, "propagate", [centre_hint(big.labels, k)], labels=big.labels, working_size=working_size)
        c = chroma(result.image)
        band = ndimage.binary_dilation(big.labels == k, iterations=3)
        assert np.median(c[big.labels == k]) > 20
        assert c[~band].max() < 2, (k, working_size, int((c[~band] >= 2).sum()))


def test_region_fill_keeps_lightness_and_takes_the_colour(big):
    table = {1: "#d04010", 2: "gray", 0: (40, 90, 200)}
    result = colorize(big.image, "propagate", labels=big.labels, working_size=160, region_colors=table)
    lab = image_to_lab(result.image)
    assert np.abs(lab[..., 0] - to_lightness(big.image)).max() <= 1.0
    for k, colour in ((1, (0xD0, 0x40, 0x10)), (0, (40, 90, 200))):
        inner = ndimage.binary_erosion(big.labels == k, iterations=3)
        want = rgb_to_ab(np.array(colour, np.uint8))
        got = lab[..., 1:][inner]
        # same hue; chroma may only be lower (where the colour is out of gamut at that L*)
        hue_error = np.angle(np.exp(1j * (np.arctan2(got[:, 1], got[:, 0]) - np.arctan2(want[1], want[0]))))
        assert np.percentile(np.abs(hue_error), 95) < 0.15
        got_chroma = np.hypot(got[:, 0], got[:, 1])
        assert np.median(got_chroma) > 25 and got_chroma.max() <= np.hypot(*want) + 1.5
    assert np.percentile(chroma(result.image)[ndimage.binary_erosion(big.labels == 2, iterations=3)], 99) < 1.5
    assert result.metadata["region_colors"] == {"0": "#285ac8", "1": "#d04010", "2": "gray"}


def test_region_colour_stays_inside_its_region(big):
    hints = [centre_hint(big.labels, k, rgb) for k, rgb in ((3, (0.2, 0.4, 0.9)), (4, (0.2, 0.8, 0.3)), (0, (0.9, 0.8, 0.2)))]
    plain = colorize(big.image, "propagate", hints, labels=big.labels, working_size=160)
    filled = colorize(big.image, "propagate", hints, labels=big.labels, working_size=160, region_colors={1: "#cc2299", 2: "gray"})
    ab_plain, ab_filled = (image_to_lab(r.image)[..., 1:] for r in (plain, filled))
    band = ndimage.binary_dilation(np.isin(big.labels, [1, 2]), iterations=3)
    diff = np.linalg.norm(ab_plain - ab_filled, axis=-1)[~band]
    assert np.abs(ab_plain[~band].mean(0) - ab_filled[~band].mean(0)).max() < 0.05
    assert diff.max() < 1.5  # 8-bit rounding only


def test_fill_border_is_soft_and_narrow():
    L = np.full((40, 40), 50, np.float32)
    labels = np.zeros((40, 40), np.int32)
    labels[:, 20:] = 1
    ab = fill_regions(np.zeros((40, 40, 2), np.float32), L, labels, {1: np.array([30.0, 0.0], np.float32)})
    row = ab[10, :, 0]
    assert row[25:].min() == pytest.approx(30, abs=1e-3) and row[:17].max() == 0
    assert 0 < row[18] < row[19] < row[20] < 30  # a ramp across the border, no step, no overshoot


def test_fill_border_is_sharp_where_the_image_has_an_edge():
    L = np.full((40, 40), 30, np.float32)
    L[:, 20:] = 80
    labels = np.zeros((40, 40), np.int32)
    labels[:, 20:] = 1
    ab = fill_regions(np.zeros((40, 40, 2), np.float32), L, labels, {1: np.array([30.0, 0.0], np.float32)})
    assert ab[10, :20, 0].max() < 0.5 and ab[10, 20:, 0].min() > 29


def test_region_coefficients_ignore_other_regions():
    rng = np.random.default_rng(0)
    guide = rng.random((30, 30)).astype(np.float32)
    labels = np.zeros((30, 30), np.int32)
    labels[10:20, 10:20] = 5
    src = np.zeros((30, 30, 2), np.float32)
    A, B = region_coefficients(guide, src, labels)
    src2 = src.copy()
    src2[labels == 0] = 40  # changing the outside must not change the inside
    A2, B2 = region_coefficients(guide, src2, labels)
    np.testing.assert_allclose(A2[labels == 5], A[labels == 5], atol=1e-6)
    np.testing.assert_allclose(B2[labels == 5], B[labels == 5], atol=1e-6)


def test_region_table_errors_say_what_to_do(big):
    with pytest.raises(SemcolorError, match="label image"):
        colorize(big.image, region_colors={1: "gray"})
    with pytest.raises(SemcolorError, match="not in the label image"):
        parse_region_colors({999: "#ff0000"}, big.labels)
    with pytest.raises(SemcolorError, match="region 1"):
        parse_region_colors({1: "purple-ish"}, big.labels)
    assert parse_region_colors({1: None}, big.labels) == {}
    assert np.allclose(parse_region_colors({"2": "Grey"}, big.labels)[2], 0)
