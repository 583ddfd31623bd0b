"""run_with_progress: a call that reports progress, drained as a generator by a plain loop (no Qt)."""

import threading
import time

import pytest

from napari_semcolor.errors import Cancelled, SemcolorError
from napari_semcolor.progress import run_with_progress


def drain(gen):
    """All yielded values and the generator's return value."""
    seen = []
    while True:
        try:
            seen.append(next(gen))
        except StopIteration as stop:
            return seen, stop.value


def counting(n, *, progress, cancel, scale=1):
    for i in range(n):
        progress((i + 1) / n, f"step {i + 1}")
        time.sleep(0.002)
    return n * scale


def test_yields_progress_and_returns_the_result():
    seen, result = drain(run_with_progress(counting, 5, scale=3, cancel=None))
    assert result == 15
    assert seen and seen[-1] == (1.0, "step 5")  # the last report always arrives
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and all(isinstance(m, str) for _, m in seen)


def test_stale_reports_are_dropped_when_the_consumer_is_slow():
    go, release = threading.Event(), threading.Event()

    def burst(*, progress, cancel):
        progress(0.0, "tick 0")
        go.wait(10)
        for i in range(1, 100):
            progress(i / 99, f"tick {i}")
        release.set()
        return "done"

    gen = run_with_progress(burst, cancel=None)
    assert next(gen) == (0.0, "tick 0")
    go.set()
    assert release.wait(10)  # reports 1…99 are all queued before the consumer asks again
    seen, result = drain(gen)
    assert result == "done"
    assert seen == [(1.0, "tick 99")]  # one batch: only its newest report


def test_the_function_gets_the_cancel_token_and_its_arguments():
    token = threading.Event()
    got = {}

    def record(a, b=0, *, progress, cancel):
        got.update(a=a, b=b, cancel=cancel, progress=callable(progress))
        return a + b

    seen, result = drain(run_with_progress(record, 2, b=5, cancel=token))
    assert result == 7 and seen == []
    assert got == {"a": 2, "b": 5, "cancel": token, "progress": True}


def test_an_exception_is_raised_in_the_consumer():
    def fails(*, progress, cancel):
        progress(0.5, "half way")
        raise SemcolorError("bad input: say what to do")

    gen = run_with_progress(fails, cancel=None)
    seen = []
    with pytest.raises(SemcolorError, match="say what to do") as info:
        for value in gen:
            seen.append(value)
    assert seen == [(0.5, "half way")]
    assert any(entry.name == "fails" for entry in info.traceback)  # the worker's own traceback


def test_setting_the_token_cancels_the_run():
    token = threading.Event()

    def until_cancelled(*, progress, cancel):
        i = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cancel.is_set():
                raise Cancelled("stopped")
            i += 1
            progress(min(i / 1000, 1.0), "working")
            time.sleep(0.001)
        raise AssertionError("never cancelled")

    gen = run_with_progress(until_cancelled, cancel=token)
    assert next(gen)[1] == "working"
    token.set()
    with pytest.raises(Cancelled):
        for _ in gen:
            pass


def test_closing_the_generator_early_sets_the_token():
    token = threading.Event()
    stopped = threading.Event()

    def until_cancelled(*, progress, cancel):
        while not cancel.wait(0.001):
            progress(0.1, "working")
        stopped.set()
        raise Cancelled("stopped")

    gen = run_with_progress(until_cancelled, cancel=token)
    next(gen)
    gen.close()
    assert token.is_set()
    assert stopped.wait(10)  # the helper thread stopped instead of working on for nobody


def test_yield_from_hands_on_the_result():
    def outer():
        result = yield from run_with_progress(counting, 3, cancel=None)
        return result * 2

    seen, result = drain(outer())
    assert result == 6 and seen[-1] == (1.0, "step 3")
