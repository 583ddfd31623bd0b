"""Exceptions raised by napari-semcolor; messages always say what to do."""


class SemcolorError(ValueError):
    """Bad input or an unusable resource, with a message that tells the user what to do."""


class Cancelled(Exception):
    """Raised inside a run when its cancel token is set; nothing has been written."""
