import numpy as np
import pytest

from napari_semcolor.pipeline import colorize
from napari_semcolor.postprocess import dominant_colors, one_color_per_region, same_gray_same_color


def test_dominant_colour_ignores_a_minority():
    ab = np.concatenate([np.tile([30.0, -10.0], (90, 1)), np.tile([-40.0, 40.0], (10, 1))])
    ab += np.random.default_rng(0).normal(0, 0.5, ab.shape)
    ids, colours = dominant_colors(ab, np.zeros(100, int))
    np.testing.assert_allclose(colours[0], [30, -10], atol=1)


def test_one_color_per_region_makes_regions_flat():
    rng = np.random.default_rng(1)
    labels = np.repeat([[0, 1, 2]], 10, axis=0).repeat(5, axis=1)
    ab = rng.normal(0, 3, labels.shape + (2,)).astype(np.float32) + np.array([[0, 0], [20, 5], [-15, 30]], np.float32)[labels]
    out = one_color_per_region(ab, labels)
    for i in range(3):
        region = out[labels == i]
        assert np.ptp(region, axis=0).max() == 0
        assert np.linalg.norm(region[0] - [[0, 0], [20, 5], [-15, 30]][i]) < 4


def test_same_gray_same_color_makes_equal_lightness_equal_colour():
    rng = np.random.default_rng(2)
    L = rng.integers(0, 5, (40, 40)).astype(np.float32) * 20
    ab = rng.normal(0, 10, (40, 40, 2)).astype(np.float32)
    out = same_gray_same_color(ab, L, 1.0)
    for v in np.unique(L):
        assert np.ptp(out[L == v], axis=0).max() < 1e-4
    half = same_gray_same_color(ab, L, 0.5)
    np.testing.assert_allclose(half, 0.5 * ab + 0.5 * out, atol=1e-4)
    assert same_gray_same_color(ab, L, 0.0) is ab


def test_pipeline_region_options_keep_lightness(scene):
    from napari_semcolor.color import image_to_lab

    result = colorize(scene.image, "propagate", scene.hints, labels=scene.labels, one_color_per_region=True, same_gray=0.5)
    assert np.abs(image_to_lab(result.image)[..., 0] - scene.L).max() <= 1.0
    assert result.metadata["one_color_per_region"] is True and result.metadata["same_gray"] == 0.5


def test_the_british_spellings_still_work_and_warn(scene):
    import napari_semcolor.postprocess as pp

    with pytest.warns(DeprecationWarning, match="one_color_per_region"):
        old = colorize(scene.image, "propagate", scene.hints, labels=scene.labels, one_colour_per_region=True)
    new = colorize(scene.image, "propagate", scene.hints, labels=scene.labels, one_color_per_region=True)
    np.testing.assert_array_equal(old.rgb, new.rgb)
    assert not np.array_equal(colorize(scene.image, "propagate", scene.hints, labels=scene.labels).rgb, new.rgb)  # the flag did something
    assert old.metadata["one_color_per_region"] is True and "one_colour_per_region" not in old.metadata
    for name, new_name in (
        ("one_colour_per_region", "one_color_per_region"),
        ("same_gray_same_colour", "same_gray_same_color"),
        ("dominant_colours", "dominant_colors"),
    ):
        with pytest.warns(DeprecationWarning, match=new_name):
            assert getattr(pp, name) is getattr(pp, new_name)


def test_keep_gray_mask_stays_neutral(scene):
    from napari_semcolor.color import image_to_lab

    mask = np.zeros(scene.image.shape, bool)
    mask[-20:] = True
    result = colorize(scene.image, "propagate", scene.hints, keep_gray=mask)
    ab = image_to_lab(result.image)[..., 1:]
    assert np.abs(ab[mask]).max() < 1.5
    assert np.hypot(*np.moveaxis(ab[~mask], -1, 0)).max() > 15
