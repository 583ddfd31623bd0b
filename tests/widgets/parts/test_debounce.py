"""The debouncer shared by live mode and live preview: one call after a burst of triggers."""

import time

from napari_semcolor._widgets.parts.debounce import Debouncer


def test_a_burst_of_triggers_calls_once_after_the_quiet_time(qtbot):
    calls = []
    debouncer = Debouncer(lambda: calls.append(time.monotonic()), 150)
    assert not debouncer.pending
    t0 = time.monotonic()
    for _ in range(5):
        debouncer.trigger()
        qtbot.wait(30)  # each trigger comes before the last one's delay is over
    last = time.monotonic()
    assert debouncer.pending and calls == []
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5_000)
    assert calls[0] - last >= 0.1 and calls[0] - t0 >= 0.25  # timed from the last trigger, not the first
    qtbot.wait(300)
    assert len(calls) == 1 and not debouncer.pending


def test_cancel_forgets_a_pending_call(qtbot):
    calls = []
    debouncer = Debouncer(lambda: calls.append(1), 50)
    debouncer.cancel()  # nothing pending: no error
    debouncer.trigger()
    debouncer.cancel()
    qtbot.wait(200)
    assert calls == [] and not debouncer.pending
    debouncer.trigger()
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)
