import json

import numpy as np
import pytest

from napari_semcolor.files.sem_tiff import read_sem_tiff


def test_writer_round_trip_keeps_pixel_size_and_metadata(make_napari_viewer, tmp_path, scene):
    from napari_semcolor.pipeline import colorize

    result = colorize(scene.image, "propagate", scene.hints)
    viewer = make_napari_viewer()
    layer = viewer.add_image(result.image, rgb=True, name="sem (propagate)", scale=(2.5, 2.5), units=("nm", "nm"), metadata={"semcolor": result.metadata})
    from napari_semcolor._napari.writer import write_rgb

    written = write_rgb(str(tmp_path / "out.tif"), layer.data, layer.as_layer_data_tuple()[1])
    assert written == [str(tmp_path / "out.tif"), str(tmp_path / "out.tif.json")]
    back = read_sem_tiff(tmp_path / "out.tif")
    np.testing.assert_array_equal(back.data, result.image)
    assert back.pixel_size == pytest.approx((2.5e-9, 2.5e-9))
    side = json.loads((tmp_path / "out.tif.json").read_text())
    assert side["backend"] == "propagate" and side["seed"] == 0 and len(side["hints"]) == len(scene.hints)
    assert side["pixel_size_m"] == pytest.approx([2.5e-9, 2.5e-9])
    # and the same through napari's own save machinery, choosing this plugin's writer
    viewer.layers.selection = {layer}
    saved = viewer.layers.save(str(tmp_path / "via_napari.tif"), selected=True, plugin="napari-semcolor")
    assert str(tmp_path / "via_napari.tif") in saved
    assert read_sem_tiff(tmp_path / "via_napari.tif").pixel_size == pytest.approx((2.5e-9, 2.5e-9))


def test_png_without_pixel_size_still_gets_a_sidecar(tmp_path):
    from napari_semcolor._napari.writer import write_rgb

    written = write_rgb(str(tmp_path / "x.png"), np.zeros((4, 5, 3), np.uint8), {"scale": [1, 1], "metadata": {"semcolor": {"backend": "propagate"}}})
    assert written[-1].endswith("x.png.json")
    assert json.loads((tmp_path / "x.png.json").read_text())["pixel_size_m"] is None


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_the_writer_keeps_16_bit_gray_and_rgba_without_loss(tmp_path, suffix):
    from napari_semcolor._napari.writer import write_rgb
    from napari_semcolor.files.images import read_image

    gray16 = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)  # values far above 255
    write_rgb(str(tmp_path / f"g{suffix}"), gray16, {"scale": [1, 1]})
    back = read_image(tmp_path / f"g{suffix}")
    assert back.dtype == np.uint16 and np.array_equal(back, gray16)  # not saturated to 8 bits
    rgba = np.random.default_rng(0).integers(0, 256, (8, 9, 4), dtype=np.uint8)
    write_rgb(str(tmp_path / f"c{suffix}"), rgba, {"scale": [1, 1]})
    assert np.array_equal(read_image(tmp_path / f"c{suffix}"), rgba)


@pytest.mark.parametrize("data", [np.linspace(0, 1, 20).reshape(4, 5), np.zeros((4, 5), np.int32), np.zeros((4, 5, 3), np.uint16)])
def test_the_writer_refuses_what_it_would_change_and_names_the_builtin_writer(tmp_path, data):
    from napari_semcolor._napari.writer import write_rgb
    from napari_semcolor.errors import SemcolorError

    with pytest.raises(SemcolorError, match="napari builtins"):
        write_rgb(str(tmp_path / "x.tif"), data, {"scale": [1, 1]})
    assert not (tmp_path / "x.tif").exists()


def test_a_live_preview_is_not_saved_as_if_it_were_the_result(tmp_path):
    from napari_semcolor._napari.writer import write_rgb
    from napari_semcolor.errors import SemcolorError

    meta = {"scale": [1, 1], "metadata": {"semcolor": {"backend": "propagate", "resolution": "preview"}}}
    with pytest.raises(SemcolorError, match="full-resolution result"):
        write_rgb(str(tmp_path / "p.png"), np.zeros((4, 5, 3), np.uint8), meta)
    meta["metadata"]["semcolor"]["resolution"] = "full"
    assert write_rgb(str(tmp_path / "p.png"), np.zeros((4, 5, 3), np.uint8), meta)[0].endswith("p.png")
