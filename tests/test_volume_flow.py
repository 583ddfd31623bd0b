"""Stacks beyond one volume (issue 16): colour flowing along t, and volumes deeper than the voxel budget."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

import napari_semcolor.pipeline.volume as volume_module
import napari_semcolor.propagation3d as propagation3d
from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.errors import Cancelled
from napari_semcolor.pipeline import colorize_stack
from napari_semcolor.pipeline.deep import SolvedVolume, solved_planes
from napari_semcolor.pipeline.timeflow import Flow, flow_order
from napari_semcolor.synthetic_volume import make_sem_volume, region_hints, regions_right


def _time_series(T: int, shape: tuple[int, int, int], step: int, seed: int = 1):
    """(T, z, h, w) gray stack and labels: one generated volume moved ``step`` pixels to the left per time point."""
    z, h, w = shape
    v = make_sem_volume((z, h, w + step * T), seed=seed)
    return tuple(np.stack([a[..., step * t : step * t + w] for t in range(T)]) for a in (v.image, v.labels))


def _on(hints: dict, plane: tuple[int, ...]) -> dict:
    return {i: dataclasses.replace(h, plane=plane) for i, h in hints.items()}


def _chroma(rgb: np.ndarray) -> float:
    return float(np.mean([np.hypot(*np.moveaxis(image_to_lab(p)[..., 1:], -1, 0)).mean() for p in rgb]))


@pytest.fixture(scope="module")
def series():
    return _time_series(4, (8, 96, 96), step=1)


def test_hints_on_the_first_time_point_colour_every_time_point(series, monkeypatch):
    image, labels = series
    hints = _on(region_hints(labels[0], 4), (0, 4))
    held = []
    done = Flow.done
    monkeypatch.setattr(Flow, "done", lambda self, *a: done(self, *a) or held.append(len(self.held)))
    rgb = colorize_stack(image, "propagate", list(hints.values())).image
    first = np.nanmean(regions_right(rgb[0], labels[0], hints, erode=2))
    for t in range(len(rgb)):
        assert np.nanmean(regions_right(rgb[t], labels[t], hints, erode=2)) >= min(first, 0.9) - 0.05
        assert _chroma(rgb[t]) > 0.9 * _chroma(rgb[0])
        for k in range(rgb.shape[1]):  # the structure is the input's
            assert np.abs(image_to_lab(rgb[t, k])[..., 0] - to_lightness(image[t, k])).max() <= 1.0
    assert held == [1, 1, 1, 0]  # only the last coloured volume is kept for the next one, never the series


def test_a_time_point_with_its_own_hints_meets_them(series):
    image, labels = series
    hints = region_hints(labels[0], 4)
    i = max(hints, key=lambda i: np.sum(labels[3, 4] == i))  # a region, recoloured on t = 3
    other = dataclasses.replace(hints[i], rgb=(0.1, 0.3, 0.9), x=hints[i].x - 3, plane=(3, 4))
    rgb = colorize_stack(image, "propagate", [*_on(hints, (0, 4)).values(), other]).image
    assert regions_right(rgb[3, 4:5], labels[3, 4:5], {i: other}, erode=2) == [1.0]
    assert regions_right(rgb[0, 4:5], labels[0, 4:5], {i: hints[i]}, erode=2) == [1.0]
    rest = {j: h for j, h in hints.items() if j != i}  # one hint corrects one region: the others keep t = 0's colours
    assert np.nanmin(regions_right(rgb[3, 3:6], labels[3, 3:6], rest, erode=2)) >= 0.9


def test_aligned_time_points_follow_a_drifting_scene():
    image, labels = _time_series(4, (6, 96, 96), step=4, seed=2)
    hints = _on(region_hints(labels[0], 3), (0, 3))
    aligned = colorize_stack(image, "propagate", list(hints.values()), align=True).image
    plain = colorize_stack(image, "propagate", list(hints.values())).image
    right = [np.nanmean(regions_right(aligned[t], labels[t], hints, erode=2)) for t in range(4)]
    assert min(right) >= right[0] - 0.05
    assert right[3] > np.nanmean(regions_right(plain[3], labels[3], hints, erode=2))


def test_per_plane_backend_follows_the_hinted_time_point(series):
    image, labels = series
    hints = _on(region_hints(labels[0], 4), (0, 2))
    rgb = colorize_stack(image[:3, 2:7], "eecnn", list(hints.values()), device="cpu").image
    for t in range(3):
        assert np.nanmean(regions_right(rgb[t, 2:3], labels[t, 4:5], hints, erode=2)) >= 0.8


def test_per_plane_colourings_follow_the_hinted_time_point(series, monkeypatch):
    image, labels = series
    propose = volume_module.propose

    def off(model, inputs, *a):  # a per-plane backend whose colours ignore the hints: every plane (0, 40)
        ab, job = propose(volume_module.get_backend("propagate"), inputs, *a)
        return np.broadcast_to(np.float32([0, 40]), ab.shape).copy(), job

    monkeypatch.setattr(volume_module, "propose", off)
    hints = _on(region_hints(labels[0], 4), (0, 2))
    reference = np.full((32, 32, 3), 128, np.uint8)
    rgb = colorize_stack(image[:3, 2:7], "nst", list(hints.values()), references={0: reference}).image
    for t in range(3):  # the time points without hints take t = 0's colours, not the backend's own
        assert np.nanmean(regions_right(rgb[t, 2:3], labels[t, 4:5], hints, erode=2)) >= 0.8


def test_progress_and_cancel_through_time_points(series):
    image, labels = series
    hints = list(_on(region_hints(labels[0], 4), (0, 1)).values())
    seen = []
    colorize_stack(image[:3, 3:6], "propagate", hints, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and any(0.6 < f < 0.7 for f in seen)  # the third volume
    cancel = threading.Event()

    def progress(fraction, message):
        if fraction > 0.5:
            cancel.set()

    with pytest.raises(Cancelled):
        colorize_stack(image[:3, 3:6], "propagate", hints, progress=progress, cancel=cancel)


def test_flow_order_starts_at_the_most_hinted_volume_and_keeps_only_the_front():
    assert flow_order((), {}) == [((), [])]
    order = flow_order((2, 5), {(0, 2): 9, (1, 4): 9})
    assert [i for i, _ in order[:5]] == [(0, 2), (0, 1), (0, 3), (0, 0), (0, 4)]
    assert dict(order)[(0, 1)] == [(0, 2)] and dict(order)[(0, 0)] == [(0, 1)]
    assert [i for i, _ in order[5:]] == [(1, 4), (1, 3), (1, 2), (1, 1), (1, 0)]  # another series: its own hint
    corrected = dict(flow_order((5,), {(0,): 90, (4,): 9}))  # t = 4 corrects what flowed in from t = 0
    assert corrected[(0,)] == [] and corrected[(4,)] == [(3,)] and corrected[(2,)] == [(1,)]
    assert [i for i, _ in flow_order((3,), {})] == [(0,), (1,), (2,)]  # none hinted: from the first
    flow = Flow((6,), {(2,): 1})
    solved = SolvedVolume([0], np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2)))
    held = []
    for index, sources in flow:
        flow.done(index, sources, solved)
        held.append(sorted(flow.held))
    assert held == [[(2,)], [(1,), (2,)], [(1,), (3,)], [(3,)], [(4,)], []]


def test_solved_planes_keep_ends_and_hinted_planes_within_the_budget():
    assert solved_planes(10, 100, [3], 1000) == list(range(10))
    chosen = solved_planes(1000, 100, [7, 500, 501], 3000)
    assert len(chosen) <= 30 and {0, 7, 500, 501, 999} <= set(chosen)
    assert len(solved_planes(1000, 100, list(range(1000)), 3000)) <= 30  # too many hinted planes: a spread of them


def test_planes_between_solved_ones_are_interpolated_along_the_drift():
    bar = np.zeros((2, 20, 20), np.float32)
    bar[0, :, 4] = bar[1, :, 12] = 1  # a bar moving 8 px between the two solved planes
    ab = np.stack([bar, bar], axis=-1)
    solved = SolvedVolume([0, 4], ab, bar * 50, shifts=np.array([[0.0, 8.0]]))
    mid, L = solved.at(2)
    assert np.argmax(mid[10, :, 0]) == 8 and mid[10, 8, 0] == pytest.approx(1.0)  # halfway, not two half bars
    plain = SolvedVolume([0, 4], ab, bar * 50).at(1)[0]
    np.testing.assert_allclose(plain[10, [4, 12], 1], [0.75, 0.25])  # linear in z without a drift
    np.testing.assert_array_equal(solved.at(4)[0], ab[1])


def test_a_stack_deeper_than_the_budget_is_solved_on_a_subset_of_its_planes(monkeypatch):
    v = make_sem_volume((60, 48, 48), seed=5, drift=(0.1, 0.05))
    # planes are worked at 48² at least and the budget holds 10 of them: 60 planes do not fit
    monkeypatch.setattr(volume_module, "MIN_WORKING_SIZE", 48)
    monkeypatch.setattr(volume_module, "VOXEL_BUDGET", 48 * 48 * 10)
    sizes, chosen = [], []
    graph, choose = propagation3d.volume_graph, volume_module.solved_planes
    monkeypatch.setattr(propagation3d, "volume_graph", lambda L, *a, **k: sizes.append(L.size) or graph(L, *a, **k))
    monkeypatch.setattr(volume_module, "solved_planes", lambda *a: chosen.append(choose(*a)) or chosen[-1])
    hints = {**region_hints(v.labels, 7), **region_hints(v.labels, 31)}
    rgb = colorize_stack(v.image, "propagate", [*region_hints(v.labels, 7).values(), *region_hints(v.labels, 31).values()]).image
    assert 0 < max(sizes) <= 48 * 48 * 10 and {7, 31} <= set(chosen[0]) and len(chosen[0]) <= 10
    assert min(_chroma(rgb[k : k + 1]) for k in range(len(rgb))) > 5  # every plane coloured
    assert np.nanmean(regions_right(rgb, v.labels, hints, erode=2)) >= 0.7
    for h in hints.values():  # hints met
        k, box = h.plane[0], (slice(h.y, h.y + h.size), slice(h.x, h.x + h.size))
        got = image_to_lab(rgb[k][box])[..., 1:]
        want = image_to_lab(compose(to_lightness(v.image[k][box]), np.broadcast_to(np.float32(h.ab), (*got.shape[:2], 2))))[..., 1:]
        assert np.median(np.hypot(*np.moveaxis(got - want, -1, 0))) < 3


def test_a_tiff_output_gets_its_pages_in_order_when_later_time_points_finish_first(tmp_path):
    import tifffile

    image, labels = _time_series(3, (3, 48, 48), step=1)
    hints = list(_on(region_hints(labels[2], 1), (2, 1)).values())  # t = 2 is coloured first
    expected = colorize_stack(image, "propagate", hints).image
    result = colorize_stack(image, "propagate", hints, out=tmp_path / "out.tif")
    np.testing.assert_array_equal(result.image, expected)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif").reshape(expected.shape), expected)
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]  # the planes kept aside are gone


def test_axes_outside_t_hold_independent_series(series):
    image, labels = series
    stack = np.stack([image[:3, :4], image[:3, 4:]])  # (2, 3, 4, 96, 96): two series of three time points
    first = _on(region_hints(labels[0], 1), (0, 0, 1))
    second = _on(region_hints(labels[2], 5, seed=1), (1, 2, 1))  # other colours, on the last time point
    rgb = colorize_stack(stack, "propagate", [*first.values(), *second.values()]).image
    for t in range(3):
        assert np.nanmean(regions_right(rgb[0, t, 1:2], labels[t, 1:2], first, erode=2)) >= 0.8
        assert np.nanmean(regions_right(rgb[1, t, 1:2], labels[t, 5:6], second, erode=2)) >= 0.8
