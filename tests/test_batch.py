import json

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_semcolor.batch import run_batch
from napari_semcolor.cli import main
from napari_semcolor.color import image_to_lab
from napari_semcolor.hints import Hint
from napari_semcolor.synthetic import make_sem


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, kind in enumerate(("particles", "fibres", "pores")):
        image = make_sem((96, 128), kind, seed=i).image
        if i == 2:
            tifffile.imwrite(src / f"img{i}.tif", image, extratags=[(34682, "s", 0, "[Scan]\nPixelWidth=3e-09\nPixelHeight=3e-09\n", True)])
        else:
            iio.imwrite(src / f"img{i}.png", image)
    return src


def test_batch_on_a_local_cluster(folder, tmp_path):
    from distributed import Client, LocalCluster

    params = {"backend": "propagate", "hints": [Hint(40, 60, (0.9, 0.3, 0.1), 5)]}
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        results = run_batch(str(folder / "img*"), tmp_path / "out", params, scheduler=client)
    assert [r.status for r in results] == ["done"] * 3, [r.message for r in results]
    for r in results:
        out = iio.imread(r.output) if r.output.endswith(".png") else tifffile.imread(r.output)
        side = json.loads(open(r.output + ".json").read())
        assert side["backend"] == "propagate" and side["input"] == r.input and len(side["hints"]) == 1
        assert out.shape == (96, 128, 3)
        assert np.median(np.hypot(*np.moveaxis(image_to_lab(out)[..., 1:], -1, 0))) > 10  # the hint coloured the image
    assert json.loads(open(results[2].output + ".json").read())["pixel_size_m"] == pytest.approx([3e-9, 3e-9])


def test_batch_resumes_and_reports_failures_without_stopping(folder, tmp_path, capsys):
    (folder / "broken.png").write_bytes(b"not an image")
    args = ["batch", str(folder / "*"), "-o", str(tmp_path / "out"), "-q"]
    assert main(args) == 1  # one file failed
    summary = capsys.readouterr().out
    assert "3 coloured" in summary and "1 failed" in summary
    stamp = (tmp_path / "out" / "img0.png").stat().st_mtime_ns
    assert main(args) == 1
    assert "0 coloured, 3 up to date, 1 failed" in capsys.readouterr().out
    assert (tmp_path / "out" / "img0.png").stat().st_mtime_ns == stamp
    assert main([*args, "--seed", "1"]) == 1  # other parameters: the outputs are redone
    assert "3 coloured" in capsys.readouterr().out


def test_no_matching_inputs_is_a_clear_error(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "*.tif"), "-o", str(tmp_path / "out")]) == 2
    assert "no input files" in capsys.readouterr().err


def test_batch_writes_every_proposal_and_resumes_them(folder, tmp_path):
    params = {"backend": "diffusion", "n_samples": 2, "seed": 3, "options": {"steps": 2}}
    results = run_batch(str(folder / "img*"), tmp_path / "out", params, workers=1)
    assert [r.status for r in results] == ["done"] * 3, [r.message for r in results]
    for stem, ext in (("img0", ".png"), ("img2", ".tif")):  # PNG and the tile-written TIFF path
        read = iio.imread if ext == ".png" else tifffile.imread
        a, b = (read(tmp_path / "out" / f"{stem}_{i}{ext}") for i in range(2))
        assert a.shape == b.shape == (96, 128, 3) and not np.array_equal(a, b)  # two different proposals
        sides = [json.loads((tmp_path / "out" / f"{stem}_{i}{ext}.json").read_text()) for i in range(2)]
        assert [s["proposal"] for s in sides] == [0, 1]
    assert not (tmp_path / "out" / "img0.png").exists()
    again = run_batch(str(folder / "img*"), tmp_path / "out", params, workers=1)
    assert [r.status for r in again] == ["skipped"] * 3


def test_batch_cli_takes_samples_options_and_keeps_each_data_bar_gray(tmp_path, capsys):
    from napari_semcolor.files.sem_tiff import detect_databar

    src = tmp_path / "in"
    src.mkdir()
    image = make_sem((120, 128), "particles", seed=0, databar=True).image
    iio.imwrite(src / "bar.png", image)
    row = detect_databar(image)
    assert row is not None
    hints = tmp_path / "hints.csv"
    hints.write_text("y,x,r,g,b,size\n10,10,230,60,20,6\n")
    args = [
        "batch", str(src / "*.png"), "-o", str(tmp_path / "out"), "-q", "--hints", str(hints),
        "--samples", "2", "--option", "steps=2", "--backend", "diffusion",
    ]
    assert main(args) == 0, capsys.readouterr()
    for i in range(2):
        out = iio.imread(tmp_path / "out" / f"bar_{i}.png")
        side = json.loads((tmp_path / "out" / f"bar_{i}.png.json").read_text())
        assert side["options"]["steps"] == 2
        chroma = np.hypot(*np.moveaxis(image_to_lab(out)[..., 1:], -1, 0))
        assert chroma[row:].max() < 2 and chroma[:row].max() > 10  # bar gray by default, image coloured
    assert main([*args[:3], str(tmp_path / "tinted"), "-q", "--hints", str(hints), "--no-databar-gray"]) == 0
    chroma = np.hypot(*np.moveaxis(image_to_lab(iio.imread(tmp_path / "tinted" / "bar.png"))[..., 1:], -1, 0))
    assert chroma[row:].max() > 10  # --no-databar-gray colours the bar too


def test_bad_option_is_a_clear_error(tmp_path, capsys):
    assert main(["colorize", str(tmp_path / "x.png"), "-o", str(tmp_path / "y.png"), "--option", "steps"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_a_batch_that_would_write_over_its_inputs_is_refused_before_any_work(folder, capsys):
    before = {p: p.read_bytes() for p in folder.iterdir()}
    assert main(["batch", str(folder / "*"), "-o", str(folder), "-q"]) == 2
    assert "would replace your data" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in folder.iterdir()} == before  # nothing written, nothing replaced
