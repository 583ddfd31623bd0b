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
