"""Colour-hint layers: a Points layer whose new points take the current hint colour.

The colour a hint *means* is stored in the layer's ``hint`` feature (``#rrggbb``); the face
colour only shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import ComboBox, Container, FileEdit, PushButton, SpinBox, create_widget

from napari_semcolor._napari.calibration import calibrate, follow_new_layers
from napari_semcolor._napari.layers import HINT_FEATURE, hints_from_layer, hints_layer_for, spatial_kwargs
from napari_semcolor._widgets.common import compact_selectors, natural_height
from napari_semcolor._widgets.parts.colour_field import ColourField
from napari_semcolor._widgets.parts.settings import DockSettings
from napari_semcolor.color import parse_color, to_hex
from napari_semcolor.errors import SemcolorError

if TYPE_CHECKING:
    import napari

DEFAULT_COLOR = "#e0703a"
#: a small palette of distinct colours; "gray" is the keep-neutral hint
PALETTE = {
    "orange": "#e0703a",
    "blue": "#3f8ce6",
    "green": "#4cbf59",
    "magenta": "#cc4fa6",
    "yellow": "#f2cc33",
    "teal": "#33bfbf",
    "red": "#d93b3b",
    "purple": "#8c5ad9",
    "gray (keep neutral)": "#808080",
}


def _hex(color) -> str:
    return to_hex(parse_color(color))


def make_hints_layer(viewer: napari.viewer.Viewer, image=None, color: str = DEFAULT_COLOR, size: int = 5):
    """Add an empty colour-hints Points layer over ``image`` and ready to click into.

    It takes the image's scale, translate and units, and names the image in its metadata
    (``semcolor_image``), so the Colourize dock picks it for that image.
    """
    color = _hex(color)
    kwargs = {"name": "colour hints", "ndim": 2}
    if image is not None:
        calibrate(image, viewer)  # the SEM pixel size first: the hints are drawn in its units
        kwargs.update(name=f"{image.name} hints", ndim=image.ndim, metadata={"semcolor_image": image.name}, **spatial_kwargs(image))
    layer = viewer.add_points(size=size, face_color=color, border_color="white", features={HINT_FEATURE: [], "hint_size": []}, **kwargs)
    set_hint_color(layer, color, size)
    layer.mode = "add"
    return layer


def set_hint_color(layer, color, size: int | None = None) -> None:
    """Make the next points added to ``layer`` carry ``color`` (and ``size``), and show it."""
    color = _hex(color)
    layer.feature_defaults[HINT_FEATURE] = color
    layer.current_face_color = color
    if size is not None:
        layer.feature_defaults["hint_size"] = size
        layer.current_size = size


def hint_docks(viewer) -> list:
    """The Colour hints dock widgets open in ``viewer``'s window."""
    window = getattr(viewer, "window", None)
    docks = getattr(window, "dock_widgets", {}) if window is not None else {}
    return [w for w in docks.values() if isinstance(w, HintsWidget)]


def new_hints_layer(viewer: napari.viewer.Viewer) -> None:
    """Menu command: a hints layer for the selected image (or the topmost gray image)."""
    make_hints_layer(viewer, default_image(viewer))


def default_image(viewer):
    """The image a new hints layer is for: the selected image layer, else the topmost gray image."""
    from napari.layers import Image

    active = viewer.layers.selection.active
    if isinstance(active, Image):
        return active
    images = [layer for layer in viewer.layers if isinstance(layer, Image)]
    gray = [layer for layer in images if not layer.rgb]
    return (gray or images or [None])[-1]


class HintsWidget(Container):
    """Dock widget: pick a colour (or gray = keep neutral) and a size, create or recolour hints."""

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        from napari.layers import Image, Points

        super().__init__(labels=True)
        self.viewer = napari_viewer
        follow_new_layers(napari_viewer)  # SEM pixel sizes from the files napari opened
        # choices from the viewer itself (not only once docked), so it starts at the right image
        self.image = ComboBox(choices=self._image_choices, nullable=True, label="image")
        self.palette = ComboBox(choices=list(PALETTE), value="orange", label="palette")
        self.color = ColourField(value=DEFAULT_COLOR, label="hint colour")
        self.size = SpinBox(value=5, min=1, max=99, label="hint size (px)")
        self.create = PushButton(text="New hints layer")
        self.layer = create_widget(annotation=Points | None, label="hints layer", options={"nullable": True})
        self.pick_from = create_widget(annotation=Image | None, label="eyedropper source", options={"nullable": True})
        self.eyedropper = PushButton(text="Pick hint colour from a click")
        self.save_path = FileEdit(mode="w", filter="*.csv", label="save hints to")
        self.save_button = PushButton(text="Save hints")
        self.csv_path = FileEdit(mode="r", filter="*.csv", label="load hints from")
        self.load_button = PushButton(text="Load hints")
        self.extend(
            [
                self.image, self.palette, self.color, self.size, self.create, self.layer,
                self.pick_from, self.eyedropper, self.save_path, self.save_button, self.csv_path, self.load_button,
            ]
        )
        compact_selectors(self)
        self._follow_image()
        self.create.changed.connect(self._create)
        self.save_button.changed.connect(self.save_csv)
        self.eyedropper.changed.connect(self.arm_eyedropper)
        self.load_button.changed.connect(self.load_csv)
        self.palette.changed.connect(lambda name: setattr(self.color, "value", PALETTE[name]))
        self.color.changed.connect(self._apply)
        self.size.changed.connect(self._apply)
        self.image.changed.connect(self._on_image)
        self.settings = DockSettings("hints")
        self.settings.track({"palette": self.palette, "color": self.color, "size": self.size})  # in this order
        self.restore_button = self.settings.button()
        self.append(self.restore_button)
        natural_height(self)

    def _image_choices(self, _widget=None) -> list:
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    def reset_choices(self, *_) -> None:
        """Refresh the layer lists (napari calls this when layers change), then follow the image."""
        super().reset_choices()
        self._follow_image()

    def _follow_image(self) -> None:
        """No image chosen yet: take the selected (or only) one, so a new hints layer is bound."""
        if self.image.value is None:
            image = default_image(self.viewer)
            if image is not None and image in [value for _, value in self._image_choices()]:
                self.image.value = image

    def _on_image(self, *_) -> None:
        """Show the chosen image's hints layer (if it has one) as the layer to edit."""
        found = hints_layer_for(self.image.value, self.viewer.layers)
        if found is not None:
            self.layer.reset_choices()
            if found in self.layer.choices:
                self.layer.value = found

    def _create(self):
        layer = make_hints_layer(self.viewer, self.image.value, self._color_hex(), int(self.size.value))
        self.reset_choices()
        self.layer.value = layer
        return layer

    def _color_hex(self) -> str:
        return _hex(self.color.value)

    def _apply(self, *_):
        if self.layer.value is None:
            return
        try:
            set_hint_color(self.layer.value, self._color_hex(), int(self.size.value))
        except SemcolorError:  # half-typed colour: wait for a valid one
            pass

    def arm_eyedropper(self, *_) -> None:
        """The next click on the canvas takes its colour from the eyedropper source layer."""
        if self.pick_from.value is None:
            return _error("choose an RGB (or gray) image layer to take the colour from")
        if self._pick not in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.append(self._pick)
        _info("click on the image to take its colour")

    def _pick(self, viewer, event) -> None:
        viewer.mouse_drag_callbacks.remove(self._pick)
        layer = self.pick_from.value
        value = layer.get_value(event.position, world=True) if layer is not None else None
        if value is None:
            return _error("that click was outside the eyedropper source layer")
        rgb = np.atleast_1d(np.asarray(value, np.float64))
        rgb = np.repeat(rgb, 3) if rgb.size == 1 else rgb[:3]
        if layer.data.dtype.kind in "ui" and rgb.max() > 1:
            rgb = rgb / (255 if layer.data.dtype.itemsize == 1 else np.iinfo(layer.data.dtype).max)
        elif layer.data.dtype.kind == "f" and not layer.rgb:  # a gray float layer: use its contrast limits
            lo, hi = layer.contrast_limits
            rgb = np.clip((rgb - lo) / max(hi - lo, 1e-12), 0, 1)
        self.color.value = _hex(tuple(np.clip(rgb, 0, 1)))

    def save_csv(self, *_) -> None:
        """Write the chosen hints layer as a CSV (the ``semcolor colorize --hints`` format)."""
        from napari_semcolor.hints import write_csv

        layer = self.layer.value
        if layer is None:
            return _error("choose a hints layer to save")
        write_csv(hints_from_layer(layer, (), self.image.value), self.save_path.value)
        _info(f"saved {len(layer.data)} hints to {self.save_path.value}")

    def load_csv(self, *_):
        """Read hints from the CSV into a new hints layer aligned with the chosen image."""
        from napari_semcolor.hints import read_csv, to_points

        try:
            hints = read_csv(self.csv_path.value)
        except SemcolorError as exc:
            return _error(str(exc))
        layer = self._create()
        coords, sizes, colors = to_points(hints)
        layer.add(coords)  # new points take the defaults; their real colours follow
        layer.features[HINT_FEATURE] = colors
        layer.face_color = colors
        layer.size = sizes
        layer.refresh()
        return layer


def _error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(f"semcolor: {message}")


def _info(message: str) -> None:
    from napari.utils.notifications import show_info

    show_info(f"semcolor: {message}")
