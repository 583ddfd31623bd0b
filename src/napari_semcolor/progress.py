"""Progress as a generator: run a function that reports progress, and yield what it reports.

The core reports progress through a callback (``progress(fraction, message)``) and stops when a
cancel token is set. :func:`run_with_progress` turns such a call into a generator that yields
``(fraction, message)`` as the work goes on and returns the function's result, the shape napari's
``thread_worker`` expects from long work (``yielded`` → progress bar, ``returned`` → result,
``errored`` → message). A plain loop drains it just as well, so it needs no Qt::

    gen = run_with_progress(colorize, image, "propagate", hints, cancel=token)
    try:
        while True:
            fraction, message = next(gen)
    except StopIteration as stop:
        result = stop.value
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")

#: seconds between checks that the helper thread is still alive (it always posts an outcome;
#: this only guards against a thread that died without one)
_POLL_SECONDS = 0.5

_TICK, _RETURNED, _RAISED = "tick", "returned", "raised"


def run_with_progress(fn: Callable[..., R], *args: Any, cancel: Any = None, **kwargs: Any) -> Generator[tuple[float, str], None, R]:
    """Run ``fn(*args, progress=..., cancel=cancel, **kwargs)`` in a helper thread; yield its progress.

    Parameters
    ----------
    fn : callable
        Takes ``progress`` (a callable ``(fraction, message)``) and ``cancel`` keywords.
    *args, **kwargs
        Passed on to ``fn``.
    cancel : threading.Event-like, optional
        Passed on to ``fn``; also set when the generator is closed before ``fn`` is done, so the
        helper thread stops at ``fn``'s next check instead of working on for nobody.

    Yields
    ------
    fraction, message : float, str
        Progress as ``fn`` reported it. When several reports arrive before the consumer asks
        for the next one, only the newest is yielded; the last report before the end is always
        yielded.

    Returns
    -------
    The value ``fn`` returned (``StopIteration.value``; ``yield from`` hands it on).

    Raises
    ------
    Exception
        Whatever ``fn`` raised (for a cancelled run: :class:`~napari_semcolor.errors.Cancelled`),
        re-raised in the consumer with its original traceback.
    """
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def report(fraction: float, message: str = "") -> None:
        inbox.put((_TICK, (float(fraction), str(message))))

    def target() -> None:
        try:
            inbox.put((_RETURNED, fn(*args, progress=report, cancel=cancel, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            inbox.put((_RAISED, exc))

    thread = threading.Thread(target=target, name=f"semcolor-{getattr(fn, '__name__', 'work')}", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            tick, outcome = _next_batch(inbox, thread)
            if tick is not None:
                yield tick
            if outcome is not None:
                finished = True
                kind, value = outcome
                if kind == _RAISED:
                    raise value
                return value
    finally:
        if not finished and cancel is not None:
            cancel.set()


def _next_batch(inbox: queue.SimpleQueue, thread: threading.Thread) -> tuple[tuple[float, str] | None, tuple[str, Any] | None]:
    """Wait for the next message, then take all that are queued: (newest tick, outcome or None)."""
    while True:
        try:
            items = [inbox.get(timeout=_POLL_SECONDS)]
            break
        except queue.Empty:
            if not thread.is_alive() and inbox.empty():
                raise RuntimeError("the worker thread ended without a result") from None
    while True:
        try:
            items.append(inbox.get_nowait())
        except queue.Empty:
            break
    ticks = [value for kind, value in items if kind == _TICK]
    outcomes = [(kind, value) for kind, value in items if kind != _TICK]
    return (ticks[-1] if ticks else None), (outcomes[0] if outcomes else None)


__all__ = ["run_with_progress"]
