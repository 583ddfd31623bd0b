"""Dock settings survive a napari restart (a new dock), Restore defaults resets them, and a
damaged settings file is passed over with a warning."""

import json

import pytest

from napari_semcolor._widgets.parts.settings import CONFIG_DIR_ENV, RESTORE_TEXT, settings_file


def _dock(viewer, name):
    return viewer.window.add_plugin_dock_widget("napari-semcolor", name)[1]


def _other_backend(dock):
    return next(name for name in dock.backend.choices if name != dock.backend.value)


def test_the_settings_file_is_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "conf"))
    assert settings_file() == tmp_path / "conf" / "settings.json"


def test_colourize_settings_come_back_in_a_new_dock_and_restore_defaults_resets(make_napari_viewer):
    viewer = make_napari_viewer()
    dock = _dock(viewer, "Colourize")
    default_backend, chosen = dock.backend.value, _other_backend(dock)
    dock.backend.value = "diffusion"
    options = dock.backend_options.controls("diffusion")
    options["steps"].value = options["steps"].max
    options["temperature"].value = 0.5  # an "auto" option given a value
    options["sampler"].value = "ddim"
    dock.backend.value = chosen
    dock.same_gray.value, dock.databar_gray.value, dock.seed.value = 0.4, False, 7
    saved = json.loads(settings_file().read_text())["colorize"]
    assert saved["backend"] == chosen and saved["options.diffusion.steps"] == 100 and saved["options.diffusion.sampler"] == "ddim"

    again = _dock(make_napari_viewer(), "Colourize")  # as after a restart
    assert again.backend.value == chosen
    assert (again.same_gray.value, again.databar_gray.value, again.seed.value) == (pytest.approx(0.4), False, 7)
    restored = again.backend_options.controls("diffusion")  # made later, still restored
    assert (restored["steps"].value, restored["temperature"].value, restored["sampler"].value) == (100, pytest.approx(0.5), "ddim")
    assert again.restore_button.text == RESTORE_TEXT
    again.restore_button.clicked.emit(True)
    assert again.backend.value == default_backend and again.databar_gray.value is True and again.seed.value == 0
    assert (restored["steps"].value, restored["temperature"].value, restored["sampler"].value) == (10, None, "dpmpp_2m")
    assert "colorize" not in json.loads(settings_file().read_text())
    assert _dock(make_napari_viewer(), "Colourize").backend.value == default_backend


def test_hints_and_segment_settings_come_back(make_napari_viewer):
    viewer = make_napari_viewer()
    hints, segment = _dock(viewer, "Colour hints"), _dock(viewer, "Segment")
    hints.palette.value = "blue"
    hints.color.value = "#123456"  # a colour of one's own after picking a palette
    hints.size.value = 11
    segment.method.value = "local"
    segment.params["block_size"].value = 51
    segment.databar.value = False
    viewer2 = make_napari_viewer()
    hints2, segment2 = _dock(viewer2, "Colour hints"), _dock(viewer2, "Segment")
    assert (hints2.palette.value, hints2.color.value, hints2.size.value) == ("blue", "#123456", 11)
    assert (segment2.method.value, segment2.params["block_size"].value, segment2.databar.value) == ("local", 51, False)
    assert not segment2.params["block_size"].native.isHidden() and segment2.params["classes"].native.isHidden()  # the method's own
    segment2.restore_button.clicked.emit(True)
    hints2.restore_button.clicked.emit(True)
    assert (segment2.method.value, segment2.databar.value, hints2.size.value) == ("otsu", True, 5)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"colorize": 3}', b"\xff\xfe\x00"])
def test_a_damaged_settings_file_is_passed_over_with_a_warning(make_napari_viewer, content):
    settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings_file().write_bytes(content)
    with pytest.warns(UserWarning, match="ignoring the settings"):
        dock = _dock(make_napari_viewer(), "Colourize")
    assert dock.backend.value == dock.backend.choices[0]
    dock.seed.value = 3  # and saving replaces the damaged file with a good one
    assert json.loads(settings_file().read_text())["colorize"]["seed"] == 3


def test_a_saved_value_a_control_no_longer_takes_is_passed_over(make_napari_viewer):
    settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings_file().write_text(json.dumps({"colorize": {"backend": "uninstalled-backend", "seed": 9}}))
    with pytest.warns(UserWarning, match="uninstalled-backend"):
        dock = _dock(make_napari_viewer(), "Colourize")
    assert dock.backend.value == dock.backend.choices[0] and dock.seed.value == 9
