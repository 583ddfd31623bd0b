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
