"""Run / Cancel / progress for long work, shared by the Colourize and Segment docks.

The work runs in a napari ``thread_worker`` wrapped around
:func:`napari_semcolor.progress.run_with_progress`: the core's progress reports arrive as the
worker's ``yielded`` signal (no timer polls a shared value, no Qt object is touched from a
worker thread), the result as ``returned``, a failure or a cancellation as ``errored``. Cancel
sets the token the core checks between steps.

Each run carries its own state, and its outcome is final: once the result, the error or
"cancelled" is on the status line, no late progress report of that run (nor of an earlier
one) can overwrite it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magicgui.widgets import Label, PushButton

from napari_semcolor._widgets.common import error_text, notify_error, wrap_text


@dataclass
class _Run:
    """One run: its cancel token, its progress bar, and how it ended (None: still running)."""

    cancel: threading.Event
    pbar: Any = None
    outcome: str | None = None
    reason: str | None = None  # why it was cancelled, if not by the user's Cancel
    reports: int = 0  # progress reports shown so far


class Runner:
    """Run and Cancel buttons, a status line and a napari progress bar for one dock.

    Parameters
    ----------
    desc : str
        Name of the progress bar in napari's activity dock.
    on_finished : callable, optional
        Called with no arguments after every run, whatever its outcome, once the Runner is
        idle again (so it may start the next run).

    Notes
    -----
    The dock connects ``run_button`` to its own method, which reads its inputs and calls
    :meth:`start`; ``cancel_button`` is connected here.
    """

    def __init__(self, desc: str = "semcolor", on_finished: Callable[[], object] | None = None):
        self.desc = desc
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        wrap_text(self.status)  # a long error wraps instead of widening the dock
        self.cancel_button.changed.connect(lambda *_: self.cancel())
        self._on_finished = on_finished
        self._run: _Run | None = None
        self.worker = None

    @property
    def widgets(self) -> tuple:
        """The Run button, the Cancel button and the status line, for the dock's layout."""
        return self.run_button, self.cancel_button, self.status

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the run's ``finished`` signal."""
        return self._run is not None

    def start(self, fn: Callable[..., Any], kwargs: dict, on_result: Callable[[Any], str | None], *, message: str = "starting"):
        """Run ``fn(**kwargs, progress=..., cancel=...)`` in a thread worker.

        Parameters
        ----------
        fn : callable
            A core function that takes ``progress`` and ``cancel`` keywords.
        kwargs : dict
            Its other arguments.
        on_result : callable
            Called in the GUI thread with ``fn``'s result; the text it returns (if any) becomes
            the final status (e.g. ``"done in 1.2 s"``).
        message : str
            Status line until the first progress report.

        Returns
        -------
        The napari worker, or None if a run is already going.
        """
        from napari.qt.threading import thread_worker
        from napari.utils import progress

        from napari_semcolor.progress import run_with_progress

        if self._run is not None:
            return None
        run = _Run(cancel=threading.Event(), pbar=progress(total=100, desc=self.desc))
        self._run = run
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.status.value = message
        connect = {
            "yielded": lambda value: self._on_progress(run, value),
            "returned": lambda result: self._on_returned(run, result, on_result),
            "errored": lambda exc: self._on_errored(run, exc),
            "finished": lambda: self._on_finished_run(run),
        }

        @thread_worker(connect=connect)  # connect= starts the worker after connecting: no race
        def work():
            return (yield from run_with_progress(fn, cancel=run.cancel, **kwargs))

        self.worker = work()
        return self.worker

    def cancel(self, reason: str | None = None) -> None:
        """Ask the running job to stop at its next check; layers stay as they are.

        ``reason`` (e.g. "hints changed: running again") replaces the "cancelled" status and
        notification, for a run the dock stops by itself.
        """
        run = self._run
        if run is None:
            return
        run.reason = reason
        run.cancel.set()
        if reason is None:
            self.status.value = "cancelling…"

    def notify_error(self, message: str) -> None:
        """Show ``message`` on the status line and as a napari error notification."""
        notify_error(self.status, message)

    # -- worker signals (GUI thread) ----------------------------------------------------------
    def _on_progress(self, run: _Run, value: tuple[float, str]) -> None:
        if run.outcome is not None or run is not self._run:
            return  # a late report: the outcome (or a newer run) owns the status line
        fraction, message = value
        run.reports += 1
        this = run.reports
        pbar = run.pbar
        if pbar is not None:
            pbar.n = int(fraction * 100)
            # set_description can process events: the run may end (and close the bar), or a newer
            # report be shown, meanwhile; this older one must not overwrite it
            pbar.set_description(f"{self.desc}: {message}")
            if run.pbar is pbar and run.reports == this:
                pbar.refresh()
        if run.outcome is None and not run.cancel.is_set() and run.reports == this:
            self.status.value = f"{fraction:.0%} {message}"

    def _on_returned(self, run: _Run, result: Any, on_result: Callable[[Any], str | None]) -> None:
        run.outcome = "returned"
        try:
            text = on_result(result)
        except Exception as exc:  # noqa: BLE001 - showing the result failed: say so instead of losing it in Qt
            run.outcome = "errored"
            self.notify_error(error_text(exc) or "cancelled")
            return
        if text is not None:
            self.status.value = text

    def _on_errored(self, run: _Run, exc: Exception) -> None:
        run.outcome = "errored"
        message = error_text(exc)
        if message is not None:
            self.notify_error(message)
        elif run.reason is not None:
            self.status.value = run.reason
        else:
            from napari.utils.notifications import show_info

            self.status.value = "cancelled"
            show_info("semcolor: run cancelled; no layer was changed")

    def _on_finished_run(self, run: _Run) -> None:
        if run.pbar is not None:
            run.pbar.close()
            run.pbar = None
        if run is not self._run:
            return
        self._run, self.worker = None, None
        self.run_button.enabled, self.cancel_button.enabled = True, False
        if self._on_finished is not None:
            self._on_finished()
