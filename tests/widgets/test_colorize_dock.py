"""Widget tests: the real plugin docked in a real (Xvfb) napari viewer."""

import numpy as np

from napari_semcolor._widgets.hints_layer import HINT_FEATURE
from napari_semcolor.color import image_to_lab
from napari_semcolor.hints import to_points

PLUGIN = "napari-semcolor"


def dock(viewer, name="Colourize"):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def test_run_adds_rgb_layer_and_keeps_source(viewer_with_scene, qtbot, scene):
    viewer, image, points = viewer_with_scene
    before = image.data.copy()
    widget = dock(viewer)
    assert widget.image.value is image
    widget.hints.value = points
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate)" in viewer.layers, timeout=30_000)
    out = viewer.layers["sem (propagate)"]
    assert out.rgb and out.data.shape == (*scene.image.shape, 3)
    np.testing.assert_allclose(out.scale, image.scale)
    np.testing.assert_allclose(out.translate, image.translate)
    assert out.metadata["semcolor"]["backend"] == "propagate"
    assert len(out.metadata["semcolor"]["hints"]) == len(scene.hints)
    np.testing.assert_array_equal(image.data, before)
    assert np.mean(scene.region_errors(out.data) < 10) >= 0.9  # colours landed where the hints are
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)


def test_rerun_updates_the_same_layer(viewer_with_scene, qtbot):
    viewer, image, points = viewer_with_scene
    widget = dock(viewer)
    widget.hints.value = points
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate)" in viewer.layers, timeout=30_000)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)
    first = viewer.layers["sem (propagate)"].data.copy()
    n_layers = len(viewer.layers)
    points.features[HINT_FEATURE] = ["#808080"] * len(points.data)  # all hints gray now
    widget.run()
    qtbot.waitUntil(lambda: not np.array_equal(viewer.layers["sem (propagate)"].data, first), timeout=30_000)
    assert len(viewer.layers) == n_layers
    chroma = np.hypot(*np.moveaxis(image_to_lab(viewer.layers["sem (propagate)"].data)[..., 1:], -1, 0))
    assert chroma.max() < 3


def test_cancelled_run_leaves_the_viewer_as_it_was(viewer_with_scene, qtbot, monkeypatch):
    from napari_semcolor.backends.propagate import PropagateBackend

    viewer, image, points = viewer_with_scene
    started = []

    def slow_colorize(self, job):  # a backend that works until it is told to stop
        started.append(True)
        while True:
            job.check_cancel()

    monkeypatch.setattr(PropagateBackend, "colorize", slow_colorize)
    widget = dock(viewer)
    widget.hints.value = points
    names = [layer.name for layer in viewer.layers]
    before = image.data.copy()
    widget.run()
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    assert widget.cancel_button.enabled and not widget.run_button.enabled
    widget.cancel_button.clicked()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)
    assert widget.status.value == "cancelled"
    assert [layer.name for layer in viewer.layers] == names
    np.testing.assert_array_equal(image.data, before)


def test_bad_input_shows_a_message_and_adds_nothing(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    img = np.ones((32, 32))
    img[3, 3] = np.nan
    viewer.add_image(img, name="broken")
    viewer.add_points(np.array([[100.0, 100.0]]), name="far", face_color="red")
    widget = dock(viewer)
    widget.hints.value = viewer.layers["far"]
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled and widget.status.value != "", timeout=30_000)
    assert "NaN" in widget.status.value or "outside" in widget.status.value
    assert [layer.name for layer in viewer.layers] == ["broken", "far"]


def test_data_bar_is_kept_gray_by_default(make_napari_viewer, qtbot):
    from napari_semcolor.sample import demo_hints, sem_sample

    image, labels = sem_sample()
    viewer = make_napari_viewer()
    viewer.add_image(image, name="bar")
    from napari_semcolor.hints import Hint

    bar_row = int(np.argmax((labels == -1).any(axis=1)))
    coords, sizes, colors = to_points([*demo_hints(), Hint(bar_row + 2, 100, (1.0, 0.0, 0.0), 3)])  # a red hint on the bar
    viewer.add_points(coords, name="hints", size=sizes, features={HINT_FEATURE: colors})
    widget = dock(viewer)
    widget.hints.value = viewer.layers["hints"]
    widget.same_gray.value = 0.2
    assert widget.databar_gray.value
    widget.run()
    qtbot.waitUntil(lambda: "bar (propagate)" in viewer.layers, timeout=30_000)
    out = viewer.layers["bar (propagate)"]
    ab = image_to_lab(out.data)[..., 1:]
    assert np.abs(ab[labels == -1]).max() < 1.5
    assert out.metadata["semcolor"]["same_gray"] == 0.2 and out.metadata["semcolor"]["keep_gray_pixels"] == int((labels == -1).sum())
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)


def test_stack_current_plane_and_all_planes(make_napari_viewer, qtbot, scene):
    viewer = make_napari_viewer()
    stack = np.stack([scene.image, scene.image[::-1]])
    image = viewer.add_image(stack, name="zstack", scale=(3.0, 0.5, 0.5))
    red = "#e61a1a"
    points = viewer.add_points(np.array([[1, 30.0, 30.0], [0, 60.0, 60.0]]), name="h", size=5, features={HINT_FEATURE: [red, "#1a33e6"]}, scale=(3.0, 0.5, 0.5))
    widget = dock(viewer)
    widget.hints.value = points
    viewer.dims.set_current_step(0, 1)
    widget.run()
    qtbot.waitUntil(lambda: "zstack (propagate)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    one = viewer.layers["zstack (propagate)"]
    assert one.data.shape == (*scene.image.shape, 3)  # the current plane only
    lab = image_to_lab(one.data)
    assert lab[30, 30, 1] > 10  # plane 1 got its red hint, not plane 0's blue one
    widget.planes.value = "all planes"
    widget.run()
    qtbot.waitUntil(lambda: viewer.layers["zstack (propagate)"].data.shape == (*stack.shape, 3) and widget.run_button.enabled, timeout=60_000)
    out = viewer.layers["zstack (propagate)"]
    np.testing.assert_allclose(out.scale, image.scale)
    assert out.metadata["semcolor"]["planes"] == 2
    np.testing.assert_array_equal(image.data, stack)


def test_live_mode_reruns_when_a_hint_is_added(viewer_with_scene, qtbot):
    viewer, image, points = viewer_with_scene
    widget = dock(viewer)
    widget.hints.value = points
    points.features[HINT_FEATURE] = ["#808080"] * len(points.data)  # start all gray: a gray result
    widget.run()
    qtbot.waitUntil(lambda: "sem (propagate)" in viewer.layers and widget.run_button.enabled, timeout=30_000)
    gray = viewer.layers["sem (propagate)"].data.copy()
    assert np.abs(image_to_lab(gray)[..., 1:]).max() < 3
    widget.live.value = True
    points.feature_defaults[HINT_FEATURE] = "#e61a1a"
    points.add(np.array([40.0, 40.0]))  # data coordinates, shared with the image: a red hint at pixel (40, 40)
    qtbot.waitUntil(lambda: not np.array_equal(viewer.layers["sem (propagate)"].data, gray), timeout=30_000)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=30_000)
    assert image_to_lab(viewer.layers["sem (propagate)"].data)[40, 40, 1] > 10
    widget.live.value = False
    assert widget._live_layer is None
