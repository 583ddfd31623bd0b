"""One debouncer for the docks: call a function once, shortly after the last of a burst of triggers."""

from __future__ import annotations

from collections.abc import Callable


class Debouncer:
    """Call ``fn()`` once, ``delay_ms`` after the last :meth:`trigger` (a single-shot QTimer).

    Used by the Colourize dock's live mode (re-run after hint edits) and the Segment dock's live
    preview (re-run after parameter changes): each trigger restarts the timer, so a burst of
    edits runs ``fn`` once.

    Parameters
    ----------
    fn : callable
        Called with no arguments, in the GUI thread.
    delay_ms : int
        Quiet time after the last trigger, in milliseconds.
    parent : QObject, optional
        The dock's Qt widget: the timer goes with it, so a call still pending when the dock is
        closed never runs against its deleted controls.
    """

    def __init__(self, fn: Callable[[], object], delay_ms: int, parent=None):
        self._fn = fn
        self._parent = parent
        self.delay_ms = int(delay_ms)
        self._timer = None  # made on first use: the dock may be built before it is shown

    def trigger(self) -> None:
        """(Re)start the wait: ``fn`` runs ``delay_ms`` from now unless triggered again."""
        if self._timer is None:
            from qtpy.QtCore import QTimer

            self._timer = QTimer(self._parent)
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self._fire)
        self._timer.start(self.delay_ms)

    def cancel(self) -> None:
        """Forget a pending call."""
        if self._timer is not None:
            self._timer.stop()

    @property
    def pending(self) -> bool:
        """True while a call is waiting to happen."""
        return self._timer is not None and self._timer.isActive()

    def _fire(self) -> None:
        self._fn()
