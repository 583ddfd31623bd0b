"""Colourize dock: diffusion proposals as one layer, 'Keep this proposal', 'suggest colours here'."""

from types import SimpleNamespace

import numpy as np

from napari_semcolor._widgets.hints_layer import HINT_FEATURE
from napari_semcolor.pipeline import ColorizeResult

PLUGIN = "napari-semcolor"


def test_diffusion_proposals_layer_and_keep_this_proposal(docked, qtbot):
    viewer, image, points, widget = docked
    before = image.data.copy()
    widget.backend.value = "diffusion"
    widget.samples.value = 3
    widget.backend_options.controls("diffusion")["steps"].value = 4
    widget.run()
    qtbot.waitUntil(lambda: "sem (diffusion)" in viewer.layers and widget.run_button.enabled, timeout=120_000)
    proposals = viewer.layers["sem (diffusion)"]
    assert proposals.data.shape == (3, *image.data.shape, 3) and proposals.rgb
    assert not np.array_equal(proposals.data[0], proposals.data[1])  # different proposals
    np.testing.assert_allclose(proposals.scale[1:], image.scale)
    meta = proposals.metadata["semcolor"]
    assert meta["n_samples"] == 3 and meta["options"]["steps"] == 4 and meta["options"]["sampler"] == "dpmpp_2m"
    assert not widget.proposals.keep_button.native.isHidden()  # (the viewer itself is not shown in tests)
    assert not widget.proposals.suggest_label.native.isHidden()
    viewer.dims.set_current_step(0, 2)
    kept = widget.proposals.keep()
    assert kept.name == "sem (diffusion) proposal 2" and kept.data.shape == proposals.data.shape[1:]
    np.testing.assert_array_equal(kept.data, proposals.data[2])
    np.testing.assert_allclose(kept.scale, image.scale)
    assert kept.metadata["semcolor"]["proposal"] == 2
    np.testing.assert_array_equal(image.data, before)


def test_suggest_colours_follows_the_cursor_over_the_proposals(docked):
    viewer, image, points, widget = docked
    colours = [(200, 60, 40), (40, 90, 210), (60, 170, 70)]
    rgb = np.stack([np.broadcast_to(np.asarray(c, np.uint8), (*image.data.shape, 3)) for c in colours]).copy()
    rgb[1, 30, 40] = (250, 250, 0)  # one marked pixel in proposal 1
    widget._add_result(image, ColorizeResult(rgb, {"backend": "diffusion", "seconds": 0.0}))
    assert widget.proposals.on_mouse_move in viewer.mouse_move_callbacks
    assert not widget.proposals.suggest_label.native.isHidden()
    # world (y, x) of pixel (30, 40): translate + scale * index; the first axis is the sample slider
    widget.proposals.on_mouse_move(viewer, SimpleNamespace(position=(0.0, 10 + 0.5 * 30, 20 + 0.5 * 40)))
    assert widget.proposals.suggested == ["#c83c28", "#fafa00", "#3caa46"]
    assert "pixel (30, 40)" in widget.proposals.suggest_label.value and "#fafa00" in widget.proposals.suggest_label.value
    assert not widget.proposals.suggest_swatches.native.isHidden()
    assert "#fafa00" in widget.proposals.swatch_buttons[1].native.styleSheet()
    spread_here = widget.proposals.show_suggestions(30, 40).spread
    widget.proposals.on_mouse_move(viewer, SimpleNamespace(position=(0.0, 10 + 0.5 * 5, 20 + 0.5 * 5)))
    assert widget.proposals.suggested == ["#c83c28", "#285ad2", "#3caa46"]
    assert widget.proposals.show_suggestions(5, 5).spread != spread_here
    widget.proposals.on_mouse_move(viewer, SimpleNamespace(position=(0.0, -50.0, -50.0)))  # off the image
    assert "outside" in widget.proposals.suggest_label.value and widget.proposals.suggest_swatches.native.isHidden()


def test_clicking_a_suggestion_makes_it_the_hint_colour(docked):
    viewer, image, points, widget = docked
    _, hints_dock = viewer.window.add_plugin_dock_widget(PLUGIN, "Colour hints")
    hints_dock.layer.value = points
    rgb = np.stack([np.full((*image.data.shape, 3), c, np.uint8) for c in ((200, 60, 40), (40, 90, 210))])
    widget._add_result(image, ColorizeResult(rgb, {"backend": "diffusion", "seconds": 0.0}))
    widget.proposals.show_suggestions(12, 12)
    n_points = len(points.data)
    widget.proposals.swatch_buttons[1].clicked()
    assert hints_dock.color.value == "#285ad2"  # the Colour hints dock's current colour
    assert points.feature_defaults[HINT_FEATURE][0] == "#285ad2"
    assert viewer.layers.selection.active is points and points.mode == "add"
    assert len(points.data) == n_points  # the user places the hint; nothing was added by itself
    points.add(np.array([50.0, 60.0]))  # the next click
    assert points.features[HINT_FEATURE].iloc[-1] == "#285ad2"


def test_a_suggestion_without_a_hints_layer_makes_one(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((20, 20)), name="sem")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Colourize")
    assert widget.hints.value is None
    rgb = np.stack([np.full((20, 20, 3), c, np.uint8) for c in ((200, 60, 40), (40, 90, 210))])
    widget._add_result(image, ColorizeResult(rgb, {"backend": "diffusion", "seconds": 0.0}))
    assert widget.use_suggestion(0) is None and "move the cursor" in widget.status.value  # nothing read yet
    widget.proposals.show_suggestions(3, 3)
    assert widget.use_suggestion(0) == "#c83c28"
    layer = widget.hints.value
    assert layer is not None and layer.name == "sem hints" and layer.mode == "add"
    layer.add(np.array([4.0, 4.0]))
    assert list(layer.features[HINT_FEATURE]) == ["#c83c28"]


def test_a_single_result_removes_the_readout(docked):
    viewer, image, points, widget = docked
    rgb = np.full((2, *image.data.shape, 3), 128, np.uint8)
    widget._add_result(image, ColorizeResult(rgb, {"backend": "diffusion", "seconds": 0.0}))
    assert widget.proposals.on_mouse_move in viewer.mouse_move_callbacks
    widget._add_result(image, ColorizeResult(rgb[:1], {"backend": "diffusion", "seconds": 0.0}))
    assert widget.proposals.on_mouse_move not in viewer.mouse_move_callbacks
    assert widget.proposals.suggest_label.native.isHidden() and widget.proposals.keep_button.native.isHidden()


def test_proposals_of_a_stack_plane_have_their_own_slider(make_napari_viewer, qtbot, scene):
    from napari_semcolor._widgets.colorize import ColorizeWidget

    viewer = make_napari_viewer()
    stack = np.stack([scene.image, scene.image[::-1], scene.image])
    image = viewer.add_image(stack, name="zstack", scale=(3.0, 0.5, 0.5))
    widget = ColorizeWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.backend.value = "diffusion"
    widget.samples.value = 2
    widget.backend_options.controls("diffusion")["steps"].value = 2
    viewer.dims.set_current_step(0, 1)
    widget.run()
    qtbot.waitUntil(lambda: "zstack (diffusion)" in viewer.layers and widget.run_button.enabled, timeout=120_000)
    proposals = viewer.layers["zstack (diffusion)"]
    assert proposals.data.shape == (2, 1, *scene.image.shape, 3)  # sample axis, then the plane
    assert viewer.dims.ndim == 4 and tuple(viewer.dims.range[1][:2]) == (0.0, 6.0)  # z keeps its own slider
    np.testing.assert_allclose(proposals.translate[1], 3.0)  # sits at plane 1 (scale 3)
    assert viewer.dims.point[1] == 3.0  # still on plane 1
    viewer.dims.set_current_step(0, 1)  # the second proposal …
    assert viewer.dims.point[1] == 3.0  # … and z did not move
    kept = widget.proposals.keep()
    np.testing.assert_array_equal(kept.data, proposals.data[1])
    np.testing.assert_allclose(kept.translate[0], 3.0)
    widget.proposals.show_suggestions(20, 30)
    assert widget.proposals.suggest_label.value.startswith("pixel (20, 30)")
    np.testing.assert_array_equal(image.data, stack)


def test_proposal_slider_is_labelled_and_the_readout_goes_with_a_single_result_backend(docked):
    viewer, image, points, widget = docked
    rgb = np.stack([np.full((*image.data.shape, 3), c, np.uint8) for c in ((200, 60, 40), (40, 90, 210))])
    widget.backend.value = "diffusion"
    widget._add_result(image, ColorizeResult(rgb, {"backend": "diffusion", "seconds": 0.0}))
    assert viewer.dims.axis_labels[0] == "proposal"
    assert not widget.proposals.keep_button.native.isHidden()
    widget.backend.value = "propagate"  # no proposals: nothing to keep or read out
    assert widget.proposals.keep_button.native.isHidden() and widget.proposals.suggest_swatches.native.isHidden()
    assert widget.proposals.on_mouse_move not in viewer.mouse_move_callbacks
