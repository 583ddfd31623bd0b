"""Per-backend controls generated from a backend's option schema."""

from pathlib import Path

import pytest
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, LineEdit, SpinBox

import napari_semcolor
from napari_semcolor._widgets.parts.backend_options import AutoFloatSpinBox, AutoSpinBox, BackendOptions, decimals_for, nice_step, option_value, option_widget
from napari_semcolor.backends import available, get_spec
from napari_semcolor.backends.spec import Option


def test_each_option_type_gets_its_control(qtbot):
    steps = option_widget("b", Option("steps", int, 10, "sampler steps", min=1, max=100))
    assert type(steps) is SpinBox and (steps.min, steps.max, steps.value) == (1, 100, 10)
    assert steps.label == "b steps" and "sampler steps" in steps.tooltip
    gain = option_widget("b", Option("gain", float, 1.0, "gain", min=0.0, max=10.0))
    assert type(gain) is FloatSpinBox and (gain.min, gain.max, gain.step, gain.value) == (0.0, 10.0, 0.5, 1.0)
    mode = option_widget("b", Option("mode", str, "fast", "mode", choices=("fast", "slow")))
    assert isinstance(mode, ComboBox) and mode.choices == ("fast", "slow") and mode.value == "fast"
    flag = option_widget("b", Option("network", bool, True, "use the network"))
    assert isinstance(flag, CheckBox) and flag.value is True
    name = option_widget("b", Option("prefix", str, "x", "a prefix"))
    assert isinstance(name, LineEdit) and option_value(name) == "x"
    small = option_widget("b", Option("temperature", float, 0.02, "read-out", min=1e-4, max=10.0))
    assert small.value == pytest.approx(0.02) and small.min == pytest.approx(1e-4)  # enough decimals for both
    assert small.step == pytest.approx(0.01)  # steps the size of the default, not of the range


def test_automatic_options_offer_auto(qtbot):
    temperature = option_widget("b", Option("temperature", float, None, "spread", min=0.0, max=2.0, auto="0.6 with hints"))
    assert isinstance(temperature, AutoFloatSpinBox)
    assert temperature.value is None and temperature.native.text() == "auto" and option_value(temperature) is None
    assert "auto: 0.6 with hints" in temperature.tooltip
    seen = []
    temperature.changed.connect(seen.append)
    temperature.value = 0.0  # the range's own bottom is a value, not "auto"
    assert temperature.value == 0.0 and seen == [0.0]
    temperature.value = 1.2
    assert temperature.value == pytest.approx(1.2) and option_value(temperature) == pytest.approx(1.2)
    temperature.value = None
    assert temperature.value is None and seen[-1] is None
    size = option_widget("b", Option("size", int, None, "size", min=8, max=1024, auto="trained size"))
    assert isinstance(size, AutoSpinBox) and size.value is None
    size.value = 8
    assert size.value == 8
    choice = option_widget("b", Option("kind", str, None, "kind", choices=("a", "b"), auto="by image"))
    assert choice.choices == ("auto", "a", "b") and option_value(choice) is None
    choice.value = "b"
    assert option_value(choice) == "b"


def test_nice_steps_and_decimals():
    assert [nice_step(0, 2), nice_step(0, 10), nice_step(0, 1), nice_step(0, 360)] == [0.1, 0.5, 0.05, 20]
    assert decimals_for(0.5, 1.0) == 2 and decimals_for(1e-4) == 4 and decimals_for(0.125) == 3


def test_controls_follow_the_chosen_backend_and_keep_their_values(qtbot):
    anchor, tail = Label(value="anchor"), Label(value="tail")
    form = Container(widgets=[anchor, tail])
    options = BackendOptions(form, after=anchor)
    options.show("diffusion")
    diffusion = options.controls()
    assert list(diffusion) == [o.name for o in get_spec("diffusion").options if not o.advanced]
    assert list(form)[1 : 1 + len(diffusion)] == list(diffusion.values()) and list(form)[-1] is tail
    spec = get_spec("diffusion")  # every shown option at its default; "auto" (None) ones are left to the backend
    assert options.values() == {o.name: o.default for o in spec.options if not o.advanced and o.default is not None}
    diffusion["steps"].value = 4
    options.show("nst")
    assert all(w.native.isHidden() for w in diffusion.values())
    assert options.values() == {"same_gray": get_spec("nst").option("same_gray").default}
    assert list(form)[-1] is tail  # the new controls go right after the earlier ones
    options.show("propagate")
    assert options.controls() == {} and options.values() == {}
    options.show("diffusion")
    assert options.values()["steps"] == 4 and not diffusion["steps"].native.isHidden()
    for name in available():  # every registered backend's values pass its own validation
        spec = get_spec(name)
        assert set(spec.validate_options(options.values(name))) == {o.name for o in spec.options}


def test_no_backend_is_named_in_the_widgets():
    widgets = Path(napari_semcolor.__file__).parent / "_widgets"
    for path in widgets.rglob("*.py"):
        text = path.read_text()
        for name in ("propagate", "eecnn", "nst", "diffusion"):
            assert f'"{name}"' not in text and f"'{name}'" not in text and f"backends.{name}" not in text, (path.name, name)
