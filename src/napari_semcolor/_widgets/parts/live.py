"""Live mode of the Colourize dock: a preview for every hint edit, the full resolution after it.

One :class:`napari_semcolor.Session` is kept per (image plane, backend, labels, options, ...): the
work that depends only on the image is done once. A hint edit, or a fill changed in the region
table (the region colours are given per call, not part of the session: a re-compose), then

1. shows :meth:`Session.preview` (working resolution, placed exactly over the image) — computed in
   a thread worker of its own, one at a time: edits that arrive meanwhile are previewed together
   once it is done (the newest hints win, nothing queues);
2. starts the full-resolution :meth:`Session.colorize` through the dock's Runner
   ``LIVE_DELAY_MS`` after the preview, which replaces the preview when done.

The next edit cancels the full-resolution run (pending or running); a cancelled run that has not
stopped yet is never joined by a second one: the next full run starts when it has ended. The
output layer's ``metadata["semcolor"]["resolution"]`` says ``"preview"`` or ``"full"``.

Why previews run in a worker, not in the GUI thread: a ``propagate`` preview is 40–150 ms once the
session is warm, but the first preview of a session factorises the graph (0.3–0.5 s) or runs a network
(``eecnn``, over 1 s on a CPU; ``nst`` fits one to the reference). A worker keeps the
viewer responsive in every case and costs a few milliseconds of signal round trip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from napari_semcolor._widgets.parts.debounce import Debouncer
from napari_semcolor.errors import SemcolorError

#: wait this long after a preview is shown before the full-resolution run starts (ms); an edit
#: within it restarts the wait, so quick clicking computes previews only
LIVE_DELAY_MS = 150
PREVIEW, FULL = "preview", "full"
#: ``job`` entries (from the dock's ``_collect``) that are not arguments of :class:`Session` (the
#: region colours go to each call: a colour changed in the region table keeps the session)
_NOT_SESSION = ("source", "whole_stack", "lead", "hints", "region_colors")
#: events of a Labels layer after which its array may hold other labels: set anew, painted (or
#: filled, erased), refreshed (undo and redo, or a script's in-place change)
_LABEL_EDITS = ("data", "paint", "set_data")


def _ident(value) -> object:
    """A cheap identity for a session key: an array by its memory, not its content.

    Content changed in place is seen otherwise: the dock counts the regions layer's edits
    (:meth:`LiveColouring.watch_labels`) and keeps the data-bar mask while the image is the same.
    """
    if isinstance(value, np.ndarray):
        return ("array", value.__array_interface__["data"][0], value.shape, value.strides, value.dtype.str)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _ident(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_ident(v) for v in value)
    return repr(value) if value is None or isinstance(value, str | int | float | bool) else ("object", id(value))


def session_key(job: dict) -> tuple:
    """What a :class:`Session` for ``job`` depends on: everything the dock collects except the hints."""
    return (id(job["source"]), job["lead"], *((name, _ident(value)) for name, value in sorted(job.items()) if name not in _NOT_SESSION))


class KeptPlane:
    """The plane an Image layer shows (:func:`gray_plane`), read once per layer data and viewer step.

    A lazy layer (dask, zarr) gives a new array for every read: kept, the same plane is the same
    array, so the live session (keyed by the plane's memory, :func:`_ident`) and the data-bar mask
    are reused across hint edits and the plane is not read from disk again. Replacing
    ``layer.data`` (a new object) or moving a slider reads it anew.
    """

    def __init__(self):
        self._kept = None  # (layer, its data, rgb, step, (plane, lead))

    def read(self, layer, step: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
        """``gray_plane(layer, step)``, the same arrays while ``layer``, its data and ``step`` are."""
        from napari_semcolor._napari.layers import gray_plane

        kept = self._kept
        if kept is None or kept[0] is not layer or kept[1] is not layer.data or kept[2:4] != (layer.rgb, step):
            self._kept = kept = (layer, layer.data, layer.rgb, step, gray_plane(layer, step))
        return kept[4]

    def forget(self) -> None:
        """Let the plane (and its layer) go."""
        self._kept = None


def previewable(job: dict) -> bool:
    """One plane, one proposal: what a preview can show (a stack or proposals go straight to full)."""
    return not job["whole_stack"] and job.get("n_samples", 1) == 1


def place(layer, data, scale, translate, metadata: dict) -> None:
    """Put ``data`` into ``layer`` in place (its shape may change: preview ↔ full) at ``scale``/``translate``."""
    layer.metadata = metadata
    layer.data = data
    if not np.allclose(layer.scale, scale):  # preview → preview: unchanged, spare napari a refresh
        layer.scale = scale
    if not np.allclose(layer.translate, translate):
        layer.translate = translate


class LiveColouring:
    """Previews then full-resolution runs for the Colourize dock while its live mode is on.

    Parameters
    ----------
    dock : ColorizeWidget
        Gives ``_collect()`` (the job), ``runner``, ``run(live=True)`` and ``show_preview()``.

    Attributes
    ----------
    full_started, full_finished, full_cancelled, full_max_running : int
        Full-resolution runs counted in their worker thread (for tests and benchmarks).
    previews : int
        Previews shown.
    """

    def __init__(self, dock):
        self.dock = dock
        self.session = None
        self._key = None
        self._preview_worker = None
        self._preview_again = False
        self._full_again = False
        self.edits = 0  # generation: a result of an older edit is never shown over a newer one
        self._full = Debouncer(self._start_full, LIVE_DELAY_MS)
        self._lock = threading.Lock()
        self._running = 0
        self.full_started = self.full_finished = self.full_cancelled = self.full_max_running = 0
        self.previews = 0
        #: edits of the regions layer seen so far: part of the session key, since painting changes
        #: the labels array in place (same object, other content)
        self.labels_version = 0
        self._labels_layer = None
        dock.labels_layer.changed.connect(lambda *_: self.watch_labels(dock.labels_layer.value))
        self.watch_labels(dock.labels_layer.value)
        dock.regions.on_edit = self.regions_edited

    def watch_labels(self, layer) -> None:
        """Follow the edits of the regions layer ``layer`` (None: none chosen)."""
        if self._labels_layer is not None:
            for name in _LABEL_EDITS:
                getattr(self._labels_layer.events, name).disconnect(self._labels_edited)
        self._labels_layer = layer
        if layer is not None:
            for name in _LABEL_EDITS:
                getattr(layer.events, name).connect(self._labels_edited)

    def _labels_edited(self, event=None) -> None:
        self.labels_version += 1

    def regions_edited(self) -> None:
        """A fill changed in the region table: in live mode, answer it as a hint edit (a re-compose)."""
        if self.dock.live.value and self.dock.hints.value is not None:
            self.dock._on_hints_edited()

    def key(self, job: dict) -> tuple:
        """The session key of ``job`` (:func:`session_key`) at the regions layer's current edit."""
        return (*session_key(job), self.labels_version)

    @property
    def busy(self) -> bool:
        """A preview is computing, a full run is waiting to start, or the Runner is running."""
        return self._preview_worker is not None or self._full.pending or self._full_again or self.dock.runner.running

    def edited(self) -> None:
        """A hint edit: cancel the full-resolution run, preview the new hints, then run full."""
        self.edits += 1
        self._full.cancel()
        if self.dock.runner.running:
            self.dock.runner.cancel(reason="hints changed: running again")
        if self._preview_worker is not None:
            self._preview_again = True
            return
        self._start_preview()

    def stop(self) -> None:
        """Live mode off (or a backend without it): forget pending work and the session."""
        self._full.cancel()
        self._full_again = self._preview_again = False
        self.session, self._key = None, None

    def runner_idle(self) -> None:
        """The dock's Runner ended a run: start the full run that waited for it, if any."""
        if self._full_again:
            self._full_again = False
            self._start_full()

    def full_call(self, job: dict) -> tuple[Callable, dict]:
        """The function and arguments of a live full-resolution run: the session's if it fits ``job``."""
        from napari_semcolor.pipeline import colorize

        if self.session is not None and self._key == self.key(job):
            fn, kwargs = self.session.colorize, {"hints": job["hints"], "region_colors": job.get("region_colors")}
        else:
            fn, kwargs = colorize, {k: v for k, v in job.items() if k not in ("source", "whole_stack", "lead")}

        def counted(**kw):
            with self._lock:
                self.full_started += 1
                self._running += 1
                self.full_max_running = max(self.full_max_running, self._running)
            try:
                result = fn(**kw)
            except BaseException:
                with self._lock:
                    self.full_cancelled += 1
                raise
            finally:
                with self._lock:
                    self._running -= 1
            with self._lock:
                self.full_finished += 1
            return result

        return counted, kwargs

    # -- preview (a worker) -------------------------------------------------------------------
    def _start_preview(self) -> None:
        from napari.qt.threading import thread_worker

        try:
            job = self.dock._collect()
        except SemcolorError as exc:
            self.dock.runner.notify_error(str(exc))
            return
        if not previewable(job):
            self._full.trigger()
            return
        key, edit = self.key(job), self.edits
        session = self.session if key == self._key else None
        args = {k: v for k, v in job.items() if k not in _NOT_SESSION}

        def make():
            from napari_semcolor.session import Session

            ready = session or Session(**args, databar_gray=False)  # the dock's job says what stays gray
            return ready, ready.preview(job["hints"], region_colors=job.get("region_colors"))

        connect = {
            "returned": lambda out: self._on_preview(job, key, edit, *out),
            "errored": self._on_preview_error,
            "finished": self._on_preview_finished,
        }
        self._preview_worker = thread_worker(make, connect=connect)()

    def _on_preview(self, job: dict, key: tuple, edit: int, session, preview) -> None:
        if self.dock.live.value:
            self.session, self._key = session, key
            self.dock.show_preview(job, preview)
            self.previews += 1
        if edit == self.edits:  # no newer edit is waiting for its own preview
            self._full.trigger()

    def _on_preview_error(self, exc: Exception) -> None:
        self.dock.runner.notify_error(str(exc))

    def _on_preview_finished(self) -> None:
        self._preview_worker = None
        if self._preview_again and self.dock.live.value:
            self._preview_again = False
            self._start_preview()

    # -- full resolution (the dock's Runner) ------------------------------------------------
    def _start_full(self) -> None:
        if not self.dock.live.value:
            return
        if self._preview_worker is not None:
            return  # a newer edit's preview is computing: it starts the full run when shown
        if self.dock.runner.running:
            self._full_again = True  # after the cancelled run has ended: never two at once
            return
        self.dock.run(live=True, edit=self.edits)
