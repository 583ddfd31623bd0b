import json
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_semcolor import __version__
from napari_semcolor.cli import main
from napari_semcolor.color import image_to_lab


def test_colorize_round_trip_with_hints_csv(scene, tmp_path):
    iio.imwrite(tmp_path / "in.png", scene.image)
    rows = ["y,x,r,g,b,size"] + [f"{h.y},{h.x},{','.join(str(round(c * 255)) for c in h.rgb)},{h.size}" for h in scene.hints]
    (tmp_path / "hints.csv").write_text("\n".join(rows) + "\n")
    code = main(
        [
            "colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
            "--hints", str(tmp_path / "hints.csv"), "--metadata", str(tmp_path / "md.json"), "-q",
        ]
    )
    assert code == 0
    out = iio.imread(tmp_path / "out.png")
    assert out.shape == (*scene.image.shape, 3)
    assert np.mean(scene.region_errors(out) < 10) >= 0.9
    md = json.loads((tmp_path / "md.json").read_text())
    assert md["backend"] == "propagate" and len(md["hints"]) == len(scene.hints)


def test_16_bit_tiff_in_and_tiff_out_with_labels(scene, tmp_path):
    tifffile.imwrite(tmp_path / "in.tif", scene.image.astype(np.uint16) * 257)
    tifffile.imwrite(tmp_path / "labels.tif", scene.labels.astype(np.uint16))
    (tmp_path / "h.csv").write_text("y,x,r,g,b\n" + "\n".join(f"{h.y},{h.x},200,40,40" for h in scene.hints[:1]) + "\n")
    assert main(
        [
            "colorize", str(tmp_path / "in.tif"), "-o", str(tmp_path / "out.tif"),
            "--hints", str(tmp_path / "h.csv"), "--labels", str(tmp_path / "labels.tif"), "-q",
        ]
    ) == 0
    out = tifffile.imread(tmp_path / "out.tif")
    L_out = image_to_lab(out)[..., 0]
    assert np.abs(L_out - scene.image / 255 * 100).max() <= 1.0


def test_several_samples_are_numbered(scene, tmp_path):
    iio.imwrite(tmp_path / "in.png", scene.image)
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--samples", "2", "-q"]) == 0
    assert (tmp_path / "out_0.png").is_file() and (tmp_path / "out_1.png").is_file()


def test_unknown_backend_exits_2_and_lists_backends(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["colorize", "x.png", "-o", "y.png", "--backend", "nope"])
    assert exc.value.code == 2
    assert "propagate" in capsys.readouterr().err


def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    assert main(["colorize", str(tmp_path / "missing.png"), "-o", str(tmp_path / "y.png")]) == 2
    assert "no such image file" in capsys.readouterr().err
    iio.imwrite(tmp_path / "in.png", np.zeros((10, 10), np.uint8))
    (tmp_path / "h.csv").write_text("y,x,r,g,b\n50,50,255,0,0\n")
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "y.png"), "--hints", str(tmp_path / "h.csv")]) == 2
    assert "outside the image" in capsys.readouterr().err
    (tmp_path / "h.csv").write_text("y,x,r,g,b,plane\n5,5,255,0,0,2\n")  # a plane on a 2D image: refused, not applied
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "y.png"), "--hints", str(tmp_path / "h.csv")]) == 2
    assert "on plane (2,) but the image is 2D" in capsys.readouterr().err and not (tmp_path / "y.png").exists()
    (tmp_path / "h.csv").write_text("y,x,r,g,b,plane\n5,5,255,0,0,\n")  # an empty plane: every plane, fine
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "y.png"), "--hints", str(tmp_path / "h.csv"), "-q"]) == 0


def test_demo_writes_the_coloured_sample(tmp_path):
    assert main(["demo", "-o", str(tmp_path)]) == 0
    out = iio.imread(tmp_path / "sample_propagate.png")
    gray = iio.imread(tmp_path / "sample_gray.png")
    assert out.shape == (*gray.shape, 3)
    chroma = np.hypot(*np.moveaxis(image_to_lab(out)[..., 1:], -1, 0))
    assert np.percentile(chroma, 90) > 15  # the particles are coloured


def test_console_script_version():
    out = subprocess.run([sys.executable, "-m", "napari_semcolor.cli", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_importing_the_package_does_not_import_torch_or_qt():
    code = "import sys, napari_semcolor, napari_semcolor.pipeline; print(any(m in sys.modules for m in ('torch', 'qtpy', 'PyQt5')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_segment_round_trip_and_region_colours(tmp_path):
    import tifffile
    from scipy import ndimage

    from napari_semcolor.synthetic import make_sem

    sem = make_sem((160, 160), "pores", seed=2, n_objects=5)
    iio.imwrite(tmp_path / "in.png", sem.image)
    assert main(["segment", str(tmp_path / "in.png"), "-o", str(tmp_path / "labels.tif"), "--method", "otsu", "--min-size", "30", "-q"]) == 0
    labels = tifffile.imread(tmp_path / "labels.tif")
    assert labels.shape == sem.image.shape and labels.max() >= 3
    from napari_semcolor.segment import segment

    np.testing.assert_array_equal(labels, segment(sem.image, "otsu", min_size=30))
    assert main(["segment", str(tmp_path / "in.png"), "-o", str(tmp_path / "phases.png"), "--method", "multiotsu", "--classes", "3", "-q"]) == 0
    assert set(np.unique(iio.imread(tmp_path / "phases.png"))) <= {1, 2, 3}
    code = main(
        [
            "colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--labels", str(tmp_path / "labels.tif"),
            "--region-color", "1=#2060d0", "--region-gray", "0", "--metadata", str(tmp_path / "md.json"), "-q",
        ]
    )
    assert code == 0
    lab = image_to_lab(iio.imread(tmp_path / "out.png"))
    inner = ndimage.binary_erosion(labels == 1, iterations=2)
    assert np.median(lab[..., 2][inner]) < -15  # blue
    assert np.abs(lab[..., 1:][labels == 0]).max() < 2  # the matrix stays gray
    assert json.loads((tmp_path / "md.json").read_text())["region_colors"] == {"0": "gray", "1": "#2060d0"}


def test_segment_flags_that_do_not_apply_and_bad_region_colours_exit_2(tmp_path, capsys):
    iio.imwrite(tmp_path / "in.png", (np.arange(64 * 64).reshape(64, 64) % 251).astype(np.uint8))
    assert main(["segment", str(tmp_path / "in.png"), "-o", str(tmp_path / "l.tif"), "--method", "otsu", "--classes", "3"]) == 2
    assert "--classes" in capsys.readouterr().err
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "--region-color", "1=#ff0000"]) == 2
    assert "--labels" in capsys.readouterr().err
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "--region-color", "red"]) == 2
    assert "LABEL=#RRGGBB" in capsys.readouterr().err


def test_from_sidecar_reproduces_a_run(scene, tmp_path):
    iio.imwrite(tmp_path / "in.png", scene.image)
    rows = ["y,x,r,g,b,size"] + [f"{h.y},{h.x},{','.join(str(round(c * 255)) for c in h.rgb)},{h.size}" for h in scene.hints]
    (tmp_path / "hints.csv").write_text("\n".join(rows) + "\n")
    args = ["colorize", str(tmp_path / "in.png"), "--hints", str(tmp_path / "hints.csv"), "--same-gray", "0.3", "--seed", "4", "-q"]
    assert main([*args, "-o", str(tmp_path / "a.png"), "--metadata", str(tmp_path / "a.json")]) == 0
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "b.png"), "--from-sidecar", str(tmp_path / "a.json"), "-q"]) == 0
    np.testing.assert_array_equal(iio.imread(tmp_path / "a.png"), iio.imread(tmp_path / "b.png"))
    assert json.loads((tmp_path / "a.json").read_text())["same_gray"] == 0.3


def test_tiff_pixel_size_survives_and_databar_stays_gray_by_default(tmp_path):
    from napari_semcolor.files.sem_tiff import read_sem_tiff
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((160, 200), "particles", seed=3, databar=True)
    ini = "[Scan]\nPixelWidth=4e-09\nPixelHeight=4e-09\n"
    tifffile.imwrite(tmp_path / "in.tif", sem.image, extratags=[(34682, "s", 0, ini, True)])
    (tmp_path / "h.csv").write_text("y,x,r,g,b,size\n" + f"{sem.image.shape[0] - 5},100,255,0,0,3\n" + "20,20,0,0,255,3\n")
    run = ["colorize", str(tmp_path / "in.tif"), "--hints", str(tmp_path / "h.csv"), "-q"]
    assert main([*run, "-o", str(tmp_path / "out.tif")]) == 0  # as in the Colourize dock: the bar stays gray unless asked
    assert main([*run, "-o", str(tmp_path / "flag.tif"), "--databar-gray"]) == 0  # the 0.x flag is still accepted
    assert main([*run, "-o", str(tmp_path / "tinted.tif"), "--no-databar-gray"]) == 0
    out = read_sem_tiff(tmp_path / "out.tif")
    assert out.pixel_size == pytest.approx((4e-9, 4e-9))
    bar = sem.labels == -1
    ab = image_to_lab(out.data)[..., 1:]
    assert np.abs(ab[bar]).max() < 1.5  # a red hint inside the bar did not colour it
    np.testing.assert_array_equal(read_sem_tiff(tmp_path / "flag.tif").data, out.data)
    assert np.abs(image_to_lab(read_sem_tiff(tmp_path / "tinted.tif").data)[..., 1:][bar]).max() > 10


def test_segment_leaves_the_data_bar_out_unless_told(tmp_path):
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((160, 192), "particles", seed=4, databar=True)
    bar = int(np.argmax((sem.labels == -1).any(axis=1)))
    iio.imwrite(tmp_path / "in.png", sem.image)
    run = ["segment", str(tmp_path / "in.png"), "--method", "local", "--min-size", "8", "-q"]
    assert main([*run, "-o", str(tmp_path / "out.tif")]) == 0
    assert main([*run, "-o", str(tmp_path / "all.tif"), "--no-skip-databar"]) == 0
    out, whole = tifffile.imread(tmp_path / "out.tif"), tifffile.imread(tmp_path / "all.tif")
    assert not out[bar:].any() and out[:bar].any()
    assert whole[bar:].any()  # the bar's marks are regions only when asked


def test_an_output_that_would_replace_an_input_is_refused(tmp_path, capsys):
    gray = tmp_path / "g.png"
    iio.imwrite(gray, np.full((16, 16), 128, np.uint8))
    before = gray.read_bytes()
    assert main(["colorize", str(gray), "-o", str(gray), "-q"]) == 2
    assert "replace your data" in capsys.readouterr().err
    (tmp_path / "h.csv").write_text("y,x,r,g,b\n1,1,255,0,0\n")
    assert main(["colorize", str(gray), "-o", str(tmp_path / "out.png"), "--hints", str(tmp_path / "h.csv"), "--metadata", str(tmp_path / "h.csv"), "-q"]) == 2
    assert "replace your data" in capsys.readouterr().err
    labels = tmp_path / "r_1.png"  # -o r.png with 2 samples writes r_0.png and r_1.png
    iio.imwrite(labels, np.zeros((16, 16), np.uint8))
    assert main(["colorize", str(gray), "-o", str(tmp_path / "r.png"), "--samples", "2", "--labels", str(labels), "-q"]) == 2
    assert "replace your data" in capsys.readouterr().err
    assert main(["segment", str(gray), "-o", str(gray), "-q"]) == 2
    assert "replace your data" in capsys.readouterr().err
    assert gray.read_bytes() == before and (tmp_path / "h.csv").read_text().startswith("y,x")


def test_the_databar_row_the_metadata_states_is_kept_gray(tmp_path):
    # FEI files state the bar: [Image] ResolutionY is the image height above it. The CLI uses that
    # row, not a guess from the pixels (here the stated bar starts 20 rows above the drawn one).
    from napari_semcolor.files.sem_tiff import read_sem_tiff
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((160, 200), "particles", seed=3, databar=True)
    drawn = int(np.argmax((sem.labels == -1).any(axis=1)))
    stated = drawn - 20
    ini = f"[Scan]\nPixelWidth=4e-09\n[Image]\nResolutionY={stated}\n"
    tifffile.imwrite(tmp_path / "in.tif", sem.image, extratags=[(34682, "s", 0, ini, True)])
    (tmp_path / "h.csv").write_text("y,x,r,g,b,size\n" + f"{stated + 5},100,255,0,0,3\n" + f"{stated // 2},20,0,0,255,3\n")
    assert main(["colorize", str(tmp_path / "in.tif"), "--hints", str(tmp_path / "h.csv"), "-q", "-o", str(tmp_path / "out.tif")]) == 0
    ab = image_to_lab(read_sem_tiff(tmp_path / "out.tif").data)[..., 1:]
    assert np.abs(ab[stated:]).max() < 1.5  # the stated bar, and the red hint inside it, stay gray
    assert np.abs(ab[: stated - 10]).max() > 10  # the image above it is coloured
