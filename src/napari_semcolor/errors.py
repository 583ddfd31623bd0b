"""Exceptions raised by napari-semcolor; messages always say what to do."""


class SemcolorError(ValueError):
    """Bad input or an unusable resource, with a message that tells the user what to do."""


class Cancelled(Exception):
    """Raised inside a run when its cancel token is set; nothing has been written."""


def check_cancel(cancel, task: str = "colourization") -> None:
    """Raise :class:`Cancelled` if the caller asked to stop.

    Parameters
    ----------
    cancel : threading.Event-like or None
        Anything with ``is_set() -> bool``; None never cancels.
    task : str
        What is cancelled, for the message (``"<task> cancelled"``).

    Raises
    ------
    Cancelled
        ``cancel`` is set.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{task} cancelled")
