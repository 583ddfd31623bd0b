"""The diffusion backend: shapes, seeding, the L* invariant, hints, cancel, weights (no ../shared)."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from napari_semcolor import colorize
from napari_semcolor.backends.base import Job
from napari_semcolor.backends.diffusion import DiffusionBackend, shrink_hints
from napari_semcolor.color import image_to_lab, to_lightness
from napari_semcolor.errors import Cancelled, SemcolorError
from napari_semcolor.hints import Hint, rasterize
from napari_semcolor.weights import REGISTRY, model_path

FAST = {"steps": 3}


@pytest.fixture(scope="module")
def backend() -> DiffusionBackend:
    return DiffusionBackend()


def _job(scene, hints=(), **kw) -> Job:
    from napari_semcolor.upsample import downsample, working_shape

    work = working_shape(scene.L.shape, 128)
    ab, mask = rasterize(list(hints), scene.L.shape, work)
    return Job(L=downsample(scene.L, work), hint_ab=ab, hint_mask=mask, options=DiffusionBackend.spec.validate_options(FAST), **kw)


def test_proposals_have_the_working_shape(scene, backend):
    out = backend.colorize(_job(scene, scene.hints, n_samples=3))
    assert out.shape == (3, 128, 128, 2) and out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_odd_sizes_and_several_samples_through_the_pipeline(scene):
    image = scene.image[:101, :77]
    result = colorize(image, "diffusion", n_samples=2, options=FAST, device="cpu")
    assert result.rgb.shape == (2, 101, 77, 3)


def test_same_seed_same_proposals_other_seed_other_proposals(scene, backend):
    a = backend.colorize(_job(scene, n_samples=2, seed=5))
    b = backend.colorize(_job(scene, n_samples=2, seed=5))
    c = backend.colorize(_job(scene, n_samples=2, seed=6))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3
    assert np.abs(a[0] - a[1]).mean() > 1e-3  # the proposals of one batch differ too


def test_automatic_proposals_are_more_varied_than_hinted_ones_by_default(scene, backend):
    def spread(job):
        ab = backend.colorize(job)
        return np.abs(ab[:, None] - ab[None]).mean()

    free = _job(scene, n_samples=3, seed=1)
    default_free = spread(free)
    free.options["temperature"] = 0.6
    assert default_free > 1.3 * spread(free)  # the no-hint default is the model's own spread (T = 1)


def test_the_gui_lists_every_sampler():
    from napari_semcolor.backends.diffusion import SAMPLER_NAMES
    from napari_semcolor.backends.diffusion.sampling import SAMPLERS

    assert SAMPLER_NAMES == tuple(SAMPLERS)


def test_lightness_is_never_changed(scene):
    result = colorize(scene.image, "diffusion", scene.hints, n_samples=2, options=FAST, device="cpu")
    L = to_lightness(scene.image)
    for rgb in result.rgb:
        assert np.abs(image_to_lab(rgb)[..., 0] - L).max() <= 1.0


def test_hint_pixels_get_their_colour(scene):
    result = colorize(scene.image, "diffusion", scene.hints, n_samples=2, options=FAST, device="cpu")
    for rgb in result.rgb:
        lab = image_to_lab(rgb)
        for h in scene.hints:
            got = lab[h.y : h.y + h.size, h.x : h.x + h.size, 1:].mean((0, 1))
            want = scene.truth_ab[h.y : h.y + h.size, h.x : h.x + h.size].mean((0, 1))
            assert np.linalg.norm(got - want) < 5


def test_gray_hints_stay_neutral(scene):
    hints = [h if scene.labels[h.y + h.size // 2, h.x + h.size // 2] != 0 else Hint(h.y, h.x, (0.5, 0.5, 0.5), h.size) for h in scene.hints]
    gray = [h for h in hints if h.is_gray]
    assert gray
    result = colorize(scene.image, "diffusion", hints, n_samples=2, options=FAST, device="cpu")
    for rgb in result.rgb:
        ab = image_to_lab(rgb)[..., 1:]
        for h in gray:
            patch = ab[h.y : h.y + h.size, h.x : h.x + h.size]
            assert np.hypot(patch[..., 0], patch[..., 1]).max() < 5


def test_gray_hint_is_not_no_hint():
    ab = np.zeros((8, 8, 2), np.float32)
    mask = np.zeros((8, 8), np.float32)
    mask[2:4, 2:4] = 1  # a gray hint: mask set, colour 0
    small_ab, small_mask = shrink_hints(ab, mask, (4, 4))
    assert small_mask.sum() == 1 and np.all(small_ab == 0)


def test_cancel_between_steps_is_prompt(scene, backend):
    cancel = threading.Event()
    steps = []

    def progress(fraction, message):
        if message.startswith("diffusion step"):
            steps.append(message)
            cancel.set()  # ask to stop right after the first step

    job = _job(scene, n_samples=2, progress=progress, cancel=cancel)
    job.options = DiffusionBackend.spec.validate_options({"steps": 8})
    with pytest.raises(Cancelled):
        backend.colorize(job)
    assert len(steps) == 1


def test_cancel_through_the_pipeline(scene):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        colorize(scene.image, "diffusion", scene.hints, cancel=cancel, options=FAST, device="cpu")


def test_guidance_and_ddim_run(scene, backend):
    job = _job(scene, scene.hints, n_samples=2)
    job.options = DiffusionBackend.spec.validate_options({"steps": 2, "guidance": 2.0, "sampler": "ddim"})
    assert backend.colorize(job).shape == (2, 128, 128, 2)
    job.options = {**job.options, "sampler": "euler"}  # past the spec's check: the sampler itself refuses it
    with pytest.raises(SemcolorError, match="sampler"):
        backend.colorize(job)


def test_missing_weights_give_a_clear_error(scene, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOLOR_MODELS_DIR", str(tmp_path))
    with pytest.raises(SemcolorError, match="missing"):
        DiffusionBackend().colorize(_job(scene))


def test_corrupt_weights_give_a_clear_error(scene, tmp_path, monkeypatch):
    good = model_path("diffusion")
    bad = tmp_path / REGISTRY["diffusion"].filename
    shutil.copy(good, bad)
    with open(bad, "r+b") as f:
        f.seek(200)
        f.write(b"\x00garbage\x00")
    monkeypatch.setenv("SEMCOLOR_MODELS_DIR", str(tmp_path))
    with pytest.raises(SemcolorError, match="corrupt"):
        DiffusionBackend().colorize(_job(scene))


@pytest.mark.parametrize("name", ["ddim", "dpmpp_2m"])
def test_samplers_reach_the_clean_sample_of_a_perfect_denoiser(name):
    import torch

    from napari_semcolor.backends.diffusion.sampling import SAMPLERS, add_noise, grid, logsnr_of

    x0 = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    seen = []
    out = SAMPLERS[name](lambda x, i: x0, torch.randn(2, 2, 8, 8), grid(5), lambda i, n, d: seen.append(i))
    torch.testing.assert_close(out, x0)
    assert seen == list(range(5))
    # v-parameterisation round trip
    ls = logsnr_of(torch.tensor([0.3, 0.7]))
    x_t, v = add_noise(x0, ls, torch.randn_like(x0))
    from napari_semcolor.backends.diffusion.sampling import v_to_x0

    torch.testing.assert_close(v_to_x0(x_t, v, ls[:, None, None, None]), x0, atol=1e-5, rtol=1e-5)


def test_cli_writes_one_file_per_proposal(scene, tmp_path):
    from skimage import io

    from napari_semcolor.cli import main

    src = tmp_path / "in.png"
    io.imsave(src, scene.image, check_contrast=False)
    assert main(["colorize", str(src), "-o", str(tmp_path / "out.png"), "--backend", "diffusion", "--samples", "2", "--seed", "3"]) in (0, None)
    assert (tmp_path / "out_0.png").is_file() and (tmp_path / "out_1.png").is_file()


def test_widened_network_computes_what_the_narrow_one_did():
    import torch

    from napari_semcolor.nets.unet import UNet, widen_input

    torch.manual_seed(0)
    narrow = UNet(widths=(8, 16), blocks=1, emb_dim=16)
    for p in narrow.parameters():  # zero-initialised heads would make any two networks agree
        p.data.normal_(0, 0.2)
    wide = UNet(widths=(8, 16), blocks=1, emb_dim=16, in_channels=10)
    wide.load_state_dict(widen_input(narrow.state_dict(), 10))
    x, ls, cond = torch.randn(2, 2, 16, 16), torch.tensor([0.0, 2.0]), torch.randn(2, 6, 16, 16)
    extra = torch.randn(2, 2, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(wide(x, ls, torch.cat([cond, extra], 1)), narrow(x, ls, cond))


def _three_hint_run(explore: float | None):
    """4 proposals of a generated 128² micrograph with 3 hints in one corner; a*b*, L* in and out, distance to the hints."""
    from scipy import ndimage

    from napari_semcolor.synthetic import make_sem

    image = make_sem((128, 128), seed=4).image
    hints = [Hint(10, 10, (0.8, 0.25, 0.2), 3), Hint(10, 40, (0.2, 0.6, 0.25), 3), Hint(40, 12, (0.25, 0.35, 0.85), 3)]
    options = {**FAST} if explore is None else {**FAST, "explore": explore}
    rgb = colorize(image, "diffusion", hints, n_samples=4, seed=2, options=options, device="cpu").rgb
    mask = np.zeros(image.shape, bool)
    for h in hints:
        mask[h.y : h.y + h.size, h.x : h.x + h.size] = True
    lab = np.stack([image_to_lab(x) for x in rgb])
    return lab[..., 1:], lab[..., 0], to_lightness(image), ndimage.distance_transform_edt(~mask)


def _pairwise(ab: np.ndarray, where: np.ndarray) -> float:
    n = len(ab)
    return float(np.mean([np.linalg.norm(ab[i][where] - ab[j][where], axis=-1).mean() for i in range(n) for j in range(i + 1, n)]))


def test_proposals_differ_far_from_the_hints_and_agree_next_to_them():
    ab, L_out, L_in, dist = _three_hint_run(None)
    assert _pairwise(ab, dist > 30) >= 5
    assert _pairwise(ab, dist <= 5) <= 3
    assert np.abs(L_out - L_in).max() <= 1.0  # colour only: L* unchanged in every proposal
    before, *_ = _three_hint_run(0.0)  # the old behaviour: one starting point for all proposals
    assert _pairwise(before, dist > 30) < _pairwise(ab, dist > 30) / 2


def test_freedom_is_zero_at_the_hints_and_one_far_away():
    from napari_semcolor.backends.diffusion.explore import freedom, varied_starts

    mask = np.zeros((100, 100), np.float32)
    mask[4:6, 4:6] = 1
    free = freedom(mask)
    assert free[4, 4] == 0 and free[6, 6] == 0 and free[90, 90] == 1
    assert np.all(np.diff(free[5, 5:]) >= 0)  # rises with the distance
    assert np.all(freedom(np.zeros_like(mask)) == 1)  # no hints: free everywhere
    L = np.full((100, 100), 50, np.float32)
    hint_ab = np.zeros((100, 100, 2), np.float32)
    hint_ab[4:6, 4:6] = (40, 10)
    mask[80:82, 80:82] = 1
    hint_ab[80:82, 80:82] = (-30, 30)
    base = np.zeros((100, 100, 2), np.float32)
    starts, apps = varied_starts(L, hint_ab, mask, base, None, 3, strength=1.0)
    assert apps is None and starts.shape == (3, 100, 100, 2)
    np.testing.assert_array_equal(starts[0], base)  # proposal 0 keeps the best single guess
    assert np.abs(starts[1:, 4:6, 4:6]).max() == 0  # next to the hints: the common start
    assert np.abs(starts[1:, 40:60, 40:60]).mean() > 5  # far from them: another colouring
    same, _ = varied_starts(L, hint_ab, mask, base, None, 3, strength=0.0)
    assert np.all(same == base)


def test_temperature_rises_away_from_the_hints_only_when_exploring():
    from napari_semcolor.backends.diffusion import TEMPERATURE, TEMPERATURE_NO_HINTS, noise_temperature
    from napari_semcolor.backends.diffusion.explore import FAR_TEMPERATURE

    mask = np.zeros((64, 64), np.float32)
    mask[2:4, 2:4] = 1
    t = noise_temperature(mask, None, 1.0, pad=(0, 5))
    assert t.shape == (64, 69)
    assert FAR_TEMPERATURE > TEMPERATURE
    assert t[2, 2] == pytest.approx(TEMPERATURE) and t[60, 60] == pytest.approx(FAR_TEMPERATURE)
    assert noise_temperature(mask, None, 0.0) == TEMPERATURE  # explore 0: one temperature, as before
    assert noise_temperature(mask, 0.2, 0.5)[60, 60] == pytest.approx(0.2 + 0.5 * (FAR_TEMPERATURE - 0.2))
    assert noise_temperature(np.zeros_like(mask), None, 1.0) == TEMPERATURE_NO_HINTS


def test_gray_hints_are_not_dealt_and_hold_their_region():
    from napari_semcolor.backends.diffusion.explore import dealt_hints, free_map

    L = np.full((90, 90), 40, np.float32)  # a flat substrate with three bright objects A, B, C
    for y, x in ((10, 10), (10, 60), (60, 60)):
        L[y : y + 20, x : x + 20] = 80
    hint_ab = np.zeros((90, 90, 2), np.float32)
    mask = np.zeros((90, 90), np.float32)
    # gray on the substrate, colours on A and B; C gets no hint
    for (y, x), ab in zip([(50, 5), (18, 18), (18, 68)], [(0, 0), (40, 10), (-30, 30)], strict=True):
        mask[y : y + 2, x : x + 2], hint_ab[y : y + 2, x : x + 2] = 1, ab
    for seed in range(5):  # gray stays gray; the two colours swap
        dealt = dealt_hints(hint_ab, mask, np.random.default_rng(seed))
        assert np.all(dealt[50:52, 5:7] == 0)
        np.testing.assert_allclose(dealt[18, 18], (-30, 30))
    free = free_map(L, hint_ab, mask)
    assert free[85, 85] < 0.2 and free[5, 85] < 0.2  # the substrate holds a gray hint: neutral far from it too
    assert free[70, 70] > 0.9  # the unhinted object, behind its edge, is free to differ


def test_a_substrate_marked_gray_stays_gray_in_every_proposal():
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((128, 128), seed=4)
    background = ndimage_erode(sem.labels <= 0, 3)
    ys, xs = np.nonzero(background)
    gray = Hint(int(ys[len(ys) // 2]), int(xs[len(xs) // 2]), (0.5, 0.5, 0.5), 3)
    objects = [k for k in np.unique(sem.labels) if k > 0]
    coloured = []
    for k, rgb in zip(objects[:2], [(0.8, 0.25, 0.2), (0.2, 0.6, 0.25)], strict=True):
        oy, ox = np.argwhere(ndimage_erode(sem.labels == k, 2))[0]
        coloured.append(Hint(int(oy), int(ox), rgb, 2))
    rgb = colorize(sem.image, "diffusion", [gray, *coloured], n_samples=4, seed=2, options=FAST, device="cpu").rgb
    ab = np.stack([image_to_lab(x) for x in rgb])[..., 1:]
    assert np.abs(ab[:, background]).mean() < 3  # neutral everywhere on the substrate, in every proposal
    unhinted = ndimage_erode(np.isin(sem.labels, objects[2:]), 2)
    assert _pairwise(ab, unhinted) >= 5  # the objects nobody hinted still differ between proposals


def ndimage_erode(mask: np.ndarray, iterations: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_erosion(mask, iterations=iterations)
