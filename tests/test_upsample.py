import numpy as np

from napari_semcolor.upsample import downsample, guided_upsample, resize_linear, resize_nearest, working_shape


def test_working_shape_keeps_aspect_and_never_upsamples():
    assert working_shape((2000, 1000), 400) == (400, 200)
    assert working_shape((100, 50), 400) == (100, 50)
    assert working_shape((10000, 1), 256) == (256, 1)


def test_downsample_is_an_area_mean():
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_allclose(downsample(img, (2, 2)), [[2.5, 4.5], [10.5, 12.5]])


def test_resize_linear_rows_match_whole():
    img = np.random.default_rng(0).random((7, 9, 2)).astype(np.float32)
    whole = resize_linear(img, (30, 40))
    np.testing.assert_allclose(resize_linear(img, (30, 40), slice(10, 20)), whole[10:20], atol=1e-6)
    np.testing.assert_allclose(resize_linear(np.full((3, 3), 4.0), (8, 8)), 4.0)


def test_resize_nearest_keeps_label_values():
    lab = np.array([[1, 2], [3, 4]])
    assert set(np.unique(resize_nearest(lab, (5, 7)))) == {1, 2, 3, 4}


def test_guided_upsampling_follows_full_resolution_edges():
    # a vertical L* edge at column 37 of 64: the colour step should land on it, sharper than bilinear
    L = np.where(np.arange(64)[None, :] < 37, 20.0, 80.0).repeat(64, 0).astype(np.float32)
    ab = np.zeros((64, 64, 2), np.float32)
    ab[:, 37:, 0] = 40
    L_small, ab_small = downsample(L, (16, 16)), downsample(ab, (16, 16))
    guided = guided_upsample(ab_small, L_small, L)
    plain = resize_linear(ab_small, (64, 64))
    err_guided = np.abs(guided[..., 0] - ab[..., 0]).mean()
    err_plain = np.abs(plain[..., 0] - ab[..., 0]).mean()
    assert err_guided < 0.5 * err_plain
    np.testing.assert_allclose(guided_upsample(np.full((16, 16, 2), 7.0, np.float32), L_small, L), 7.0, atol=1e-3)
