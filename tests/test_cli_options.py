"""``--option KEY=VALUE`` is checked against the backend's spec before the image is read; ``semcolor backends``."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
from toy_backend import HUE  # tests/toy_backend.py

from napari_semcolor import backends
from napari_semcolor.cli import main
from napari_semcolor.color import image_to_lab
from napari_semcolor.synthetic import make_sem


@pytest.fixture
def toy():
    backends.register("toy", "toy_backend:ToyBackend")
    yield "toy"
    backends.unregister("toy")


@pytest.fixture
def gray_png(tmp_path):
    path = tmp_path / "in.png"
    iio.imwrite(path, make_sem((48, 64), "particles", seed=2, n_objects=4).image)
    return path


@pytest.mark.parametrize(
    ("backend", "option", "says"),
    [
        ("diffusion", "stepz=20", "no option 'stepz'"),  # a typo
        ("propagate", "steps=20", "no option 'steps'"),  # another backend's option
        ("diffusion", "steps=abc", "steps='abc'"),  # not a number
        ("diffusion", "steps=0", "out of range"),
        ("diffusion", "sampler=nope", "one of"),
        ("diffusion", "steps", "KEY=VALUE"),
    ],
)
def test_a_bad_option_exits_2_before_the_image_is_read(backend, option, says, tmp_path, capsys):
    missing = tmp_path / "not_there.png"  # would fail with "no such image file" if it were read first
    code = main(["colorize", str(missing), "-o", str(tmp_path / "out.png"), "--backend", backend, "--option", option, "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and "no such image" not in err and "Traceback" not in err
    if "no option" in says:
        spec = backends.get_spec(backend)
        assert all(o.name in err for o in spec.options) or "takes no options" in err  # the message lists the options
    assert not (tmp_path / "out.png").exists()


def test_batch_checks_options_before_reading_files(tmp_path, capsys):
    code = main(["batch", str(tmp_path / "*.png"), "-o", str(tmp_path / "out"), "--backend", "diffusion", "--option", "stepz=3", "-q"])
    assert code == 2 and "no option 'stepz'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_good_option_is_typed_and_recorded(gray_png, tmp_path):
    md_path = tmp_path / "md.json"
    code = main(["colorize", str(gray_png), "-o", str(tmp_path / "out.png"), "--backend", "diffusion", "--option", "steps=3", "--metadata", str(md_path), "-q"])
    assert code == 0
    options = json.loads(md_path.read_text())["options"]
    assert options["steps"] == 3 and isinstance(options["steps"], int)
    assert set(options) == {o.name for o in backends.get_spec("diffusion").options}  # defaults recorded too


def test_backends_lists_every_backend_and_one_backends_options(capsys):
    assert main(["backends"]) == 0
    listing = capsys.readouterr().out
    for name in backends.available():
        assert name in listing and backends.get_spec(name).summary in listing
    assert main(["backends", "diffusion"]) == 0
    described = capsys.readouterr().out
    for opt in backends.get_spec("diffusion").options:
        assert f"--option {opt.name}=" in described and opt.help in described


def test_backends_with_an_unknown_name_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backends", "nope"])
    assert exc.value.code == 2 and "propagate" in capsys.readouterr().err


def test_a_registered_backend_works_from_the_cli(toy, gray_png, tmp_path, capsys):
    assert main(["backends"]) == 0
    assert "toy" in capsys.readouterr().out
    assert main(["backends", "toy"]) == 0
    assert "--option hue=" in capsys.readouterr().out
    out = tmp_path / "toy.png"
    assert main(["colorize", str(gray_png), "-o", str(out), "--backend", "toy", "--option", "hue=200", "-q"]) == 0
    lab = image_to_lab(iio.imread(out))
    mid = lab[lab[..., 0].clip(30, 70) == lab[..., 0]]  # mid-gray pixels, away from the gamut limits
    hue = np.rad2deg(np.arctan2(np.median(mid[:, 2]), np.median(mid[:, 1]))) % 360
    assert abs(hue - 200) < 15 and abs(hue - HUE) > 90  # the option reached the backend
    assert main(["colorize", str(gray_png), "-o", str(out), "--backend", "toy", "--option", "hue=400", "-q"]) == 2
    assert "from 0 to 360" in capsys.readouterr().err


def test_the_old_flag_spelling_still_works_and_says_so(gray_png, tmp_path, capsys):
    labels = tmp_path / "labels.png"
    iio.imwrite(labels, (np.arange(48 * 64).reshape(48, 64) % 64 >= 32).astype(np.uint8))
    (tmp_path / "h.csv").write_text("y,x,r,g,b\n10,5,220,40,40\n10,50,40,40,220\n")
    args = ["colorize", str(gray_png), "-o", str(tmp_path / "o.png"), "--labels", str(labels), "--hints", str(tmp_path / "h.csv"), "-q"]
    assert main([*args, "--one-color-per-region", "--metadata", str(tmp_path / "new.json")]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert main([*args, "--one-colour-per-region", "--metadata", str(tmp_path / "old.json")]) == 0
    assert "deprecated; use --one-color-per-region" in capsys.readouterr().err
    for name in ("new.json", "old.json"):
        assert json.loads((tmp_path / name).read_text())["one_color_per_region"] is True
