"""The app's track state: open a track, separate it, and keep an engine for the listener.

Everything slow runs in :mod:`remixer_app.ui.workers`: opening (decode + separation,
with progress, ETA and cancel) and preparing the hearing-aid engine (NAL-R filtering
per stem and ear), which is redone when the listener changes. Each job carries a
request id; a newer request makes older results stale, and they are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from remixer_app.core.audiogram import get_preset
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import Cancelled
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange
from remixer_app.core.player import Player
from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation import DEFAULT_ENSEMBLE, load_separator
from remixer_app.core.separation.separator import Separator
from remixer_app.core.track_loader import OpenedTrack, open_track
from remixer_app.ui.workers import Worker, start

DEFAULT_LISTENER = "N3"  # a moderate sloping loss until the user picks someone


class TrackController(QObject):
    """Opens tracks and keeps a prepared engine for the model's listener.

    Parameters
    ----------
    model
        The settings model; its listener decides the engine.
    ensemble
        Ensemble used to separate plain audio files.
    pool
        Thread pool for the workers (tests pass their own).
    """

    progress = Signal(object)          # ProgressReport of the running job
    busy = Signal(str)                 # what is running ("" when idle)
    track_opened = Signal(object)      # OpenedTrack
    engine_ready = Signal(object)      # HearingAidEngine for the current listener
    player_ready = Signal(object)      # Player of that engine (emitted just before)
    failed = Signal(str, str, str)     # title, message, details
    notice = Signal(str)               # a non-error message for the status bar

    def __init__(self, model: MixModel, *, ensemble: str = DEFAULT_ENSEMBLE,
                 pool: QThreadPool | None = None,
                 separator_factory: Callable[[], Separator] | None = None) -> None:
        super().__init__()
        self.model = model
        self.ensemble = ensemble
        self.pool = pool or QThreadPool.globalInstance()
        self.track: OpenedTrack | None = None
        self.engine: HearingAidEngine | None = None
        self.player: Player | None = None
        self._loaded: tuple[str, Separator] | None = None  # ensemble name, its separator
        self._factory = separator_factory
        self._request = 0
        self._workers: dict[str, Worker] = {}
        if model.listener is None:
            model.set_listener(get_preset(DEFAULT_LISTENER))
        model.subscribe(self._on_change)

    # --- opening -----------------------------------------------------------------------
    def open(self, path: str | Path) -> None:
        """Open a file or stems folder in the background (replacing any open in progress)."""
        self.cancel("open")
        factory = self._separator_factory()
        self._run("open", lambda progress, cancelled: open_track(
            path, factory, progress=progress, cancelled=cancelled), self._opened,
            f"Opening {Path(path).name}")

    def set_ensemble(self, name: str) -> None:
        """Separate the tracks opened from now on with ensemble ``name``.

        The track already open keeps its stems; the new ensemble's models load in the
        next open worker, not here.
        """
        if name != self.ensemble:
            self.ensemble = name
            self._loaded = None  # frees the previous ensemble's models

    def cancel(self, kind: str | None = None) -> None:
        """Cancel the running job(s) of ``kind`` (``open``/``engine``), or all."""
        for name, worker in list(self._workers.items()):
            if kind is None or name == kind:
                worker.cancel()
                del self._workers[name]
        if not self._workers:
            self.busy.emit("")

    def _separator_factory(self) -> Callable[[], Separator]:
        """Loads (once) and returns the separator; called in the open worker, because
        loading model weights takes seconds the GUI thread must not wait for."""
        if self._factory is not None:
            return self._factory
        ensemble = self.ensemble  # fixed now: the user may choose another meanwhile

        def load() -> Separator:
            loaded = self._loaded
            if loaded is None or loaded[0] != ensemble:
                loaded = (ensemble, load_separator(ensemble))
                self._loaded = loaded
            return loaded[1]

        return load

    def _opened(self, track: OpenedTrack) -> None:
        self.track = track
        self.engine = None
        for warning in track.warnings:
            self.notice.emit(warning)
        self.track_opened.emit(track)
        self._prepare_engine()

    # --- engine ------------------------------------------------------------------------
    def _on_change(self, change: MixChange) -> None:
        if "listener" in change.fields and self.track is not None:
            self._prepare_engine()

    def _prepare_engine(self) -> None:
        track, listener = self.track, self.model.listener
        if track is None or listener is None:
            return
        self.cancel("engine")

        settings = self.model.chain_settings()

        def build(progress: Any, cancelled: Any) -> tuple[HearingAidEngine, Player]:
            progress(ProgressReport(0.0, None, f"fitting the hearing aid for {listener.id}"))
            engine = HearingAidEngine(dict(track.stems), listener, mixture=track.mixture)
            progress(ProgressReport(0.7, None, "preparing playback"))
            if cancelled():
                raise Cancelled("cancelled")
            # The player's loudness model is a third of the engine's cost: build it here too.
            return engine, Player(engine, track.stems, mixture=track.mixture,
                                  settings=settings)

        self._run("engine", build, self._engine_built, f"Fitting for {listener.id}")

    def _engine_built(self, built: tuple[HearingAidEngine, Player]) -> None:
        self.engine, self.player = built
        self.player_ready.emit(self.player)
        self.engine_ready.emit(self.engine)

    # --- plumbing ----------------------------------------------------------------------
    def _run(self, kind: str, job: Callable[..., Any], done: Callable[[Any], None],
             label: str) -> None:
        self._request += 1
        worker = Worker(job, self._request)
        self._workers[kind] = worker
        rid = worker.request_id

        def current() -> bool:
            return self._workers.get(kind) is worker

        def finished(request: int, result: object) -> None:
            if request == rid and current():
                del self._workers[kind]
                done(result)
                if not self._workers:
                    self.busy.emit("")

        def failed(request: int, message: str, details: str) -> None:
            if request == rid and current():
                del self._workers[kind]
                self.failed.emit(f"{label} failed", message, details)
                if not self._workers:
                    self.busy.emit("")

        worker.signals.progress.connect(
            lambda request, report: self.progress.emit(report) if request == rid and current()
            else None)
        worker.signals.finished.connect(finished)
        worker.signals.failed.connect(failed)
        self.busy.emit(label)
        start(worker, self.pool)

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until the running jobs end (tests and shutdown only)."""
        return all(w.done.wait(timeout_s) for w in list(self._workers.values()))
