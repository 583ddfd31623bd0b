"""The one cancel check every core step uses."""

import threading

import pytest

from napari_semcolor.errors import Cancelled, check_cancel


def test_check_cancel_raises_only_when_set():
    token = threading.Event()
    check_cancel(None)
    check_cancel(token)
    token.set()
    with pytest.raises(Cancelled, match="colourization cancelled"):
        check_cancel(token)
    with pytest.raises(Cancelled, match="segmentation cancelled"):
        check_cancel(token, "segmentation")


def test_a_damaged_png_is_said_to_be_unreadable_without_install_hints(tmp_path):
    import pytest

    from napari_semcolor.errors import SemcolorError
    from napari_semcolor.files.images import read_image

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(SemcolorError, match="not a readable PNG image") as exc:
        read_image(bad)
    assert "pip install" not in str(exc.value)
