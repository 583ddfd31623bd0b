"""Where a stack's result goes when a run fails or is cancelled, and what ``ColorizeResult`` holds
for each kind of ``out`` (review of the stack/volume work)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile

from napari_semcolor.errors import Cancelled, SemcolorError
from napari_semcolor.hints import Hint
from napari_semcolor.pipeline import colorize_stack
from napari_semcolor.pipeline.stack_file import colorize_stack_file


def _stack(shape: tuple[int, ...]) -> np.ndarray:
    """Two materials side by side on every plane, with a little noise."""
    image = np.zeros(shape, np.float32)
    image[..., 16:] = 1.0
    return image + 0.05 * np.random.default_rng(0).random(shape).astype(np.float32)


def test_an_error_before_the_first_page_of_a_tiff_output_is_reported_and_leaves_no_file(tmp_path):
    # nst without a reference fails while colouring, before any page is written: the user must
    # see that error, not tifffile's "contains no pages" IndexError from mapping the empty file
    with pytest.raises(SemcolorError, match="reference"):
        colorize_stack(_stack((3, 32, 32)), "nst", out=tmp_path / "out.tif")
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_tiff_output_leaves_neither_the_file_nor_planes_waiting_for_their_page(tmp_path):
    # hints on t = 1: that volume is coloured first, its planes wait in a temporary folder for
    # the pages of t = 0, during which the run is cancelled
    cancel, seen = threading.Event(), []

    def progress(fraction, message):
        seen.append(message)
        if sum("writing plane 1/" in m for m in seen) == 2:
            cancel.set()

    hints = [Hint(4, 4, (1.0, 0.0, 0.0), 4, plane=(1, 0))]
    with pytest.raises(Cancelled):
        colorize_stack(_stack((2, 2, 32, 32)), "propagate", hints, out=tmp_path / "out.tif", progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_a_zarr_output_shaped_like_the_stack_is_the_results_image(tmp_path):
    zarr = pytest.importorskip("zarr")
    stack = _stack((3, 32, 32))
    hints = [Hint(4, 4, (1.0, 0.0, 0.0), 4, plane=(1,))]
    out = zarr.create_array(store=str(tmp_path / "out.zarr"), shape=(*stack.shape, 3), dtype=np.uint8, chunks=(1, 32, 32, 3))
    result = colorize_stack(stack, "propagate", hints, out=out)
    expected = colorize_stack(stack, "propagate", hints).image
    assert result.image.shape == expected.shape  # the stack, not its first plane
    np.testing.assert_array_equal(np.asarray(result.image), expected)
@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
def test_a_failed_run_keeps_the_previous_result_in_its_output(tmp_path, suffix):
    zarr = pytest.importorskip("zarr")
    tifffile.imwrite(tmp_path / "stack.tif", (_stack((3, 32, 32)) * 200).astype(np.uint8), photometric="minisblack")
    out = tmp_path / f"out{suffix}"
    colorize_stack_file(tmp_path / "stack.tif", out, backend="propagate", hints=[Hint(4, 4, (1.0, 0.0, 0.0), 4, plane=(1,))])
    before = tifffile.imread(out) if suffix == ".tif" else zarr.open(str(out), mode="r")[:]
    with pytest.raises(SemcolorError, match="plane"):
        colorize_stack_file(tmp_path / "stack.tif", out, backend="propagate", hints=[Hint(4, 4, (1.0, 0.0, 0.0), 4, plane=(7,))])
    after = tifffile.imread(out) if suffix == ".tif" else zarr.open(str(out), mode="r")[:]
    np.testing.assert_array_equal(after, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["stack.tif", out.name])


@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
def test_a_stack_result_file_has_the_permissions_of_any_new_file(tmp_path, suffix):
    import os

    pytest.importorskip("zarr")
    tifffile.imwrite(tmp_path / "stack.tif", (_stack((3, 32, 32)) * 200).astype(np.uint8), photometric="minisblack")
    (tmp_path / "plain").write_text("")
    colorize_stack_file(tmp_path / "stack.tif", tmp_path / f"out{suffix}", backend="propagate")
    mode = os.stat(tmp_path / f"out{suffix}").st_mode & 0o777
    plain = os.stat(tmp_path / "plain").st_mode & 0o777
    assert mode & 0o666 == plain  # not a private temporary file's 0600 (or a folder's 0700)
