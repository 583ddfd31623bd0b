import threading

import numpy as np
import pytest

from napari_semcolor import Cancelled, SemcolorError
from napari_semcolor.backends import available
from napari_semcolor.color import image_to_lab, to_lightness
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import colorize


def lightness_error(result, image):
    return np.abs(image_to_lab(result.image)[..., 0] - to_lightness(image)).max()


def test_lightness_is_never_changed(scene):
    result = colorize(scene.image, "propagate", scene.hints)
    assert result.rgb.shape == (1, *scene.image.shape, 3) and result.rgb.dtype == np.uint8
    assert lightness_error(result, scene.image) <= 1.0


def test_lightness_kept_when_upsampling_from_working_resolution(scene):
    big = np.kron(scene.image, np.ones((3, 3), np.uint8))
    hints = [Hint(h.y * 3, h.x * 3, h.rgb, h.size * 3) for h in scene.hints]
    result = colorize(big, "propagate", hints, working_size=200)
    assert result.metadata["working_shape"] == [200, 200]
    assert lightness_error(result, big) <= 1.0


def test_one_hint_per_region_with_labels_recovers_every_region(scenes):
    for s in scenes:
        errors = s.region_errors(colorize(s.image, "propagate", s.hints, labels=s.labels).image)
        assert errors.max() < 5, (errors.round(1), s.labels.max())


def test_one_hint_per_region_without_labels_recovers_most_regions(scenes):
    errors = np.concatenate([s.region_errors(colorize(s.image, "propagate", s.hints).image) for s in scenes])
    assert np.mean(errors < 10) >= 0.9, errors.round(1)


def test_hint_pixels_get_their_colour(scene):
    result = colorize(scene.image, "propagate", scene.hints)
    lab = image_to_lab(result.image)
    for h in scene.hints:
        got = lab[h.y : h.y + h.size, h.x : h.x + h.size, 1:].mean((0, 1))
        want = scene.truth_ab[h.y : h.y + h.size, h.x : h.x + h.size].mean((0, 1))
        assert np.linalg.norm(got - want) < 5


def test_gray_hints_keep_their_region_neutral(scene):
    gray_region = scene.labels == 0
    hints = [h if scene.labels[h.y + h.size // 2, h.x + h.size // 2] != 0 else Hint(h.y, h.x, (0.5, 0.5, 0.5), h.size) for h in scene.hints]
    assert any(h.is_gray for h in hints)
    ab = image_to_lab(colorize(scene.image, "propagate", hints, labels=scene.labels).image)[..., 1:]
    chroma = np.hypot(ab[..., 0], ab[..., 1])
    assert np.median(chroma[gray_region]) < 2
    assert np.median(chroma[~gray_region]) > 15


def test_no_hints_means_gray(scene):
    ab = image_to_lab(colorize(scene.image, "propagate").image)[..., 1:]
    assert np.abs(ab).max() < 1.5


def test_labels_are_hard_boundaries(scene):
    # a single hint in region 1: with labels, no other region gets colour
    ys, xs = np.nonzero(scene.labels == 1)
    hint = Hint(int(ys[len(ys) // 2]), int(xs[len(xs) // 2]), (0.9, 0.2, 0.1), 1)
    ab = image_to_lab(colorize(scene.image, "propagate", [hint], labels=scene.labels).image)[..., 1:]
    chroma = np.hypot(ab[..., 0], ab[..., 1])
    assert np.median(chroma[scene.labels == 1]) > 20
    assert np.percentile(chroma[scene.labels != 1], 99) < 2


def test_same_input_same_output(scene):
    a = colorize(scene.image, "propagate", scene.hints, seed=3)
    b = colorize(scene.image, "propagate", scene.hints, seed=3)
    np.testing.assert_array_equal(a.rgb, b.rgb)


def test_input_is_not_modified(scene):
    image, labels = scene.image.copy(), scene.labels.copy()
    colorize(image, "propagate", scene.hints, labels=labels)
    np.testing.assert_array_equal(image, scene.image)
    np.testing.assert_array_equal(labels, scene.labels)


def test_progress_goes_to_one_and_metadata_reproduces(scene):
    seen = []
    result = colorize(scene.image, "propagate", scene.hints, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen) and seen == sorted(seen)
    md = result.metadata
    assert md["backend"] == "propagate" and len(md["hints"]) == len(scene.hints)
    again = colorize(scene.image, md["backend"], [Hint.from_dict(h) for h in md["hints"]], seed=md["seed"])
    np.testing.assert_array_equal(again.rgb, result.rgb)


def test_cancel_stops_the_run(scene):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        colorize(scene.image, "propagate", scene.hints, cancel=cancel)


def test_several_samples_have_a_leading_axis(scene):
    result = colorize(scene.image, "propagate", scene.hints, n_samples=3)
    assert result.rgb.shape == (3, *scene.image.shape, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hints": [Hint(500, 5, (1, 0, 0))]}, "outside the image"),
        ({"labels": np.zeros((5, 5), int)}, "shape"),
        ({"labels": np.full((192, 192), 0.5)}, "whole numbers"),
        ({"backend": "nope"}, "propagate"),
        ({"n_samples": 0}, "n_samples"),
    ],
)
def test_bad_input_gets_a_clear_message(scene, kwargs, match):
    args = {"image": scene.image, "backend": "propagate", **kwargs}
    with pytest.raises(SemcolorError, match=match):
        colorize(**args)


@pytest.mark.parametrize(
    "image", [np.zeros((1, 1), np.uint8), np.full((3, 50), 7, np.uint16), np.ones((40, 2), bool), np.random.default_rng(0).random((33, 17))]
)
def test_tiny_and_odd_images(image):
    hints = [Hint(0, 0, (0.2, 0.6, 0.9))]
    result = colorize(image, "propagate", hints)
    assert result.image.shape == (*image.shape, 3)
    assert lightness_error(result, image) <= 1.0


def test_registry_lists_propagate():
    assert "propagate" in available()


def test_a_run_that_cannot_fit_in_memory_stops_before_allocating():
    from napari_semcolor.pipeline import check_memory

    check_memory((1000, 1000), 1, False, available=10**9)
    with pytest.raises(SemcolorError, match="GB of memory"):
        check_memory((20000, 20000), 1, True, available=4 * 2**30)
    # a lazily broadcast 20k × 20k input costs nothing until colorize would allocate
    huge = np.broadcast_to(np.uint8(128), (200_000, 200_000))
    with pytest.raises(SemcolorError, match="GB of memory"):
        colorize(huge, "propagate")


def test_stack_is_coloured_plane_by_plane_with_plane_hints(scene):
    from napari_semcolor.pipeline import colorize_stack

    stack = np.stack([scene.image, scene.image[::-1], scene.image[:, ::-1]])
    red, blue = (0.9, 0.1, 0.1), (0.1, 0.2, 0.9)
    hints = [Hint(20, 20, red, 5, plane=(0,)), Hint(20, 20, blue, 5, plane=(1,)), Hint(100, 100, (0.5, 0.5, 0.5), 3)]
    seen = []
    result = colorize_stack(stack, "propagate", hints, progress=lambda f, m: seen.append(f), through="planes")
    assert result.rgb.shape == (1, 3, *scene.image.shape, 3)
    from napari_semcolor.color import rgb_to_lab

    lab = rgb_to_lab(result.image / 255)
    assert np.abs(lab[..., 0] - np.stack([to_lightness(p) for p in stack])).max() <= 1.0
    a0, b0 = lab[0, 22, 22, 1:], lab[1, 22, 22, 1:]
    assert a0[0] > 10 and a0[1] > 10 and b0[1] < -10  # red (b* > 0) on plane 0, blue (b* < 0) on plane 1
    assert np.abs(lab[2, ..., 1:]).max() < 1.5  # plane 2 had only the gray hint
    assert seen[-1] == 1.0 and seen == sorted(seen) and result.metadata["planes"] == 3


def test_free_memory_comes_from_psutil_on_every_system(monkeypatch, scene):
    import types

    import psutil

    from napari_semcolor.pipeline import available_memory

    monkeypatch.setattr(psutil, "virtual_memory", lambda: types.SimpleNamespace(available=123_456_789))
    assert available_memory() == 123_456_789
    monkeypatch.setattr(psutil, "virtual_memory", lambda: types.SimpleNamespace(available=2**20))  # 1 MB free
    with pytest.raises(SemcolorError, match="GB of memory"):
        colorize(scene.image, "propagate", scene.hints)  # refused before any work

    def broken():
        raise psutil.Error("no memory information here")

    monkeypatch.setattr(psutil, "virtual_memory", broken)
    assert available_memory() is None
    assert colorize(scene.image, "propagate", scene.hints).image.shape == (*scene.image.shape, 3)  # unknown: not refused


def test_parameters_are_checked_before_any_work(scene):
    class Untouchable:
        shape, dtype = (100, 100), np.dtype(np.uint8)

        def __getitem__(self, key):
            raise AssertionError("the image was read before the parameters were checked")

    for kwargs, match in (({"same_gray": 2}, "same_gray"), ({"options": {"stepz": 3}}, "no option"), ({"n_samples": 1.5}, "n_samples")):
        with pytest.raises(SemcolorError, match=match):
            colorize(Untouchable(), "propagate", **kwargs)


@pytest.mark.parametrize("size", [0, 8, -5, 2.5, True])
def test_a_working_size_too_small_or_not_whole_is_refused(size):
    from napari_semcolor.errors import SemcolorError

    with pytest.raises(SemcolorError, match="working_size"):
        colorize(np.zeros((40, 40), np.uint8), "propagate", working_size=size)


def test_the_api_keeps_the_data_bar_gray_by_default_like_the_dock_and_cli():
    from napari_semcolor import colorize
    from napari_semcolor.color import image_to_lab
    from napari_semcolor.hints import Hint
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((120, 140), "particles", seed=3, databar=True)
    bar = (sem.labels == -1).any(axis=1)
    hints = [Hint(int(np.argmax(bar)) + 4, 10, (0.1, 0.4, 0.9), 5), Hint(20, 20, (0.9, 0.3, 0.1), 5)]  # one on the bar
    chroma = [np.abs(image_to_lab(colorize(sem.image, hints=hints, **kw).image)[bar][..., 1:]).max() for kw in ({}, {"databar_gray": False})]
    assert chroma[0] < 1.0 < chroma[1]  # gray by default; coloured when asked
    lazy = colorize(sem.image, hints=hints, keep_gray=np.zeros(sem.image.shape, bool))  # keep_gray given: used as is
    assert np.abs(image_to_lab(lazy.image)[bar][..., 1:]).max() > 1.0
