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
    code = main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--hints", str(tmp_path / "hints.csv"), "--metadata", str(tmp_path / "md.json"), "-q"])
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
    assert main(["colorize", str(tmp_path / "in.tif"), "-o", str(tmp_path / "out.tif"), "--hints", str(tmp_path / "h.csv"), "--labels", str(tmp_path / "labels.tif"), "-q"]) == 0
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
