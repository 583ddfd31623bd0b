"""A hint corrects its material as a whole: the backend's colour read over the material around
the hint, not at the hint's own pixels (2D refinement and stacks alike)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_semcolor.pipeline.material import hint_materials, material_colour
from napari_semcolor.pipeline.refine import correct_to_hints

HINT = np.array([-20.0, 30.0], np.float32)


def _textured():
    """Two materials (L* 50 left, 80 right); the left one coloured (10, 20) with a texture (4 ΔE
    noise), and the backend's colour under the hint (20, 12), 13 ΔE off its material's."""
    rng = np.random.default_rng(0)
    L = np.full((48, 48), 50, np.float32)
    L[:, 24:] = 80
    L += rng.normal(0, 0.5, L.shape).astype(np.float32)
    ab = np.zeros((48, 48, 2), np.float32)
    ab[:, :24] = (10, 20)
    ab[:, 24:] = (-40, -40)
    ab[:, :24] += rng.normal(0, 4, (48, 24, 2)).astype(np.float32)
    mask = np.zeros((48, 48), bool)
    mask[21:24, 12:15] = True
    ab[mask] = (20, 12)  # the hint sits on a texture deviation
    hint_ab = np.where(mask[..., None], HINT, 0).astype(np.float32)
    return L, ab, hint_ab, mask


def test_the_material_is_the_connected_similar_gray_around_the_hint():
    L, ab, _, mask = _textured()
    [(window, spot, material)] = list(hint_materials(L, mask))
    assert spot.sum() == 9 and material[spot].all()
    x0, x1 = window[1].start, window[1].stop
    assert (x0, x1) == (12 - 8, 15 + 8)  # HINT_NEIGHBOURHOOD pixels around the spot
    assert material.all()  # the window stays on the left material (x < 24)
    labels = np.zeros((48, 48), np.int32)
    labels[:, 18:] = 1  # a region border inside the window: the material stops there
    [(_, _, bounded)] = list(hint_materials(L, mask, labels))
    assert bounded[:, : 18 - x0].all() and not bounded[:, 18 - x0 :].any()


def test_material_colour_is_the_median_of_the_material_at_hint_pixels():
    L, ab, _, mask = _textured()
    local = material_colour(ab, L, mask)
    np.testing.assert_allclose(local[mask], [[10, 20]] * 9, atol=1.5)  # the material's colour, not (20, 12)
    np.testing.assert_array_equal(local[~mask], ab[~mask])


@pytest.mark.parametrize(("read", "right"), [("material", True), ("pixel", False)])
def test_one_hint_moves_a_textured_region_to_its_colour_with_material_reading(read, right):
    L, ab, hint_ab, mask = _textured()
    out = correct_to_hints(ab, L, hint_ab, mask, None, read=read)
    left = np.median(out[:, :24].reshape(-1, 2), axis=0)
    off = float(np.hypot(*(left - HINT)))
    assert (off < 3.0) if right else (off > 10.0)  # pixel: the region shifted by the texture deviation too
    np.testing.assert_allclose(out[mask], np.broadcast_to(HINT, (9, 2)), atol=0.5)  # the hint pixels show the hint


def test_a_met_material_is_left_alone():
    L, ab, _, mask = _textured()
    hint_ab = np.where(mask[..., None], material_colour(ab, L, mask), 0).astype(np.float32)
    out = correct_to_hints(ab, L, hint_ab, mask, None, read="material")
    np.testing.assert_array_equal(out[~mask], ab[~mask])
    np.testing.assert_allclose(out[mask], hint_ab[mask])
