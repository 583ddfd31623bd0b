"""The Run/Cancel/progress runner shared by the Colourize and Segment docks (no viewer needed)."""

import threading

from napari_semcolor._widgets.parts.runner import Runner
from napari_semcolor.errors import Cancelled, SemcolorError


def gated(gate: threading.Event, result="ok"):
    """A core-like function: reports half way, waits for ``gate``, reports the end, returns."""

    def fn(value=1, *, progress, cancel):
        progress(0.5, "half way")
        while not gate.wait(0.005):
            if cancel.is_set():
                raise Cancelled("stopped")
        progress(1.0, "finishing")
        return (result, value)

    return fn


def test_progress_then_the_result_as_the_final_status(qtbot):
    finished, results = [], []
    runner = Runner(on_finished=lambda: finished.append(runner.running))
    gate = threading.Event()
    assert not runner.running
    worker = runner.start(gated(gate), {"value": 7}, lambda r: results.append(r) or "done: 7", message="working…")
    assert worker is not None and runner.running
    assert not runner.run_button.enabled and runner.cancel_button.enabled
    qtbot.waitUntil(lambda: runner.status.value == "50% half way", timeout=10_000)  # a yielded report
    assert runner.start(gated(gate), {}, lambda r: None) is None  # one run at a time
    gate.set()
    qtbot.waitUntil(lambda: finished == [False], timeout=10_000)  # on_finished runs once, when idle
    assert results == [("ok", 7)] and runner.status.value == "done: 7"
    assert runner.run_button.enabled and not runner.cancel_button.enabled and runner.worker is None


def test_a_late_progress_report_never_overwrites_the_outcome(qtbot):
    runner = Runner()
    gate = threading.Event()
    gate.set()
    runner.start(gated(gate), {}, lambda r: "done in 0.1 s")
    first = runner._run
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    assert runner.status.value == "done in 0.1 s"
    runner._on_progress(first, (0.99, "late tick"))  # a report delivered after the result
    assert runner.status.value == "done in 0.1 s"
    second_gate = threading.Event()
    runner.start(gated(second_gate), {}, lambda r: "second done")
    qtbot.waitUntil(lambda: runner.status.value == "50% half way", timeout=10_000)
    runner._on_progress(first, (0.1, "from the first run"))  # an older run's report
    assert runner.status.value == "50% half way"
    second_gate.set()
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    assert runner.status.value == "second done"


def test_an_error_is_shown_and_the_runner_is_ready_again(qtbot):
    runner = Runner()

    def fails(*, progress, cancel):
        raise SemcolorError("the image is empty; choose another layer")

    runner.start(fails, {}, lambda r: "never")
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    assert runner.status.value == "the image is empty; choose another layer"
    assert runner.run_button.enabled

    def crashes(*, progress, cancel):
        raise KeyError("bug")

    runner.start(crashes, {}, lambda r: "never")
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    assert runner.status.value.startswith("unexpected error (KeyError")


def test_cancel_stops_the_run(qtbot):
    results = []
    runner = Runner()
    runner.start(gated(threading.Event()), {}, results.append)
    qtbot.waitUntil(lambda: runner.status.value == "50% half way", timeout=10_000)
    runner.cancel_button.clicked()
    assert runner.status.value == "cancelling…"
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    assert runner.status.value == "cancelled" and results == []


def test_a_cancel_with_a_reason_says_why(qtbot):
    runner = Runner()
    runner.start(gated(threading.Event()), {}, lambda r: "never")
    qtbot.waitUntil(lambda: runner.status.value == "50% half way", timeout=10_000)
    runner.cancel(reason="hints changed: running again")
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    assert runner.status.value == "hints changed: running again"
    runner.cancel()  # idle: nothing to cancel, nothing changes
    assert runner.status.value == "hints changed: running again"


def test_an_older_report_never_overwrites_a_newer_one_shown_inside_it(qtbot):
    # napari's progress bar processes events while its description is set, so the next report can
    # be shown inside the one before; the older must not then put its message back (a run held at
    # "writing plane 3" showed "writing plane 2")
    from napari_semcolor._widgets.parts.runner import _Run

    runner = Runner()
    run = _Run(cancel=threading.Event())
    runner._run = run

    class Bar:
        n = 0

        def set_description(self, text):
            if "plane 2" in text:  # the newer report arrives while the older one is being shown
                runner._on_progress(run, (0.6, "writing plane 3"))

        def refresh(self):
            pass

    run.pbar = Bar()
    runner._on_progress(run, (0.5, "writing plane 2"))
    assert runner.status.value == "60% writing plane 3"
