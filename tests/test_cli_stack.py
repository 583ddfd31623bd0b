"""``semcolor colorize`` and ``semcolor batch`` on stacks (issue 16): a multi-page TIFF or a zarr array in,
a page per plane (or a zarr array) out, hints on one plane colouring every plane."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_semcolor import hints as hints_mod
from napari_semcolor.cli import main
from napari_semcolor.color import image_to_lab, to_lightness
from napari_semcolor.files.sem_tiff import read_sem_tiff
from napari_semcolor.synthetic_volume import make_sem_volume, region_hints, regions_right

PIXEL = 5e-9  # metres


@pytest.fixture(scope="module")
def volume():
    return make_sem_volume((6, 64, 64), seed=1)


@pytest.fixture
def files(volume, tmp_path):
    """The stack as a multi-page TIFF with a pixel size, and a hints CSV with one hint per region of plane 0."""
    per_cm = 1 / (PIXEL * 100)
    tifffile.imwrite(tmp_path / "stack.tif", volume.image, resolution=(per_cm, per_cm), resolutionunit="CENTIMETER")
    hints = region_hints(volume.labels, 0)
    hints_mod.write_csv(list(hints.values()), tmp_path / "hints.csv")
    return tmp_path, hints


def test_a_tiff_stack_becomes_a_multi_page_rgb_tiff_coloured_on_every_plane(volume, files, capsys):
    folder, hints = files
    assert "plane" in (folder / "hints.csv").read_text().splitlines()[0]
    assert main(["colorize", str(folder / "stack.tif"), "-o", str(folder / "out.tif"), "--hints", str(folder / "hints.csv")]) == 0
    assert "writing plane 6/6" in capsys.readouterr().err  # progress per plane
    out = read_sem_tiff(folder / "out.tif")
    with tifffile.TiffFile(folder / "out.tif") as tif:
        assert len(tif.pages) == len(volume.image)  # a page per plane
        for page in tif.pages:  # each page written with the input's pixel size (pixels per cm)
            assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
            x, y = (page.tags[t].value for t in ("XResolution", "YResolution"))
            assert x[0] / x[1] == pytest.approx(1 / (PIXEL * 100)) and y[0] / y[1] == pytest.approx(1 / (PIXEL * 100))
    assert out.data.shape == (*volume.image.shape, 3) and out.pixel_size == pytest.approx((PIXEL, PIXEL))
    assert min(regions_right(out.data, volume.labels, hints)) >= 0.8  # hints on plane 0 only
    for k in range(len(volume.image)):  # the structure is the input's on every plane
        assert np.abs(image_to_lab(out.data[k])[..., 0] - to_lightness(volume.image[k])).max() <= 1.0


def test_plane_by_plane_keeps_a_hint_on_its_own_plane(volume, files):
    folder, hints = files
    assert main(["colorize", str(folder / "stack.tif"), "-o", str(folder / "out.tif"), "--hints", str(folder / "hints.csv"), "--planes", "-q"]) == 0
    rgb = tifffile.imread(folder / "out.tif")
    chroma = [float(np.hypot(*np.moveaxis(image_to_lab(p)[..., 1:], -1, 0)).mean()) for p in rgb]
    assert chroma[0] > 5 and max(chroma[1:]) < 1  # the other planes had no hints


def test_zarr_in_and_out_with_spacing_and_align(volume, files):
    import zarr

    from napari_semcolor.pipeline import colorize_stack

    folder, hints = files
    source = zarr.open(str(folder / "in.zarr"), mode="w", shape=volume.image.shape, chunks=(1, 64, 64), dtype=np.uint8)
    source[:] = volume.image
    args = ["colorize", str(folder / "in.zarr"), "-o", str(folder / "out.zarr"), "--hints", str(folder / "hints.csv"), "-q"]
    assert main([*args, "--spacing", "3,1,1", "--align", "--no-databar-gray"]) == 0
    out = zarr.open(str(folder / "out.zarr"), mode="r")
    assert out.shape == (*volume.image.shape, 3) and out.chunks[0] == 1
    assert out.attrs["semcolor"]["spacing"] == [3.0, 1.0, 1.0]
    expected = colorize_stack(volume.image, "propagate", list(hints.values()), spacing=(3, 1, 1), align=True).image
    np.testing.assert_array_equal(out[:], expected)  # the API's result, written plane by plane
    assert min(regions_right(out[:], volume.labels, hints)) >= 0.7


def test_a_2d_zarr_image_and_2d_zarr_labels_are_read_as_one_image(volume, files):
    import zarr

    from napari_semcolor.files.stacks import PIXEL_SIZE_ATTR
    from napari_semcolor.pipeline import colorize

    folder, hints = files
    plain = [hints_mod.Hint(h.y, h.x, h.rgb, h.size) for h in hints.values()]  # no plane: a 2D image has none
    hints_mod.write_csv(plain, folder / "plain.csv")
    image = zarr.open(str(folder / "plane.zarr"), mode="w", shape=volume.image.shape[1:], chunks=(32, 32), dtype=np.uint8)
    image[:] = volume.image[0]
    image.attrs[PIXEL_SIZE_ATTR] = [PIXEL, PIXEL]
    labels = zarr.open(str(folder / "labels.zarr"), mode="w", shape=volume.labels.shape[1:], dtype=np.int32)
    labels[:] = volume.labels[0]
    args = ["colorize", str(folder / "plane.zarr"), "-o", str(folder / "plane.tif"), "--hints", str(folder / "plain.csv")]
    assert main([*args, "--labels", str(folder / "labels.zarr"), "--no-databar-gray", "-q"]) == 0
    out = read_sem_tiff(folder / "plane.tif")
    expected = colorize(volume.image[0], "propagate", plain, volume.labels[0]).image
    np.testing.assert_array_equal(out.data, expected)
    assert out.pixel_size == pytest.approx((PIXEL, PIXEL))  # the pixel size the zarr array keeps


def test_bad_stack_runs_exit_2_with_a_message(volume, files, capsys):
    folder, _ = files
    stack = str(folder / "stack.tif")
    cases = {
        ("-o", stack): "is an input of this run",
        ("-o", str(folder / "out.png")): "give an output ending in .tif, .tiff (one page per plane) or .zarr",
        ("-o", str(folder / "out.tif"), "--spacing", "2,1"): "--spacing has 2 numbers but the stack (6, 64, 64) has 3 axes",
        ("-o", str(folder / "out.tif"), "--samples", "2"): "a stack is coloured with one proposal",
    }
    for extra, message in cases.items():
        assert main(["colorize", stack, *extra]) == 2
        assert message in capsys.readouterr().err
    (folder / "far.csv").write_text("y,x,r,g,b,size,plane\n5,5,200,40,40,3,9\n")  # no plane 9
    assert main(["colorize", stack, "-o", str(folder / "out.tif"), "--hints", str(folder / "far.csv"), "-q"]) == 2
    assert "plane (9,)" in capsys.readouterr().err
    assert not (folder / "out.tif").exists()  # nothing half written is left behind
    tifffile.imwrite(folder / "flat.tif", volume.image[0])
    assert main(["colorize", str(folder / "flat.tif"), "-o", str(folder / "o.tif"), "--align"]) == 2
    assert "are for stacks" in capsys.readouterr().err
    tifffile.imwrite(folder / "rgb.tif", np.zeros((3, 16, 16, 3), np.uint8), photometric="rgb")
    assert main(["colorize", str(folder / "rgb.tif"), "-o", str(folder / "o.tif")]) == 2
    assert "a stack of colour images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # argparse's own usage error
        main(["colorize", stack, "-o", str(folder / "o.tif"), "--spacing", "1,nan,1"])
    assert exit_.value.code == 2
    assert "expected positive numbers Z,Y,X" in capsys.readouterr().err


def test_hints_csv_plane_column_is_optional(tmp_path):
    (tmp_path / "old.csv").write_text("y,x,r,g,b,size\n5,5,200,40,40,3\n")
    (tmp_path / "new.csv").write_text("y,x,r,g,b,size,plane\n5,5,200,40,40,3,\n1,2,0,0,255,1,4\n1,2,0,0,255,1,0;3\n")
    assert hints_mod.read_csv(tmp_path / "old.csv")[0].plane == ()
    assert [h.plane for h in hints_mod.read_csv(tmp_path / "new.csv")] == [(), (4,), (0, 3)]
    hints_mod.write_csv(hints_mod.read_csv(tmp_path / "new.csv"), tmp_path / "again.csv")
    assert hints_mod.read_csv(tmp_path / "again.csv") == hints_mod.read_csv(tmp_path / "new.csv")
    hints_mod.write_csv(hints_mod.read_csv(tmp_path / "old.csv"), tmp_path / "old2.csv")
    assert (tmp_path / "old2.csv").read_text().splitlines()[0] == "y,x,r,g,b,size"  # 2D files unchanged
    (tmp_path / "bad.csv").write_text("y,x,r,g,b,size,plane\n5,5,200,40,40,3,-1\n")
    with pytest.raises(Exception, match="line 2"):
        hints_mod.read_csv(tmp_path / "bad.csv")


def test_batch_colours_stacks_and_single_images_side_by_side(volume, files, capsys):
    import imageio.v3 as iio

    folder, hints = files
    iio.imwrite(folder / "flat.png", volume.image[2])
    args = ["batch", str(folder / "stack.tif"), str(folder / "flat.png"), "-o", str(folder / "out"), "--hints", str(folder / "hints.csv")]
    assert main([*args, "--spacing", "1,1,1"]) == 1  # hints on plane 0: not for a 2D image
    said = capsys.readouterr()
    assert "1 coloured, 0 up to date, 1 failed" in said.out and "hint 0 is on plane (0,) but the image is 2D" in said.err
    hints_mod.write_csv([hints_mod.Hint(h.y, h.x, h.rgb, h.size) for h in hints.values()], folder / "hints.csv")
    args = [*args[:-1], str(folder / "hints.csv"), "-q"]  # without a plane: on every plane of the stack and on the image
    for name in ("stack.tif", "stack.tif.json"):
        (folder / "out" / name).unlink()
    assert main([*args, "--spacing", "1,1,1"]) == 0
    assert "2 coloured" in capsys.readouterr().out
    out = read_sem_tiff(folder / "out" / "stack.tif")
    assert out.data.shape == (*volume.image.shape, 3) and out.pixel_size == pytest.approx((PIXEL, PIXEL))
    assert min(regions_right(out.data, volume.labels, hints)) >= 0.8
    assert iio.imread(folder / "out" / "flat.png").shape == (64, 64, 3)
    assert (folder / "out" / "stack.tif.json").is_file()
    assert main([*args, "--spacing", "1,1,1"]) == 0
    assert "2 up to date" in capsys.readouterr().out  # an interrupted batch resumes


def test_a_compressed_tiff_stack_is_read_page_by_page_with_the_same_result(volume, files):
    from napari_semcolor.files.stacks import read_stack

    folder, _ = files
    per_cm = 1 / (PIXEL * 100)
    tifffile.imwrite(folder / "packed.tif", volume.image, compression="zlib", resolution=(per_cm, per_cm), resolutionunit="CENTIMETER")
    data, pixel_size = read_stack(folder / "packed.tif")
    assert not isinstance(data, np.ndarray) and pixel_size == pytest.approx((PIXEL, PIXEL))  # lazy, not read whole
    for name in ("stack", "packed"):
        assert main(["colorize", str(folder / f"{name}.tif"), "-o", str(folder / f"{name}_out.tif"), "--hints", str(folder / "hints.csv"), "-q"]) == 0
    np.testing.assert_array_equal(tifffile.imread(folder / "packed_out.tif"), tifffile.imread(folder / "stack_out.tif"))


def test_a_time_series_of_volumes_is_coloured_from_hints_on_its_first_time_point(volume, tmp_path):
    import dataclasses

    series = np.stack([np.roll(volume.image, t, axis=-1) for t in range(3)])  # (t, z, y, x), drifting 1 px per t
    labels = np.stack([np.roll(volume.labels, t, axis=-1) for t in range(3)])
    tifffile.imwrite(tmp_path / "series.tif", series, imagej=True, metadata={"axes": "TZYX"})
    hints = {i: dataclasses.replace(h, plane=(0, 2)) for i, h in region_hints(labels[0], 2).items()}
    hints_mod.write_csv(list(hints.values()), tmp_path / "hints.csv")
    assert "0;2" in (tmp_path / "hints.csv").read_text()
    assert main(["colorize", str(tmp_path / "series.tif"), "-o", str(tmp_path / "out.tif"), "--hints", str(tmp_path / "hints.csv"), "-q"]) == 0
    out = tifffile.imread(tmp_path / "out.tif").reshape(*series.shape, 3)
    for t in range(3):  # every time point, in its own place in the file
        assert np.nanmean(regions_right(out[t], labels[t], hints, erode=2)) >= 0.8
        assert np.abs(image_to_lab(out[t, 2])[..., 0] - to_lightness(series[t, 2])).max() <= 1.0
