"""colors_at: one pixel's colour in every proposal, and how much the proposals disagree there."""

import numpy as np
import pytest

from napari_semcolor.color import compose, image_to_lab
from napari_semcolor.errors import SemcolorError
from napari_semcolor.proposals import colors_at


def _proposals(abs_, shape=(20, 30), L=55.0):
    """Proposals of one flat L* with a*b* ``abs_[i]`` in proposal i (colour only, same structure)."""
    L = np.full(shape, L, np.float32)
    return np.stack([compose(L, np.broadcast_to(np.asarray(ab, np.float32), shape + (2,))) for ab in abs_])


def test_reads_one_pixel_of_every_proposal_in_order():
    props = _proposals([(40, 20), (-30, 10), (0, -40)])
    props[1, 7, 12] = (10, 200, 30)  # a marked pixel in proposal 1 only
    got = colors_at(props, 7.2, 11.6)  # data coordinates round to the pixel centre (7, 12)
    assert (got.y, got.x) == (7, 12)
    np.testing.assert_array_equal(got.rgb, props[:, 7, 12])
    assert got.hex[1] == "#0ac81e"
    assert got.hex == ["#" + "".join(f"{c:02x}" for c in px) for px in props[:, 7, 12]]


def test_spread_is_zero_when_proposals_agree_and_grows_with_their_difference():
    same = colors_at(_proposals([(20, 20)] * 4), 3, 3)
    assert same.spread == 0.0
    near = colors_at(_proposals([(20, 20), (24, 20)]), 3, 3).spread
    far = colors_at(_proposals([(40, 20), (-30, 10)]), 3, 3).spread
    assert 1 < near < 4  # ±2 around the mean, within rounding
    assert far > 30 > near
    # the spread is the largest ΔE_ab from the mean a*b* of the actual pixels
    props = _proposals([(40, 20), (-30, 10), (0, -40)])
    ab = image_to_lab(props[:, 3, 3][None])[0, :, 1:]
    expected = np.max(np.linalg.norm(ab - ab.mean(0), axis=1))
    assert colors_at(props, 3, 3).spread == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("y, x", [(-0.6, 3), (3, -0.6), (19.5, 3), (3, 29.5), (np.nan, 3)])
def test_outside_the_image_is_none(y, x):
    assert colors_at(_proposals([(0, 0), (10, 10)]), y, x) is None


def test_float_rgb_and_a_single_proposal():
    props = np.zeros((1, 4, 4, 3), np.float32)
    props[0, 1, 2] = (1.0, 0.5, 0.0)
    got = colors_at(props, 1, 2)
    assert got.hex == ["#ff8000"] and got.spread == 0.0


def test_reads_only_the_pixels_it_needs():
    class Lazy:  # a stand-in for a huge (dask/zarr) array: only a one-pixel read is allowed
        shape = (3, 100_000, 100_000, 3)

        def __getitem__(self, key):
            n, row, col, channels = key
            assert isinstance(row, int) and isinstance(col, int)
            return np.full((3, 3), 128, np.uint8)

    assert colors_at(Lazy(), 5, 6).hex == ["#808080"] * 3


def test_not_proposals_is_a_clear_error():
    with pytest.raises(SemcolorError, match="proposals"):
        colors_at(np.zeros((4, 4, 3), np.uint8), 1, 1)


def test_the_old_names_still_work_and_warn():
    import napari_semcolor.proposals as proposals

    with pytest.warns(DeprecationWarning, match="use colors_at"):
        old = proposals.colours_at
    assert old is colors_at
    with pytest.warns(DeprecationWarning, match="use PixelColors"):
        assert proposals.PixelColours is proposals.PixelColors
    with pytest.raises(AttributeError):
        proposals.nothing_here  # noqa: B018
