"""The npe2 manifest: its contributions exist, the sample opens, opening the docks imports no torch."""

PLUGIN = "napari-semcolor"

def test_sample_data_opens(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "sem")
    assert viewer.layers["SEM sample"].data.ndim == 2
    assert len(viewer.layers["SEM sample hints"].data) > 5


def test_opening_napari_with_the_docks_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, napari\n"
        "v = napari.Viewer(show=False)\n"
        "for name in ('Colourize', 'Colour hints', 'Segment'):\n"
        "    v.window.add_plugin_dock_widget('napari-semcolor', name)\n"
        "v.open_sample('napari-semcolor', 'sem')\n"
        "print('torch' in sys.modules)\n"
        "v.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_segment_widget_is_in_the_manifest():
    from pathlib import Path

    import yaml

    import napari_semcolor

    manifest = yaml.safe_load((Path(napari_semcolor.__file__).parent / "napari.yaml").read_text())
    commands = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    assert commands["napari-semcolor.segment"] == "napari_semcolor._widgets.segment:SegmentWidget"
    assert any(w["display_name"] == "Segment" for w in manifest["contributions"]["widgets"])
    assert manifest["contributions"]["menus"]["napari/layers/segment"] == [{"command": "napari-semcolor.segment"}]


def test_the_docks_are_in_napari_layers_menus(make_napari_viewer):
    """Colourize under Layers → Visualize and Colour hints under Layers → Annotate, not only under Plugins."""
    from napari._app_model import get_app_model

    make_napari_viewer()  # registers the plugin's contributions with napari's app model
    menus = get_app_model().menus
    commands = {
        menu: {getattr(item, "command", None) and item.command.id for item in menus.get_menu(menu)}
        for menu in ("napari/layers/visualize", "napari/layers/annotate")
    }
    assert "napari-semcolor.colorize" in commands["napari/layers/visualize"]
    assert "napari-semcolor.hints_widget" in commands["napari/layers/annotate"]
