"""A backend registered from outside the package shows up in the Colourize dock with its own controls."""

import numpy as np
import pytest
from toy_backend import flat_ab  # tests/toy_backend.py

from napari_semcolor import backends
from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.synthetic import make_sem

PLUGIN = "napari-semcolor"


@pytest.fixture
def toy():
    backends.register("toy", "toy_backend:ToyBackend")  # tests/ is on sys.path (tests/conftest.py)
    yield "toy"
    backends.unregister("toy")


def test_a_registered_backend_gets_generated_controls_and_runs(toy, make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    gray = make_sem((96, 128), "particles", seed=5, n_objects=6).image
    image = viewer.add_image(gray, name="sem", scale=(0.5, 0.5))
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    assert "toy" in widget.backend.choices
    widget.backend.value = "toy"
    controls = widget.backend_options.controls()
    assert set(controls) == {"hue", "chroma"}  # one control per option of the toy's spec
    hue = controls["hue"]
    assert not hue.native.isHidden() and hue.label == "toy hue"
    assert (hue.min, hue.max, hue.value) == (0.0, 360.0, 30.0)  # range and default from the spec
    for other in ("propagate", "diffusion"):  # none of the other backends' controls
        assert all(w.native.isHidden() for w in widget.backend_options.controls(other).values())
    hue.value = 250.0
    assert widget._collect()["options"] == {"hue": 250.0, "chroma": 40.0}
    widget.run()
    qtbot.waitUntil(lambda: "sem (toy)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    out = viewer.layers["sem (toy)"]
    assert out.metadata["semcolor"]["options"] == {"hue": 250.0, "chroma": 40.0}
    np.testing.assert_allclose(out.scale, image.scale)
    lab = image_to_lab(out.data)
    assert np.abs(lab[..., 0] - to_lightness(gray)).max() <= 1.0  # L* kept
    mid = (lab[..., 0] > 30) & (lab[..., 0] < 70)  # where the gamut leaves the chroma alone
    a, b = np.median(lab[mid, 1]), np.median(lab[mid, 2])
    assert abs(np.degrees(np.arctan2(b, a)) % 360 - 250.0) < 3  # the hue the option says
    expected = compose(to_lightness(gray), np.broadcast_to(flat_ab(250.0, 40.0), (*gray.shape, 2)))
    assert np.abs(out.data.astype(int) - expected).max() <= 2  # that flat colour, gamut-mapped at each pixel's L*
    assert widget.status.value.startswith("done")
