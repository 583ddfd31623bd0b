"""Segmentation: thresholds, HED edges → watershed, cleanup, validation."""

import threading

import numpy as np
import pytest
from scipy import ndimage

from napari_semcolor import Cancelled, SemcolorError
from napari_semcolor.segment import PARAMETERS, cleanup, edge_map, segment, sobel_edges, watershed_regions
from napari_semcolor.synthetic import make_sem


def best_match_iou(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """For each true region (label ≥ 0), the best IoU of any predicted region."""
    out = []
    for t in np.unique(truth[truth >= 0]):
        m = truth == t
        best = 0.0
        for p in np.unique(pred[m]):
            pm = pred == p
            best = max(best, (m & pm).sum() / (m | pm).sum())
        out.append(best)
    return np.array(out)


def separated_particles(shape=(256, 256), count=3, gap=4, kind="particles"):
    """SEM images whose objects do not touch (what a threshold + connected components can separate)."""
    found, seed = [], 0
    while len(found) < count:
        sem = make_sem(shape, kind, seed=seed, n_objects=6)
        seed += 1
        grown = ndimage.grey_dilation(sem.labels, size=2 * gap + 1)
        if np.all((grown == sem.labels) | (sem.labels == 0)) and np.all(
            (ndimage.grey_erosion(np.where(sem.labels > 0, sem.labels, 10**6), size=2 * gap + 1) >= sem.labels) | (sem.labels == 0)
        ):
            found.append(sem)
    return found


def three_phases(seed=0, shape=(256, 256)):
    """Dark pores and bright particles in a mid-gray matrix; truth = phase 1 (dark) … 3 (bright)."""
    rng = np.random.default_rng(seed)
    pores = make_sem(shape, "pores", seed=seed, n_objects=6).labels > 0
    grains = (make_sem(shape, "particles", seed=seed + 100, n_objects=6).labels > 0) & ~pores
    truth = np.full(shape, 2, np.int32)
    truth[pores], truth[grains] = 1, 3
    shading = ndimage.gaussian_filter(rng.normal(size=shape), 30)
    image = np.choose(truth - 1, [45.0, 120.0, 200.0]) + 8 * shading / shading.std()
    image = ndimage.gaussian_filter(image, 1.0) + rng.normal(0, 8, shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth


@pytest.mark.parametrize("kind", ["particles", "pores"])
def test_otsu_recovers_separated_objects(kind):
    for sem in separated_particles(kind=kind, count=2):
        labels = segment(sem.image, "otsu")
        assert labels.dtype == np.int32 and labels.shape == sem.image.shape
        assert best_match_iou(sem.labels, labels).mean() >= 0.8
        assert abs(int(labels.max()) - int(sem.labels.max())) <= 1  # about one label per object, 0 = substrate


def test_multiotsu_recovers_three_phases():
    for seed in range(3):
        image, truth = three_phases(seed)
        labels = segment(image, "multiotsu", classes=3)
        assert set(np.unique(labels)) == {1, 2, 3}
        iou = best_match_iou(truth, labels)
        assert iou.mean() >= 0.8, iou.round(2)
        assert np.mean(labels[truth == 3] == 3) > 0.9  # dark → bright order


def test_local_threshold_copes_with_uneven_illumination():
    for sem in separated_particles(count=2):
        ramp = np.linspace(-60, 60, sem.image.shape[1])[None, :] + np.linspace(-30, 30, sem.image.shape[0])[:, None]
        image = np.clip(sem.image + ramp, 0, 255).astype(np.uint8)
        local = best_match_iou(sem.labels, segment(image, "local", block_size=101, offset=-3)).mean()
        otsu = best_match_iou(sem.labels, segment(image, "otsu")).mean()
        assert local >= 0.75 and local > otsu + 0.1, (local, otsu)


def test_watershed_on_a_stand_in_edge_map_recovers_objects():
    # the HED path minus HED: Sobel edges of the smoothed image → basins → watershed
    for sem in separated_particles(count=2):
        labels = segment(sem.image, "hed", edges=sobel_edges, min_size=64)
        assert labels.dtype == np.int32 and labels.min() >= 1  # a partition: every pixel has a region
        assert best_match_iou(sem.labels, labels).mean() >= 0.7


def test_edge_sensitivity_controls_the_number_of_regions():
    sem = separated_particles(count=1)[0]
    few = segment(sem.image, "hed", edges=sobel_edges, edge_sensitivity=0.2).max()
    many = segment(sem.image, "hed", edges=sobel_edges, edge_sensitivity=0.9).max()
    assert many > few


def test_edge_map_tiles_large_working_images_and_upsamples_to_full_size():
    sem = make_sem((300, 200), "particles", seed=1)
    gray = sem.image / 255.0
    seen = []

    def edges(g):
        seen.append(g.shape)
        return sobel_edges(g)

    whole = edge_map(gray, edges, working_size=300, tile=512)
    tiled = edge_map(gray, edges, working_size=300, tile=96, overlap=16)
    assert whole.shape == tiled.shape == (300, 200) and whole.dtype == np.float32
    assert max(max(s) for s in seen[1:]) <= 96 + 2 * 16 and len(seen) == 1 + 4 * 3
    inner = (slice(20, -20), slice(20, -20))  # tiles with overlap agree with one pass away from the border
    assert np.abs(whole[inner] - tiled[inner]).mean() < 0.02
    small = edge_map(gray, edges, working_size=100)
    assert small.shape == (300, 200) and seen[-1] == (100, 67)


def test_watershed_merges_regions_below_the_smallest_size():
    edge = np.zeros((60, 60), np.float32)
    edge[:, 30] = 1
    edge[10:14, 5:9] = 0.9  # a tiny closed contour
    edge[10:14, 5:9][1:3, 1:3] = 0
    labels = watershed_regions(edge, 0.5, min_size=20)
    assert labels.max() == 2


def test_cleanup_removes_small_pieces_fills_holes_and_renumbers():
    lab = np.zeros((40, 40), np.int32)
    lab[5:20, 5:20] = 7
    lab[10:12, 10:12] = 0  # a hole
    lab[30:32, 30:32] = 9  # too small
    out = cleanup(lab, 10)
    assert out.max() == 1 and out[11, 11] == 1 and out[31, 31] == 0


@pytest.mark.parametrize("method", ["otsu", "multiotsu", "local"])
def test_tiny_and_constant_images(method):
    for image in (np.zeros((1, 1), np.uint8), np.full((7, 5), 130, np.uint8), np.full((64, 64), 0.3)):
        labels = segment(image, method)
        assert labels.shape == image.shape and labels.dtype == np.int32 and labels.max() == 0
    tiny = np.array([[0, 255], [255, 0]], np.uint8)
    labels = segment(tiny, method, min_size=0, smooth=0, classes=2) if method == "multiotsu" else segment(tiny, method, min_size=0, smooth=0)
    assert labels.shape == (2, 2)


def test_constant_and_tiny_images_with_edges():
    assert segment(np.full((9, 9), 5, np.uint8), "hed", edges=sobel_edges).max() == 0
    labels = segment(np.eye(3, dtype=np.uint8) * 255, "hed", edges=sobel_edges, min_size=1)
    assert labels.shape == (3, 3) and labels.min() >= 1


def test_bad_input_says_what_to_do():
    img = np.zeros((10, 10), np.uint8)
    with pytest.raises(SemcolorError, match="choose one of"):
        segment(img, "kmeans")
    with pytest.raises(SemcolorError, match="it takes"):
        segment(img, "otsu", classes=3)
    with pytest.raises(SemcolorError, match="classes"):
        segment(img, "multiotsu", classes=9)
    with pytest.raises(SemcolorError, match="edge sensitivity"):
        segment(img, "hed", edge_sensitivity=2)
    with pytest.raises(SemcolorError, match="2D"):
        segment(np.zeros((2, 3, 4, 5)), "otsu")
    bad = np.ones((10, 10))
    bad[2, 2] = np.nan
    with pytest.raises(SemcolorError, match="NaN"):
        segment(bad, "otsu")
    assert segment(bad, "otsu", nan=0).shape == (10, 10)
    with pytest.raises(SemcolorError, match="fewer than"):
        segment(np.array([[0, 255] * 8] * 16, np.uint8), "multiotsu", classes=4)


def test_progress_and_cancel():
    sem = make_sem((128, 128), "particles", seed=1)
    seen = []
    segment(sem.image, "hed", edges=sobel_edges, working_size=128, tile=64, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0 and seen[-1] == 1 and seen == sorted(seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        segment(sem.image, "hed", edges=sobel_edges, working_size=128, tile=64, cancel=stop)


def test_every_method_has_documented_parameters():
    from napari_semcolor.segment import HELP

    for params in PARAMETERS.values():
        assert set(params) <= set(HELP)


# -- real HED --------------------------------------------------------------------------------
def test_hed_recovers_separated_objects():
    for sem in separated_particles(count=2):
        labels = segment(sem.image, "hed")
        assert labels.dtype == np.int32 and labels.shape == sem.image.shape
        iou = best_match_iou(sem.labels, labels)
        assert iou.mean() >= 0.8, iou.round(2)


@pytest.mark.parametrize("method", ["otsu", "multiotsu", "local", "hed"])
def test_the_data_bar_is_left_out_of_every_method(method):
    sem = make_sem((160, 192), "particles", seed=4, databar=True)
    bar = int(np.argmax((sem.labels == -1).any(axis=1)))
    extra = {"min_size": 8, **({"edges": sobel_edges} if method == "hed" else {})}  # small enough to keep the bar's marks
    labels = segment(sem.image, method, **extra)
    assert not labels[bar:].any()  # the whole bar is label 0: its text and marks are no regions
    above = segment(sem.image[:bar], method, **extra)  # the method saw only the specimen
    np.testing.assert_array_equal(labels[:bar], above)
    with_bar = segment(sem.image, method, databar=False, **extra)
    assert with_bar[bar:].any()  # without the option the bar's marks become regions (or join the specimen's)
    np.testing.assert_array_equal(segment(sem.image, method, databar=bar, **extra), labels)  # a known row


def test_an_image_without_a_data_bar_is_segmented_whole():
    sem = make_sem((128, 128), "particles", seed=1)
    np.testing.assert_array_equal(segment(sem.image, "otsu"), segment(sem.image, "otsu", databar=False))


@pytest.mark.parametrize("row", [0, -3, 200, 2.5, "yes"])
def test_a_data_bar_row_outside_the_image_says_so(row):
    with pytest.raises(SemcolorError, match="databar"):
        segment(np.zeros((100, 100), np.uint8), "otsu", databar=row)


def test_six_classes_are_found_without_an_endless_search():
    # six phases: with 256 bins the threshold search tries ~10^10 combinations (minutes, not
    # cancellable); it must finish and still separate the phases
    rng = np.random.default_rng(0)
    phases = np.repeat(np.arange(6), 16)[None].repeat(64, 0)
    image = np.clip(phases * 40 + 20 + rng.normal(0, 3, phases.shape), 0, 255).astype(np.uint8)
    labels = segment(image, "multiotsu", classes=6, min_size=0)
    assert len(np.unique(labels)) == 6
    assert all(len(np.unique(labels[phases == k])) == 1 for k in range(6))  # one class per phase
