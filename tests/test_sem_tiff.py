import numpy as np
import pytest
import tifffile

from napari_semcolor.errors import SemcolorError
from napari_semcolor.files.sem_tiff import detect_databar, read_sem_tiff
from napari_semcolor.synthetic import make_sem


@pytest.fixture
def sem_with_bar():
    return make_sem((200, 240), "particles", seed=3, databar=True)


def test_fei_pixel_size_and_databar(tmp_path, sem_with_bar):
    ini = "[User]\nDate=01/02/2026\n[Scan]\nPixelWidth=2.5e-09\nPixelHeight=2.5e-09\nHorFieldsize=6e-07\n"
    tifffile.imwrite(tmp_path / "fei.tif", sem_with_bar.image, extratags=[(34682, "s", 0, ini, True)])
    img = read_sem_tiff(tmp_path / "fei.tif")
    assert img.source == "fei" and img.pixel_size == pytest.approx((2.5e-9, 2.5e-9))
    assert img.scale_and_units() == (pytest.approx((2.5, 2.5)), "nm")
    bar_top = int(np.argmax((sem_with_bar.labels == -1).any(axis=1)))
    assert img.databar_row == bar_top


def test_zeiss_pixel_size(tmp_path, sem_with_bar):
    text = "0\r\nAP_PIXEL_SIZE\r\nPixel Size = 12.5 nm\r\nAP_WD\r\nWD = 8.5 mm\r\n"
    tifffile.imwrite(tmp_path / "zeiss.tif", sem_with_bar.image, extratags=[(34118, "s", 0, text, True)])
    img = read_sem_tiff(tmp_path / "zeiss.tif")
    assert img.source == "zeiss" and img.pixel_size == pytest.approx((12.5e-9, 12.5e-9))


def test_plain_tiff_resolution(tmp_path):
    # 1 pixel = 0.5 µm → 20000 pixels per centimetre
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((30, 30), np.uint8), resolution=(20000, 20000), resolutionunit="CENTIMETER")
    img = read_sem_tiff(tmp_path / "plain.tif")
    assert img.source == "tiff" and img.pixel_size == pytest.approx((0.5e-6, 0.5e-6))
    assert img.scale_and_units() == (pytest.approx((0.5, 0.5)), "µm")


def test_screen_dpi_is_not_a_pixel_size(tmp_path):
    tifffile.imwrite(tmp_path / "dpi.tif", np.zeros((30, 30), np.uint8), resolution=(72, 72), resolutionunit="INCH")
    assert read_sem_tiff(tmp_path / "dpi.tif").pixel_size is None


def test_no_databar_on_a_plain_micrograph():
    assert detect_databar(make_sem((200, 240), "fibres", seed=2).image) is None
    assert detect_databar(np.zeros((50, 50), np.uint8)) is None


def test_not_a_tiff_is_a_clear_error(tmp_path):
    (tmp_path / "x.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(SemcolorError, match="TIFF"):
        read_sem_tiff(tmp_path / "x.tif")


def test_calibration_reads_the_metadata_not_the_pixels(tmp_path, sem_with_bar):
    from napari_semcolor.files.sem_tiff import read_calibration

    h, w = sem_with_bar.image.shape
    ini = f"[Scan]\nPixelWidth=2.5e-09\n[Image]\nResolutionY={h - 30}\n"
    tifffile.imwrite(tmp_path / "fei.tif", sem_with_bar.image, extratags=[(34682, "s", 0, ini, True)])
    cal = read_calibration(tmp_path / "fei.tif")
    assert cal.pixel_size == pytest.approx((2.5e-9, 2.5e-9)) and cal.source == "fei" and cal.databar_row == h - 30
    assert cal.data.shape == (h, w) and cal.data.strides == (0, 0)  # shape only, nothing read
    tifffile.imwrite(tmp_path / "plain.tif", sem_with_bar.image)
    assert read_calibration(tmp_path / "plain.tif").databar_row is None  # not stated: the docks detect it
    (tmp_path / "x.tif").write_bytes(b"not a tiff")
    with pytest.raises(SemcolorError, match="TIFF"):
        read_calibration(tmp_path / "x.tif")


@pytest.mark.parametrize("radius", [90, 100, 110])
def test_a_flat_specimen_background_is_no_data_bar(radius):
    # a textured disc on a flat black background: the bottom rows are flat with a few bright pixels
    # like a bar, but the same black goes on above them, so they are specimen, not a burnt-in bar
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:200, 0:240]
    image = 20 + rng.normal(0, 1, (200, 240))
    disc = (yy - 95) ** 2 + (xx - 120) ** 2 < radius**2
    image[disc] = 140 + rng.normal(0, 25, disc.sum())
    assert detect_databar(np.clip(image, 0, 255).astype(np.uint8)) is None


@pytest.mark.parametrize("kind", ["particles", "fibres", "pores"])
@pytest.mark.parametrize("shape", [(64, 64), (200, 240), (512, 512)])
def test_a_burnt_in_bar_is_found_on_every_specimen(kind, shape):
    sem = make_sem(shape, kind, seed=2, databar=True)
    assert detect_databar(sem.image) == int(np.argmax((sem.labels == -1).any(axis=1)))


def test_fib_image_without_scan_section_takes_hfw_over_columns_and_the_stated_databar(tmp_path, sem_with_bar):
    h, w = sem_with_bar.image.shape
    ini = f"[Beam]\nBeam=IRBeam\n[IRBeam]\nHFW=1.2e-05\n[EBeam]\nHFW=9e-06\n[Image]\nResolutionX={w}\nResolutionY={h - 30}\n"
    tifffile.imwrite(tmp_path / "fib.tif", sem_with_bar.image, extratags=[(34682, "s", 0, ini, True)])
    img = read_sem_tiff(tmp_path / "fib.tif")
    assert img.source == "fei" and img.pixel_size == pytest.approx((1.2e-5 / w, 1.2e-5 / w))  # the ion beam's field
    assert img.databar_row == h - 30  # the metadata's image height, not a guess
    ini = f"[Scan]\nPixelWidth=2e-09\n[PrivateFei]\nDatabarHeight=25\n[Image]\nResolutionX={w}\n"
    tifffile.imwrite(tmp_path / "bar.tif", sem_with_bar.image, extratags=[(34682, "s", 0, ini, True)])
    assert read_sem_tiff(tmp_path / "bar.tif").databar_row == h - 25


@pytest.mark.parametrize("unit", ["µm", "?m", "um"])
def test_zeiss_width_over_columns_and_units_with_a_lost_micro_sign(tmp_path, sem_with_bar, unit):
    w = sem_with_bar.image.shape[1]
    text = f"0\r\nAP_WIDTH\r\nWidth = 12.0 {unit}\r\nAP_WD\r\nWD = 8.5 mm\r\n"
    # Zeiss software writes Latin-1 bytes (µ is 0xB5), which is not ASCII
    tifffile.imwrite(tmp_path / "zeiss.tif", sem_with_bar.image, extratags=[(34118, "B", 0, text.encode("latin-1") + b"\0", True)])
    img = read_sem_tiff(tmp_path / "zeiss.tif")
    assert img.source == "zeiss" and img.pixel_size == pytest.approx((12e-6 / w, 12e-6 / w))


def test_zeiss_width_over_columns_of_a_stack(tmp_path):
    # a stack (z, H, W) is read with its pages' width, not its axis 1 (the rows): the same pixel
    # size as read_calibration gives, and as each plane would have on its own
    from napari_semcolor.files.sem_tiff import read_calibration
    from napari_semcolor.files.stacks import read_stack

    text = "0\r\nAP_WIDTH\r\nWidth = 12.0 um\r\n"
    stack = np.zeros((3, 40, 120), np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack", extratags=[(34118, "B", 0, text.encode("latin-1") + b"\0", True)])
    assert read_stack(tmp_path / "stack.tif")[1] == pytest.approx((12e-6 / 120, 12e-6 / 120))
    assert read_calibration(tmp_path / "stack.tif").pixel_size == pytest.approx((12e-6 / 120, 12e-6 / 120))
