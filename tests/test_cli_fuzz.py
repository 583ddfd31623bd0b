"""The CLI over its argument space: odd values end in exit 0, or exit 2 with a message, never a traceback.

Hypothesis draws a subset of a subcommand's flags, each with an odd value (0, negative, huge, NaN,
inf, empty, text where a number goes) or a sensible one, on a tiny image. Whatever it draws,
``semcolor`` must finish with 0 (and write its output) or with 2 and a ``semcolor: error`` line
(argparse's own usage errors included); any other exception is a bug.
"""

import contextlib
import io
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from napari_semcolor.cli import main
from napari_semcolor.files.images import numbered
from napari_semcolor.synthetic import make_sem

ODD = ["0", "-1", "-7", "1e308", "99999999999999999999", "nan", "inf", "-inf", "", " ", "x", "1", "2", "3", "0.5", "64", "600"]
ODD_PATHS = ["", "0", "-1", "nan", ".", "no/such/file.png", "in.png"]
#: ≤ 40 examples each keeps the file under 30 s; FUZZ_N=600 for a longer hunt
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_N", 40)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny image (with a data bar), its labels and a hints CSV, in a folder the runs write into."""
    d = tmp_path_factory.mktemp("fuzz")
    sem = make_sem((40, 48), "particles", seed=1, n_objects=3, databar=True)
    iio.imwrite(d / "in.png", sem.image)
    tifffile.imwrite(d / "labels.tif", np.clip(sem.labels, 0, None).astype(np.uint16))
    (d / "hints.csv").write_text("y,x,r,g,b,size\n5,5,200,40,40,3\n")
    (d / "dir.png").mkdir()  # an output name that is a folder
    (d / "run.json").write_text(json.dumps({"backend": "propagate", "seed": 3, "n_samples": 1}))
    return d


def run(folder, argv: list[str]) -> tuple[int, str]:
    """``semcolor argv`` in ``folder``: (exit code, stderr); a traceback fails the test."""
    err, cwd = io.StringIO(), os.getcwd()
    os.chdir(folder)  # relative outputs such as "0.png" land in the test's folder
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                code = exc.code
    finally:
        os.chdir(cwd)
    return code, err.getvalue()


@st.composite
def flags(draw, **choices) -> list[str]:
    """Up to three of the flags, each ``--flag value`` (or bare ``--flag`` when its choices are None).

    Few flags at a time, so that many runs get past the argument checks and really run.
    """
    names = draw(st.lists(st.sampled_from(sorted(choices)), max_size=3, unique=True))
    out = []
    for name in names:
        out += [name] if choices[name] is None else [name, draw(st.sampled_from(choices[name]))]
    return out


COLORIZE = flags(**{
    "--samples": ODD, "--seed": ODD, "--working-size": ODD, "--nan": ODD, "--same-gray": ODD,
    "--device": ["auto", "cpu", "cuda", "", "0"], "--hints": [*ODD_PATHS, "hints.csv"], "--labels": [*ODD_PATHS, "labels.tif"],
    "--reference": [f"{k}=in.png" for k in ("0", "-1", "x", "99999999999999999999")] + ["", "=", "0=no.png"],
    "--region-color": [f"{k}={c}" for k in ("1", "0", "-1", "nan") for c in ("#cc3399", "", "#zzzzzz", "red")],
    "--region-gray": ODD, "--option": ["", "=", "steps=2", "x=nan"], "--from-sidecar": [*ODD_PATHS, "run.json"],
    "--metadata": ["", "0", ".", "new/dir/run.json", "meta.json"],
    "--one-color-per-region": None, "--no-databar-gray": None, "--databar-gray": None, "-q": None,
})

SEGMENT = flags(**{
    "--classes": ODD, "--block-size": ODD, "--offset": ODD, "--objects": ["auto", "dark", "", "0"], "--separate": None,
    "--no-separate": None, "--smooth": ODD, "--edge-sensitivity": ODD, "--min-size": ODD, "--no-fill-holes": None,
    "--working-size": ODD, "--device": ["cpu", "cuda", "", "-1"], "--no-skip-databar": None, "--nan": ODD, "-q": None,
})


def check(code, err: str) -> None:
    event(f"exit {code}")  # --hypothesis-show-statistics shows how many runs got through
    assert code in (0, 2), f"exit {code}: {err}"
    if code == 2:
        assert "error:" in err and err.strip().splitlines()[-1].split("error:", 1)[1].strip(), err


@FUZZ
@given(
    source=st.sampled_from(["in.png"] * 6 + ["", "no.png", "hints.csv"]),
    output=st.sampled_from(["out.png", "out.tif", "sub/out.png"] * 3 + ["", "0", "nan", "out.jpg", "dir.png"]),
    extra=COLORIZE,
)
def test_colorize_flags(folder, source, output, extra):
    for old in [*folder.glob("out*.*"), *folder.glob("sub/out*.*")]:  # an earlier example's result proves nothing
        old.unlink()
    code, err = run(folder, ["colorize", source, "-o", output, "-q", *extra])
    check(code, err)
    if code == 0:  # several samples write OUT_0, OUT_1, …
        assert (folder / output).is_file() or (folder / numbered(output, 0, 2)).is_file()


@FUZZ
@given(
    method=st.sampled_from(["otsu", "multiotsu", "local", "hed", ""]),
    output=st.sampled_from(["regions.tif", "regions.png"] * 3 + ["", "0", "regions.jpg", "dir.png"]),
    extra=SEGMENT,
)
def test_segment_flags(folder, method, output, extra):
    code, err = run(folder, ["segment", "in.png", "-o", output, "--method", method, *extra])
    check(code, err)
    if code == 0:
        assert (folder / output).is_file()


ODD_JSON = st.sampled_from([0, -1, 10**30, 1.5, float("nan"), "", "x", None, True, [], [5], [1, 99], {}, {"x": 1}])


@FUZZ
@given(recorded=st.dictionaries(
    st.sampled_from(["seed", "n_samples", "working_shape", "same_gray", "nan", "percentiles", "options", "hints", "region_colors"]), ODD_JSON, max_size=3,
))
def test_a_damaged_sidecar_is_said_plainly(folder, recorded):
    (folder / "odd.json").write_text(json.dumps({"backend": "propagate", **recorded}))
    code, err = run(folder, ["colorize", "in.png", "-o", "out.png", "-q", "--from-sidecar", "odd.json"])
    check(code, err)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["colorize", "in.png", "-o", "o.png", "--working-size", "0"], "--working-size: expected a whole number ≥ 32"),
        (["colorize", "in.png", "-o", "o.png", "--seed", "-1"], "--seed: expected a whole number from 0"),
        (["colorize", "in.png", "-o", "o.png", "--same-gray", "nan"], "--same-gray: expected a number from 0 to 1"),
        (["colorize", "in.png", "-o", "o.png", "--samples", "17"], "--samples: expected a whole number from 1 to 16"),
        (["segment", "in.png", "-o", "r.tif", "--smooth", "inf"], "--smooth: expected a number from 0 to 50"),
        (["segment", "in.png", "-o", "r.tif", "--offset", "nan"], "--offset: expected a finite number"),
        (["batch", "in.png", "-o", "out", "--workers", "0"], "--workers: expected a whole number ≥ 1"),
        (["colorize", "in.png", "-o", "out.jpg"], "give an output ending in .png"),
        (["segment", "in.png", "-o", "dir.png", "-q"], "Is a directory"),
    ],
)
def test_a_bad_value_says_what_is_expected(folder, argv, says):
    code, err = run(folder, argv)
    assert code == 2 and says in err, err
