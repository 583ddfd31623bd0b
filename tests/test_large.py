"""Large images: lazy input (memmap, dask, any row-sliceable array), tiled full resolution, out=.

Generated fixtures only. TILE_PIXELS is made small so that even these small images are processed
in many row tiles, i.e. the tiled code paths (and their seams) are what is tested.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_semcolor.cli import main
from napari_semcolor.color import image_to_lab, lightness_mapping, to_lightness
from napari_semcolor.errors import SemcolorError
from napari_semcolor.files.sem_tiff import read_sem_tiff
from napari_semcolor.hints import Hint, read_csv
from napari_semcolor.pipeline import check_memory, colorize, memory
from napari_semcolor.synthetic import make_sem


@pytest.fixture
def small_tiles(monkeypatch):
    monkeypatch.setattr(memory, "TILE_PIXELS", 23 * 300)  # a 300-pixel-wide image: 23-row tiles


@pytest.fixture(scope="module")
def big():
    sem = make_sem((260, 300), "particles", seed=5, n_objects=9)
    hints = [Hint(40, 50, (0.9, 0.2, 0.1), 5), Hint(200, 230, (0.1, 0.3, 0.9), 3), Hint(120, 150, (0.5, 0.5, 0.5), 4)]
    return sem.image, sem.labels, hints


class RowReader:
    """A lazy array that records how many rows each read asks for (and refuses anything else)."""

    def __init__(self, data):
        self.data, self.shape, self.dtype, self.ndim = data, data.shape, data.dtype, data.ndim
        self.rows_read = []

    def __getitem__(self, key):
        assert isinstance(key, slice), f"read with {key!r}, not a row slice"
        block = self.data[key]
        self.rows_read.append(block.shape[0])
        return block

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole lazy image was converted to an array")


def _run(image, labels, hints, **kw):
    ids = [int(v) for v in np.unique(labels) if v][:2]
    kg = np.zeros(labels.shape, bool)
    kg[-20:] = True
    return colorize(image, "propagate", hints, labels, region_colors={ids[0]: "#3060d0", ids[1]: "gray"}, keep_gray=kg, working_size=128, **kw)


def test_lazy_inputs_give_the_numpy_result_and_are_read_in_tiles(big, small_tiles, tmp_path):
    image, labels, hints = big
    want = _run(image, labels, hints).image
    # a memory-mapped uncompressed TIFF
    tifffile.imwrite(tmp_path / "in.tif", image)
    mm = tifffile.memmap(tmp_path / "in.tif", mode="r")
    assert isinstance(mm, np.memmap)
    np.testing.assert_array_equal(_run(mm, labels, hints).image, want)
    # a dask array
    import dask.array as da
    import zarr

    np.testing.assert_array_equal(_run(da.from_array(image, chunks=(64, 100)), labels, hints).image, want)
    # a zarr array (chunked store, as from an OME-Zarr or a large acquisition)
    z = zarr.array(image, chunks=(64, 100))
    np.testing.assert_array_equal(_run(z, labels, hints).image, want)
    # any row-sliceable array (zarr's interface): never converted whole, read a tile at a time
    reader = RowReader(image)
    np.testing.assert_array_equal(_run(reader, labels, hints).image, want)
    assert max(reader.rows_read) <= 23 + 2 * 7 and len(reader.rows_read) > 10
    assert np.abs(image_to_lab(want)[..., 0] - to_lightness(image)).max() <= 1.0


@pytest.mark.parametrize("kind", ["float", "uint16_percentiles", "int16", "rgb"])
def test_lazy_dtype_mappings_match_to_lightness(kind, big):
    image = big[0]
    arr = {
        "float": image.astype(np.float32) * 3.5 - 40,
        "uint16_percentiles": image.astype(np.uint16) * 251,
        "int16": image.astype(np.int16) - 100,
        "rgb": np.stack([image, image // 2, 255 - image], -1),
    }[kind]
    pct = (2, 98) if kind == "uint16_percentiles" else None
    reader = RowReader(arr)
    with pytest.warns(UserWarning) if kind == "rgb" else _nothing():
        to_L = lightness_mapping(reader, percentiles=pct, chunk_rows=50)
    lazy = np.concatenate([to_L(arr[r : r + 37]) for r in range(0, arr.shape[0], 37)])
    with pytest.warns(UserWarning) if kind == "rgb" else _nothing():
        np.testing.assert_allclose(lazy, to_lightness(arr, percentiles=pct), atol=1e-4)
    if kind == "uint16_percentiles":  # the histogram percentiles are numpy's
        lo, hi = np.percentile(arr.astype(np.float64), pct)
        np.testing.assert_allclose(lazy, np.clip((arr - lo) * 100 / (hi - lo), 0, 100), atol=1e-3)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_inputs_are_not_mutated(big, small_tiles, tmp_path):
    image, labels, hints = big
    before_image, before_labels = image.copy(), labels.copy()
    tifffile.imwrite(tmp_path / "in.tif", image)
    raw = (tmp_path / "in.tif").read_bytes()
    _run(image, labels, hints)
    _run(tifffile.memmap(tmp_path / "in.tif", mode="r+"), labels, hints)  # even when writable
    np.testing.assert_array_equal(image, before_image)
    np.testing.assert_array_equal(labels, before_labels)
    assert (tmp_path / "in.tif").read_bytes() == raw


def test_nan_in_a_lazy_float_image_is_refused_before_anything_is_written(big, tmp_path):
    image = big[0].astype(np.float32)
    image[200, 17] = np.nan
    out = np.full((1, *image.shape, 3), 7, np.uint8)
    with pytest.raises(SemcolorError, match="1 NaN"):
        colorize(RowReader(image), "propagate", out=out)
    assert (out == 7).all()


def test_output_to_a_memmap_a_list_and_a_tiff_path(big, small_tiles, tmp_path):
    image, labels, hints = big
    want = colorize(image, "propagate", hints, n_samples=2).rgb
    mm = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.uint8, shape=want.shape)
    result = colorize(image, "propagate", hints, n_samples=2, out=mm)
    assert result.rgb is mm
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), want)
    planes = [np.zeros(want.shape[1:], np.uint8) for _ in range(2)]
    colorize(image, "propagate", hints, n_samples=2, out=planes)
    np.testing.assert_array_equal(np.stack(planes), want)
    result = colorize(image, "propagate", hints, n_samples=2, out=tmp_path / "res.tif")
    for i in range(2):
        np.testing.assert_array_equal(tifffile.imread(tmp_path / f"res_{i}.tif"), want[i])
    np.testing.assert_array_equal(result.image, want[0])
    with pytest.raises(SemcolorError, match="out must have shape"):
        colorize(image, "propagate", hints, out=np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(SemcolorError, match="uint8"):
        colorize(image, "propagate", hints, out=np.zeros(want.shape[1:], np.float32))


def test_memory_check_counts_only_what_is_kept_whole():
    four_gb = 4 * 2**30
    with pytest.raises(SemcolorError, match="write the result to a file"):
        check_memory((40000, 40000), 1, False, available=four_gb)  # 4.8 GB of RGB
    check_memory((40000, 40000), 1, False, available=four_gb, in_memory_output=False)
    check_memory((16384, 16384), 1, False, available=four_gb)  # 0.8 GB of RGB + one tile


def test_cli_reads_an_uncompressed_tiff_lazily_and_writes_the_tiff_tile_by_tile(big, tmp_path):
    image, _, hints = big
    tifffile.imwrite(tmp_path / "in.tif", image, resolution=(1e5, 1e5), resolutionunit="CENTIMETER")  # 100 nm pixels
    assert isinstance(read_sem_tiff(tmp_path / "in.tif", lazy=True).data, np.memmap)
    tifffile.imwrite(tmp_path / "packed.tif", image, compression="zlib")
    assert not isinstance(read_sem_tiff(tmp_path / "packed.tif", lazy=True).data, np.memmap)
    (tmp_path / "h.csv").write_text(
        "y,x,r,g,b,size\n" + "\n".join(f"{h.y},{h.x},{','.join(str(round(c * 255)) for c in h.rgb)},{h.size}" for h in hints) + "\n"
    )
    want = colorize(image, "propagate", read_csv(tmp_path / "h.csv")).image  # CSV colours are 8-bit
    for name in ("in.tif", "packed.tif"):
        assert main(["colorize", str(tmp_path / name), "-o", str(tmp_path / f"out_{name}"), "--hints", str(tmp_path / "h.csv"), "-q"]) == 0
        np.testing.assert_array_equal(tifffile.imread(tmp_path / f"out_{name}"), want)
    written = read_sem_tiff(tmp_path / "out_in.tif")
    np.testing.assert_allclose(written.pixel_size, (1e-7, 1e-7))
    # a run that fails leaves no empty result behind
    assert main(
        ["colorize", str(tmp_path / "in.tif"), "-o", str(tmp_path / "bad.tif"), "--labels", str(tmp_path / "packed.tif"), "--region-color", "999=#ff0000", "-q"]
    ) == 2
    assert not (tmp_path / "bad.tif").exists()


def test_nst_is_applied_in_tiles_without_seams():
    import torch

    from napari_semcolor.backends.nstcnn import apply
    from napari_semcolor.nets.nstcnn import NSTCNN

    torch.manual_seed(0)
    net = NSTCNN().eval()
    L = to_lightness(make_sem((300, 420), "fibres", seed=2, n_objects=7).image)
    whole = apply(net, L, tile=10_000)
    tiled = apply(net, L, tile=64)  # 5 × 7 tiles
    assert np.abs(whole).max() > 1  # the net does colour
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
