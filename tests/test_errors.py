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
