"""Run metadata and its inverse: metadata → parameters → colorize repeats the run exactly."""

import json

import numpy as np
import pytest

from napari_semcolor.errors import SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import colorize, colorize_stack, params_from_metadata


def test_metadata_gives_back_the_arguments_and_the_same_output(scene):
    ids = [int(v) for v in np.unique(scene.labels)]
    keep = np.zeros(scene.image.shape, bool)
    keep[-10:] = True
    kwargs = {
        "backend": "propagate", "hints": scene.hints, "n_samples": 2, "seed": 7, "working_size": 96, "nan": None,
        "percentiles": (1.0, 99.0), "region_colors": {ids[1]: "#cc3399", ids[2]: "gray"},
        "one_color_per_region": True, "same_gray": 0.25, "options": {},
    }
    first = colorize(scene.image, labels=scene.labels, keep_gray=keep, **kwargs)
    md = json.loads(json.dumps(first.metadata))  # as a sidecar holds it
    params = params_from_metadata(md)
    assert params["hints"] == list(scene.hints)
    assert {k: v for k, v in params.items() if k not in ("hints", "nan")} == {k: v for k, v in kwargs.items() if k not in ("hints", "nan")}
    again = colorize(scene.image, labels=scene.labels, keep_gray=keep, **params)
    np.testing.assert_array_equal(again.rgb, first.rgb)
    assert {k: v for k, v in again.metadata.items() if k != "seconds"} == {k: v for k, v in first.metadata.items() if k != "seconds"}


def test_options_round_trip_typed(scene):
    first = colorize(scene.image, "eecnn", scene.hints[:2], options={"temperature": "0.5"}, working_size=64)
    params = params_from_metadata(json.loads(json.dumps(first.metadata)))
    assert params["options"] == first.metadata["options"] and isinstance(params["options"]["temperature"], float)
    np.testing.assert_array_equal(colorize(scene.image, **params).rgb, first.rgb)


def test_the_old_key_is_read_and_the_new_one_recorded():
    md = {"backend": "propagate", "one_colour_per_region": True, "hints": [{"y": 1, "x": 2, "color": "#ff0000"}]}
    params = params_from_metadata(md)
    assert params["one_color_per_region"] is True and "one_colour_per_region" not in params
    assert params["hints"] == [Hint(1, 2, (1.0, 0.0, 0.0), 1, ())]


@pytest.mark.parametrize("md", [{}, {"seed": 1}, [1, 2], "propagate"])
def test_what_is_not_run_metadata_is_refused(md):
    with pytest.raises(SemcolorError, match="not napari-semcolor run metadata"):
        params_from_metadata(md)


def test_stack_metadata_keeps_every_hint_with_its_plane(scene):
    stack = np.stack([scene.image, scene.image[::-1]])
    hints = [Hint(20, 20, (0.9, 0.1, 0.1), 5, plane=(0,)), Hint(100, 100, (0.5, 0.5, 0.5), 3)]
    md = colorize_stack(stack, "propagate", hints, working_size=64).metadata
    assert md["planes"] == 2 and md["hints"] == [h.to_dict() for h in hints]
    back = params_from_metadata(md)["hints"]
    assert [(h.y, h.x, h.size, h.plane, h.hex) for h in back] == [(h.y, h.x, h.size, h.plane, h.hex) for h in hints]


def test_cli_sidecar_that_is_not_ours_exits_2(tmp_path, capsys):
    import imageio.v3 as iio

    from napari_semcolor.cli import main

    iio.imwrite(tmp_path / "in.png", np.zeros((16, 16), np.uint8))
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"name": "x"}')
    for sidecar, message in (
        ("bad.json", "cannot read the sidecar"),
        ("other.json", "not a napari-semcolor metadata file"),
        ("missing.json", "cannot read the sidecar"),
    ):
        assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "--from-sidecar", str(tmp_path / sidecar), "-q"]) == 2
        assert message in capsys.readouterr().err
