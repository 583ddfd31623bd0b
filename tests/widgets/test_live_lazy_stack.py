"""Colourize dock, live mode on a lazy stack (dask, zarr): every read of a plane gives a new array,
yet hint edits on one plane reuse one Session; another plane or new layer data builds a new one."""

import dask.array as da
import numpy as np
import pytest
import zarr

from napari_semcolor._widgets.hints_layer import make_hints_layer, set_hint_color
from napari_semcolor.session import Session
from napari_semcolor.synthetic_volume import make_sem_volume

COLOURS = ["#e61a1a", "#1a4de6", "#20b040", "#e6b01a"]
SHAPE = (4, 160, 160)


@pytest.fixture(scope="module")
def volume():
    return make_sem_volume(SHAPE, seed=3).image


def lazy(kind: str, image: np.ndarray):
    if kind == "dask":
        return da.from_array(image, chunks=(1, *image.shape[1:]))
    z = zarr.create_array(zarr.storage.MemoryStore(), shape=image.shape, chunks=(1, *image.shape[1:]), dtype=image.dtype)
    z[:] = image
    return z


@pytest.fixture(params=["dask", "zarr"])
def lazy_dock(request, make_napari_viewer, volume, monkeypatch):
    """The dock in live mode (propagate) on a lazy 3D image at plane 1; Session constructions counted."""
    built = []
    init = Session.__init__

    def counted(session, *args, **kwargs):
        built.append(session)
        init(session, *args, **kwargs)

    monkeypatch.setattr(Session, "__init__", counted)
    viewer = make_napari_viewer()
    image = viewer.add_image(lazy(request.param, volume), name="stack")
    viewer.dims.set_current_step(0, 1)
    points = make_hints_layer(viewer, image, COLOURS[0])
    _, widget = viewer.window.add_plugin_dock_widget("napari-semcolor", "Colourize")
    widget.image.value, widget.hints.value, widget.backend.value = image, points, "propagate"
    widget.live.value = True
    return viewer, image, points, widget, built


def edit(qtbot, widget, points, k: int, plane: int) -> None:
    """Add hint number ``k`` on ``plane`` and wait for its full-resolution result."""
    set_hint_color(points, COLOURS[k % len(COLOURS)])
    points.add(np.array([plane, 40.0 + 20 * k, 60.0]))
    qtbot.waitUntil(
        lambda: widget.live_part.previews == k + 1 and not widget.live_part.busy
        and widget._output is not None and widget._output.metadata["semcolor"]["resolution"] == "full",
        timeout=30_000,
    )


def test_hint_edits_on_one_plane_of_a_lazy_stack_build_one_session(lazy_dock, volume, qtbot):
    viewer, image, points, widget, built = lazy_dock
    edit(qtbot, widget, points, 0, 1)
    edit(qtbot, widget, points, 1, 1)
    assert len(built) == 1
    assert widget.live_part.session is built[0]
    np.testing.assert_array_equal(built[0].inputs.image, volume[1])


def test_another_plane_or_new_layer_data_builds_a_new_session(lazy_dock, volume, qtbot):
    viewer, image, points, widget, built = lazy_dock
    edit(qtbot, widget, points, 0, 1)
    viewer.dims.set_current_step(0, 2)
    edit(qtbot, widget, points, 1, 2)
    assert len(built) == 2
    np.testing.assert_array_equal(built[1].inputs.image, volume[2])
    image.data = da.from_array(255 - volume, chunks=(1, *SHAPE[1:]))  # replaced: same plane, other content
    edit(qtbot, widget, points, 2, 2)
    assert len(built) == 3
    np.testing.assert_array_equal(built[2].inputs.image, 255 - volume[2])
    edit(qtbot, widget, points, 3, 2)
    assert len(built) == 3  # and kept for the next edit
