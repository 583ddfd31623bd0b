"""TIFFs open through napari's GUI path with no reader choice; SEM calibration reaches the layer.

The plugin has no reader (one for *.tif would make napari ask which reader to use for every
TIFF). The pixel size and data bar are read from ``layer.source.path`` by the docks (when they
open, and for each image added while one is open), by the writer, and by the menu command.
"""

import json

import numpy as np
import pytest
import tifffile

from napari_semcolor.synthetic import make_sem

FEI = "[Scan]\nPixelWidth=2.5e-09\nPixelHeight=2.5e-09\n[PrivateFei]\nDatabarHeight={bar}\n"


@pytest.fixture
def tiffs(tmp_path):
    """A plain TIFF and an FEI TIFF (metadata tag 34682) of the same micrograph with a data bar."""
    sem = make_sem((200, 240), "particles", seed=3, databar=True)
    bar = int((sem.labels == -1).any(axis=1).sum())
    tifffile.imwrite(tmp_path / "plain.tif", sem.image)
    tifffile.imwrite(tmp_path / "fei.tif", sem.image, extratags=[(34682, "s", 0, FEI.format(bar=bar), True)])
    return tmp_path / "plain.tif", tmp_path / "fei.tif", sem.image.shape[0] - bar


@pytest.fixture
def gui_open(make_napari_viewer, monkeypatch):
    """A viewer and File → Open / drag-and-drop's call; a reader-choice dialog fails the test."""
    import napari._qt.qt_viewer as qt_viewer

    def no_dialog(*args, **kwargs):
        raise AssertionError(f"napari asked which reader to use: {kwargs.get('error') or args[3:]}")

    monkeypatch.setattr(qt_viewer, "handle_gui_reading", no_dialog)
    viewer = make_napari_viewer()

    def open_(path):
        before = len(viewer.layers)
        viewer.window._qt_viewer._qt_open([str(path)], stack=False)
        assert len(viewer.layers) == before + 1
        return viewer.layers[-1]

    return viewer, open_


def test_only_napari_reads_tiffs(tiffs, make_napari_viewer):
    import npe2
    from napari.plugins import _npe2

    make_napari_viewer()
    assert "napari-semcolor" in npe2.PluginManager.instance()._manifests  # installed, yet not asked
    for path in tiffs[:2]:
        assert list(_npe2.get_readers(str(path))) == ["napari"]  # one reader: nothing to choose


def test_gui_open_then_a_dock_gives_the_fei_tiff_its_pixel_size(tiffs, gui_open):
    plain_path, fei_path, bar_row = tiffs
    viewer, open_ = gui_open
    plain, fei = open_(plain_path), open_(fei_path)
    assert tuple(fei.scale) == (1, 1) and "sem" not in fei.metadata  # napari's reader knows nothing of SEM
    viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")  # first use: the dock opens
    assert tuple(fei.scale) == pytest.approx((2.5, 2.5))
    assert [str(u) for u in fei.units] == ["nanometer", "nanometer"]
    sem = fei.metadata["sem"]
    assert sem["scale"] == "from file" and sem["file"] == str(fei_path) and sem["pixel_size_source"] == "fei"
    assert sem["databar_row"] == bar_row and sem["pixel_size_m"] == pytest.approx([2.5e-9, 2.5e-9])
    assert tuple(plain.scale) == (1, 1) and "sem" not in plain.metadata  # no calibration in it


def test_an_image_opened_while_a_dock_is_open_is_calibrated_at_once(tiffs, gui_open):
    viewer, open_ = gui_open
    viewer.window.add_plugin_dock_widget("napari-semcolor", "Segment")
    fei = open_(tiffs[1])
    assert tuple(fei.scale) == pytest.approx((2.5, 2.5)) and fei.metadata["sem"]["scale"] == "from file"


def test_a_scale_of_the_users_own_is_kept_and_said(tiffs, make_napari_viewer):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(tiffs[1], scale=(3.0, 3.0))
    viewer.window.add_plugin_dock_widget("napari-semcolor", "Colour hints")
    assert tuple(layer.scale) == (3.0, 3.0)
    assert layer.metadata["sem"]["scale"].startswith("kept")
    assert layer.metadata["sem"]["pixel_size_m"] == pytest.approx([2.5e-9, 2.5e-9])  # still known


def test_hints_drawn_before_the_calibration_stay_on_their_pixels(tiffs, make_napari_viewer):
    viewer = make_napari_viewer()
    (image,) = viewer.open(tiffs[1])
    hints = viewer.add_points([[50.0, 60.0]], name=f"{image.name} hints")
    _, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    assert tuple(hints.scale) == tuple(image.scale) == pytest.approx((2.5, 2.5))
    np.testing.assert_allclose(image.world_to_data(hints.data_to_world(hints.data[0])), [50, 60])


def test_layers_drawn_with_napari_tools_before_the_calibration_stay_on_their_pixels(tiffs, make_napari_viewer):
    viewer = make_napari_viewer()
    (image,) = viewer.open(tiffs[1])
    h, w = image.data.shape
    points = viewer.add_points([[50.0, 60.0], [h - 1.0, w - 1.0]])  # napari's own "Points" layer
    shapes = viewer.add_shapes([np.array([[10.0, 10.0], [10.0, 40.0], [30.0, 40.0]])], shape_type="polygon")
    painted = viewer.add_labels(np.zeros((h, w), np.int32))
    elsewhere = viewer.add_points([[50.0, w + 100.0]], name="beyond the image")
    other_size = viewer.add_labels(np.zeros((h // 2, w), np.int32), name="another plane")
    placed = viewer.add_points([[5.0, 5.0]], scale=(4.0, 4.0), name="a scale of its own")
    viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    assert tuple(image.scale) == pytest.approx((2.5, 2.5))
    for layer in (points, shapes, painted):
        assert tuple(layer.scale) == pytest.approx((2.5, 2.5)), layer.name
    np.testing.assert_allclose(image.world_to_data(points.data_to_world(points.data[0])), [50, 60])
    assert tuple(elsewhere.scale) == tuple(other_size.scale) == (1, 1)
    assert tuple(placed.scale) == (4, 4)


def test_the_segment_dock_leaves_out_the_data_bar_the_file_states(tiffs, gui_open, qtbot):
    viewer, open_ = gui_open
    fei = open_(tiffs[1])
    _, dock = viewer.window.add_plugin_dock_widget("napari-semcolor", "Segment")
    dock.image.value = fei
    dock.run()
    qtbot.waitUntil(lambda: not dock.runner.running, timeout=30_000)
    out = viewer.layers[f"{fei.name} regions (otsu)"]
    assert out.metadata["semcolor"]["databar_row"] == tiffs[2]
    assert tuple(out.scale) == pytest.approx((2.5, 2.5))


def test_the_menu_command_applies_the_file_pixel_size_to_the_selected_layers(tiffs, make_napari_viewer):
    from napari._app_model import get_app_model

    from napari_semcolor._napari.calibration import apply_sem_pixel_size

    viewer = make_napari_viewer()
    menu = get_app_model().menus.get_menu("napari/layers/metadata")
    assert "napari-semcolor.apply_sem_pixel_size" in {getattr(item, "command", None) and item.command.id for item in menu}
    (fei,) = viewer.open(tiffs[1], scale=(3.0, 3.0))  # a scale the automatic calibration keeps
    (plain,) = viewer.open(tiffs[0])
    drawn = viewer.add_image(np.zeros((10, 10), np.uint8), name="drawn")
    viewer.layers.selection = {fei, plain, drawn}
    lines = apply_sem_pixel_size(viewer)
    assert tuple(fei.scale) == pytest.approx((2.5, 2.5)) and fei.metadata["sem"]["scale"] == "from file"
    assert any(line.startswith("fei: pixel size 2.5 × 2.5 nm") for line in lines)
    assert tuple(plain.scale) == (1, 1) and any(line.startswith("plain: not opened from a TIFF with a pixel size") for line in lines)
    assert any(line.startswith("drawn: not opened") for line in lines)
    viewer.layers.selection = set()
    assert "select one or more image layers" in apply_sem_pixel_size(viewer)[0]
    # and through napari's app model, as the menu runs it (the viewer injected)
    viewer.layers.selection = {fei}
    get_app_model().commands.execute_command("napari-semcolor.apply_sem_pixel_size").result()


def test_the_writer_takes_the_pixel_size_from_the_layers_file(tiffs, gui_open, tmp_path):
    from napari_semcolor.files.sem_tiff import read_sem_tiff

    viewer, open_ = gui_open
    fei = open_(tiffs[1])  # no dock opened: the layer has no calibration yet
    viewer.layers.selection = {fei}
    viewer.layers.save(str(tmp_path / "saved.tif"), selected=True, plugin="napari-semcolor")
    assert read_sem_tiff(tmp_path / "saved.tif").pixel_size == pytest.approx((2.5e-9, 2.5e-9))
    assert json.loads((tmp_path / "saved.tif.json").read_text())["pixel_size_m"] == pytest.approx([2.5e-9, 2.5e-9])


def test_a_calibration_is_read_once_per_file_version(tiffs, make_napari_viewer):
    from napari_semcolor._napari import calibration

    calibration.clear_cache()
    viewer = make_napari_viewer()
    layers = [viewer.open(tiffs[1])[0] for _ in range(3)]
    for layer in layers:
        assert calibration.file_calibration(layer)["pixel_size_m"] == pytest.approx([2.5e-9, 2.5e-9])
    assert calibration._read.cache_info().misses == 1
