"""Stacks coloured through their planes (issue 16): generator, 3D propagation, colorize_stack."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import ndimage

from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.errors import Cancelled, SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import colorize_stack
from napari_semcolor.pipeline.material import material_colour
from napari_semcolor.pipeline.params import run_params
from napari_semcolor.pipeline.volume import _iteration_bound
from napari_semcolor.propagation3d import plane_shifts, volume_graph
from napari_semcolor.synthetic import make_sem, paint, region_colors
from napari_semcolor.synthetic_volume import flicker, interior, make_sem_volume, reachable, region_hints, regions_right, static_voxels


@pytest.fixture(scope="module")
def volume():
    return make_sem_volume((10, 128, 128), seed=1, drift=(0.3, 0.2))


def test_generated_volume_has_objects_that_persist_appear_and_end(volume):
    assert volume.image.shape == volume.labels.shape == (10, 128, 128) and volume.image.dtype == np.uint8
    present = [set(np.unique(p)) - {0} for p in volume.labels]
    assert len(set.intersection(*present)) >= 3  # objects through the whole stack
    assert set.union(*present) != set.intersection(*present)  # and some that start or end inside it
    again = make_sem_volume((10, 128, 128), seed=1, drift=(0.3, 0.2))
    np.testing.assert_array_equal(again.image, volume.image)
    assert static_voxels(volume.labels).any()


def test_phase_correlation_finds_the_drift():
    plane = to_lightness(make_sem_volume((1, 128, 128), seed=3).image[0])
    L = np.stack([ndimage.shift(plane, (1.5 * k, -2.0 * k), mode="nearest") for k in range(3)])
    np.testing.assert_allclose(plane_shifts(L), [[1.5, -2.0]] * 2, atol=0.2)
    np.testing.assert_allclose(plane_shifts(L, subpixel=False), [[1.5, -2.0]] * 2, atol=0.5)  # whole pixels


def test_alignment_takes_no_drift_where_the_planes_do_not_show_one():
    rng = np.random.default_rng(0)
    noise = 50 + rng.normal(0, 1, (4, 128, 128))  # no structure: phase correlation answers tens of pixels
    lines = 50 + 30 * np.sin(2 * np.pi * np.arange(128) / 16)[None, None, :] + rng.normal(0, 1, (4, 128, 128))  # uniform in y
    for planes in (noise, lines):
        np.testing.assert_array_equal(plane_shifts(planes), np.zeros((3, 2)))


def test_volume_graph_links_planes_and_cuts_label_borders():
    L = np.full((3, 6, 6), 50, np.float32)
    labels = np.zeros((3, 6, 6), np.int32)
    labels[1] = 1  # plane 1 is another region: no edge to planes 0 and 2
    W = volume_graph(L, labels)
    n = 36
    assert W[0:n][:, n : 2 * n].nnz == 0 and W[n : 2 * n][:, 2 * n :].nnz == 0
    W = volume_graph(L, None, spacing=(4.0, 1.0, 1.0))
    assert np.isclose(W[0, n], 0.25) and np.isclose(W[0, 1], 1.0)  # a z-edge 4× longer weighs a quarter
    assert (W - W.T).nnz == 0


def test_hints_on_one_plane_in_ten_colour_every_plane(volume):
    hints = region_hints(volume.labels, 5)
    result = colorize_stack(volume.image, "propagate", list(hints.values()))
    rgb = result.image
    assert rgb.shape == (*volume.image.shape, 3) and result.metadata["through"] == "stack"
    assert min(regions_right(rgb, volume.labels, hints)) >= 0.8
    for k in range(len(rgb)):  # the structure is the input's on every plane
        assert np.abs(image_to_lab(rgb[k])[..., 0] - to_lightness(volume.image[k])).max() <= 1.0
    planes = colorize_stack(volume.image, "propagate", list(hints.values()), through="planes").image
    assert np.abs(image_to_lab(planes[0])[..., 1:]).max() < 1.5  # plane by plane, unhinted planes stay gray


def test_labels_2d_and_3d_hold_colours_through_the_stack(volume):
    labels = np.zeros(volume.image.shape[1:], np.int32)
    labels[:, 64:] = 1
    red, blue = (0.9, 0.1, 0.1), (0.1, 0.2, 0.9)
    hints = [Hint(60, 20, red, 3, plane=(0,)), Hint(60, 100, blue, 3, plane=(9,))]
    rgb = colorize_stack(volume.image, "propagate", hints, labels).image
    lab = np.stack([image_to_lab(p) for p in rgb])
    for k in range(len(lab)):  # red (b* > 0) on the left of every plane, blue (b* < 0) on the right
        left, right = lab[k, :, :64, 2], lab[k, :, 64:, 2]
        assert np.median(left) > 5 and np.median(right) < -5
        assert (left < -3).mean() < 0.01 and (right > 3).mean() < 0.01  # no colour crosses the border
    hints3 = region_hints(volume.labels, 0)
    rgb3 = colorize_stack(volume.image, "propagate", list(hints3.values()), volume.labels).image
    assert min(regions_right(rgb3, volume.labels, hints3)) >= 0.9


def test_bad_stack_input_says_what_to_do(volume):
    hint = Hint(10, 10, (0.9, 0.1, 0.1), 3, plane=(12,))
    with pytest.raises(SemcolorError, match="outside|planes"):
        colorize_stack(volume.image, "propagate", [hint])
    with pytest.raises(SemcolorError, match="one coordinate per axis"):
        colorize_stack(volume.image.reshape(2, 5, 128, 128), "propagate", [Hint(10, 10, (0.9, 0.1, 0.1), 3, plane=(1,))])
    with pytest.raises(SemcolorError, match="labels must be 2D"):
        colorize_stack(volume.image, "propagate", [], np.zeros((5, 128, 128), np.int32))
    with pytest.raises(SemcolorError, match="3 positive numbers, one voxel size per axis"):
        colorize_stack(volume.image, "propagate", [], spacing=(1, 1, 0))
    with pytest.raises(SemcolorError, match="through"):
        colorize_stack(volume.image, "propagate", [], through="sideways")
    with pytest.raises(SemcolorError, match="out must have shape"):
        colorize_stack(volume.image, "propagate", [], out=np.zeros((10, 128, 128), np.uint8))


def test_cancel_between_planes(volume):
    cancel = threading.Event()

    def progress(fraction, message):
        if "plane 3" in message:
            cancel.set()

    with pytest.raises(Cancelled):
        colorize_stack(volume.image, "propagate", list(region_hints(volume.labels, 0).values()), progress=progress, cancel=cancel)


def test_lazy_input_and_memmapped_output_plane_by_plane(volume, tmp_path):
    hints = list(region_hints(volume.labels, 0).values())
    source = np.memmap(tmp_path / "in.raw", np.uint8, "w+", shape=volume.image.shape)
    source[:] = volume.image
    out = np.memmap(tmp_path / "out.raw", np.uint8, "w+", shape=(*volume.image.shape, 3))
    seen = []
    result = colorize_stack(source, "propagate", hints, spacing=(2.0, 1.0, 1.0), out=out, progress=lambda f, m: seen.append(f))
    assert result.rgb.shape == (1, *out.shape) and np.shares_memory(result.rgb, out)
    expected = colorize_stack(volume.image, "propagate", hints, spacing=(2.0, 1.0, 1.0)).image
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_zarr_output_tiff_path_and_dask_input(volume, tmp_path):
    import tifffile
    import zarr

    small = volume.image[:3, :64, :64]
    hints = [Hint(30, 30, (0.9, 0.1, 0.1), 3, plane=(1,))]
    expected = colorize_stack(small, "propagate", hints).image
    z = zarr.create_array(store=str(tmp_path / "out.zarr"), shape=(*small.shape, 3), dtype=np.uint8, chunks=(1, 32, 64, 3))
    colorize_stack(small, "propagate", hints, out=z)
    np.testing.assert_array_equal(z[:], expected)
    written = colorize_stack(small, "propagate", hints, out=tmp_path / "out.tif").rgb  # page by page, then mapped
    assert written.shape == (1, *small.shape, 3)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), expected)
    import dask.array as da

    lazy = da.from_array(small, chunks=(1, 64, 64))
    np.testing.assert_array_equal(colorize_stack(lazy, "propagate", hints).image, expected)


@pytest.fixture(scope="module")
def small_volume():
    return make_sem_volume((8, 96, 96), seed=4, drift=(0.2, 0.1))


def test_per_plane_backend_is_made_consistent_through_the_stack(small_volume):
    hints = region_hints(small_volume.labels, 0)
    stack = colorize_stack(small_volume.image, "eecnn", list(hints.values()), device="cpu").image
    planes = colorize_stack(small_volume.image, "eecnn", list(hints.values()), device="cpu", through="planes").image
    assert flicker(stack, small_volume.labels) <= 2 < flicker(planes, small_volume.labels)
    assert np.nanmean(regions_right(stack, small_volume.labels, hints)) > np.nanmean(regions_right(planes, small_volume.labels, hints))
    for k in range(len(stack)):
        assert np.abs(image_to_lab(stack[k])[..., 0] - to_lightness(small_volume.image[k])).max() <= 1.0


def test_one_diffusion_proposal_colours_the_whole_stack(small_volume):
    fast = {"steps": 2}
    hints = region_hints(small_volume.labels, 3)
    result = colorize_stack(small_volume.image, "diffusion", list(hints.values()), options=fast, device="cpu", seed=1)
    assert flicker(result.image, small_volume.labels) <= 2
    chroma = [np.hypot(*np.moveaxis(image_to_lab(p)[..., 1:], -1, 0)).mean() for p in result.image]
    assert min(chroma) > 5  # every plane coloured, not only the hinted one
    again = colorize_stack(small_volume.image, "diffusion", list(hints.values()), options=fast, device="cpu", seed=1)
    np.testing.assert_array_equal(again.image, result.image)


def test_one_lightness_map_for_the_whole_stack():
    v = make_sem_volume((4, 64, 64), seed=2)
    data = v.image.astype(np.float32) * 3.0
    data[2, 0, 0] = 3.0 * 255 * 4  # one hot pixel on plane 2: a plane's own stretch would darken that plane
    hint = Hint(30, 30, (0.9, 0.1, 0.1), 3, plane=(0,))
    rgb = colorize_stack(data, "propagate", [hint]).image
    expected = np.clip(data / data.max() * 100, 0, 100)  # the stack's range, not each plane's
    for k in range(len(rgb)):
        assert np.abs(image_to_lab(rgb[k])[..., 0] - expected[k]).max() <= 1.0
    percent = colorize_stack(v.image, "propagate", [hint], percentiles=(1, 99)).image
    lo, hi = np.percentile(v.image, (1, 99))
    stretched = np.clip((v.image - lo) * 100 / (hi - lo), 0, 100)
    assert np.abs(np.stack([image_to_lab(p)[..., 0] for p in percent]) - stretched).max() <= 1.0


def test_interior_score_leaves_the_rims_out():
    labels = np.zeros((1, 40, 40), np.int32)
    labels[0, 10:30, 10:30] = 1
    hint = Hint(18, 18, (0.9, 0.1, 0.1), 3, plane=(0,))
    ab = np.zeros((1, 40, 40, 2), np.float32)
    ab[0][labels[0] == 1] = hint.ab
    ab[0, 10:30, 10:30][interior(labels[0] == 1, 5)[10:30, 10:30] == 0] = (-30, -30)  # a 5-px wrong rim: most of the region
    rgb = compose(np.full((1, 40, 40), 60, np.float32)[0], ab[0])[None]
    assert regions_right(rgb, labels, {1: hint}) == [0.0]  # the raw score judges the rim
    assert regions_right(rgb, labels, {1: hint}, erode=6) == [1.0]
    assert np.isnan(regions_right(rgb, labels, {1: hint}, erode=12)[0])  # no interior left: not scored


def test_reachable_follows_an_object_through_the_stack_not_its_label():
    labels = np.zeros((5, 12, 12), np.int32)
    labels[:2, 2:8, 2:8] = 1  # the hinted particle on planes 0-1 …
    labels[3:, 2:8, 2:8] = 1  # … and a part of the same label cut off from it by plane 2
    labels[:, 9:, 9:] = 2
    hint = Hint(3, 3, (0.9, 0.1, 0.1), 3, plane=(0,))
    within = reachable(labels, [hint])
    assert within[:2][labels[:2] == 1].all() and not within[3:].any() and not within[labels == 2].any()
    rgb = np.stack([compose(np.full((12, 12), 60, np.float32), np.where((labels[k] == 1)[..., None], hint.ab, 0)) for k in range(5)])
    rgb[3:] = compose(np.full((12, 12), 60, np.float32), np.zeros((12, 12, 2), np.float32))  # the cut-off part left gray
    assert regions_right(rgb, labels, {1: hint})[3] == 0.0
    assert np.isnan(regions_right(rgb, labels, {1: hint}, within=within)[3])  # not asked of a colouring
    assert regions_right(rgb, labels, {1: hint}, within=within)[:2] == [1.0, 1.0]


def test_per_plane_backend_hint_reads_the_material_not_the_pixel():
    L = np.full((1, 48, 48), 50, np.float32)
    L[0, :, 24:] = 80  # another material on the right
    ab = np.zeros((1, 48, 48, 2), np.float32)
    ab[0, :, :24] = (10, 20)
    ab[0, :, 24:] = (-40, -40)
    mask = np.zeros((1, 48, 48), bool)
    mask[0, 20:23, 20:23] = True
    ab[0][mask[0]] = (30, -5)  # the backend's colour under the hint deviates from its material's
    local = material_colour(ab[0], L[0], mask[0], None)
    np.testing.assert_allclose(local[mask[0]], [[10, 20]] * 9)  # the material's median, not the right side's
    np.testing.assert_array_equal(local[~mask[0]], ab[0][~mask[0]])


def test_a_fit_stopped_on_time_is_bounded_by_iterations_in_a_volume():
    params, spec = run_params("nst")
    assert _iteration_bound(params, spec, None).options["seconds"] >= 3600
    assert _iteration_bound(params, spec, {"seconds": 1.0}).options["seconds"] == params.options["seconds"]
    params, spec = run_params("propagate")
    assert _iteration_bound(params, spec, None) == params


def test_a_region_hinted_on_plane_0_holds_its_colour_ten_planes_on(volume):
    hints = region_hints(volume.labels, 0)
    rgb = colorize_stack(volume.image, "propagate", list(hints.values())).image
    right = regions_right(rgb[9:], volume.labels[9:], hints, erode=2)
    assert right[0] >= 0.9


def test_reference_backend_meets_its_hints_near_the_hinted_plane_and_repeats(small_volume):
    sem = make_sem((128, 128), "particles", seed=7)  # a colour SEM image as the reference
    reference = compose(to_lightness(sem.image), paint(sem.labels, region_colors(sem.labels, seed=3)))
    hints = region_hints(small_volume.labels, 3)
    stack = colorize_stack(small_volume.image, "nst", list(hints.values()), references={0: reference}).image
    assert min(regions_right(stack[2:5], small_volume.labels[2:5], hints, erode=2)) >= 0.9
    again = colorize_stack(small_volume.image, "nst", list(hints.values()), references={0: reference}).image
    np.testing.assert_array_equal(again, stack)


def test_backends_see_each_plane_at_their_own_working_resolution(small_volume, monkeypatch):
    import napari_semcolor.pipeline.volume as volume_module

    seen = []
    propose = volume_module.propose
    monkeypatch.setattr(volume_module, "VOXEL_BUDGET", 8 * 48 * 48)  # the volume is worked at 48² a plane
    monkeypatch.setattr(volume_module, "propose", lambda model, inputs, *a: seen.append(inputs.work) or propose(model, inputs, *a))
    sem = make_sem((128, 128), "particles", seed=7)
    reference = compose(to_lightness(sem.image), paint(sem.labels, region_colors(sem.labels, seed=3)))
    hints = region_hints(small_volume.labels, 3)
    rgb = colorize_stack(small_volume.image, "nst", list(hints.values()), references={0: reference}).image
    assert seen == [(96, 96)] * 8  # nst's own working size holds the 96² planes
    assert rgb.shape == (*small_volume.image.shape, 3)
    assert regions_right(rgb[3:4], small_volume.labels[3:4], hints, erode=2)[0] >= 0.9


def test_key_planes_meet_their_hints_region_by_region(small_volume, monkeypatch):
    import napari_semcolor.pipeline.volume as volume_module

    propose = volume_module.propose

    def off(model, inputs, *a):  # a backend whose colours ignore the hints: every region (0, 40)
        ab, job = propose(volume_module.get_backend("propagate"), inputs, *a)
        return np.broadcast_to(np.float32([0, 40]), ab.shape).copy(), job

    monkeypatch.setattr(volume_module, "propose", off)
    hints = region_hints(small_volume.labels, 3)
    rgb = colorize_stack(small_volume.image, "eecnn", list(hints.values()), device="cpu").image  # eecnn: key planes
    # the hinted plane's regions take their hints' colour as a whole, not only under the hint
    assert regions_right(rgb[3:4], small_volume.labels[3:4], hints, erode=2)[0] >= 0.9


@pytest.mark.parametrize("backend", ["eecnn", "diffusion"])
def test_labels_with_negative_ids_colour_a_stack_as_they_colour_a_plane(backend):
    # 2D colorize accepts any integer labels; the stack's hint step read the hinted region's id
    # with np.bincount, which refuses negative ids (and allocates one counter per id up to the largest)
    rng = np.random.default_rng(0)
    stack = np.full((3, 32, 32), 0.35, np.float32)
    stack[..., 16:] = 0.65
    stack += 0.02 * rng.random(stack.shape).astype(np.float32)
    labels = np.full((32, 32), -1, np.int32)
    labels[:, 16:] = 3
    rgb = colorize_stack(stack, backend, [Hint(4, 4, (0.9, 0.1, 0.1), 4, plane=(1,))], labels=labels).image
    a = image_to_lab(rgb[1, :, :16])[..., 1]
    assert np.median(a) > 10  # the hinted region is red


def test_material_colour_reads_the_hinted_region_among_labels_with_any_ids():
    L = np.full((1, 32, 32), 50, np.float32)
    ab = np.zeros((1, 32, 32, 2), np.float32)
    ab[0, :, :16] = (10, 20)
    ab[0, :, 16:] = (-40, -40)
    labels = np.full((1, 32, 32), -7, np.int64)
    labels[0, :, 16:] = 2**40  # another region of the same gray, with a huge id
    mask = np.zeros((1, 32, 32), bool)
    mask[0, 10:13, 12:15] = True
    np.testing.assert_allclose(material_colour(ab[0], L[0], mask[0], labels[0])[mask[0]], [[10, 20]] * 9)
