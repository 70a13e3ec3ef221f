"""The app's track state: open a track, separate it, and keep an engine for the listener.

Everything slow runs as :mod:`remixer_app.ui.jobs`: opening (decode + separation,
with progress, ETA and cancel) and preparing the hearing-aid engine
(:func:`~remixer_app.core.track_fitting.fit_track`), which is redone when the listener
or the hearing aid changes. A newer job of a kind makes the older one's result stale,
and it is dropped.

The stem set is the track's: an opened track sets the model's stems (the pop stems or
its instruments), as its :class:`~remixer_app.core.separator_choice.SeparatorChoice`
separated it; :meth:`TrackController.set_instruments` changes that choice for a file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from remixer_app.core.audiogram import get_preset
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange
from remixer_app.core.player import Player
from remixer_app.core.separation import DEFAULT_ENSEMBLE
from remixer_app.core.separation.separator import Separator
from remixer_app.core.separator_choice import SeparatorChoice, SeparatorLoader, track_key
from remixer_app.core.track_fitting import continue_playback, fit_track
from remixer_app.core.track_loader import OpenedTrack, open_track
from remixer_app.ui.jobs import Jobs

DEFAULT_LISTENER = "N3"  # a moderate sloping loss until the user picks someone


class TrackController(QObject):
    """Opens tracks and keeps a prepared engine for the model's listener.

    Parameters
    ----------
    model
        The settings model; its listener decides the engine.
    pool
        Thread pool for the workers (tests pass their own).
    ensemble, separator_factory, separator_loader, instruments
        The separator choice's (:class:`~remixer_app.core.separator_choice.SeparatorChoice`)
        ``ensemble``, ``factory``, ``loader`` and ``instruments``.
    """

    progress = Signal(object)          # ProgressReport of the running job
    busy = Signal(str)                 # what is running ("" when idle)
    track_opened = Signal(object)      # OpenedTrack
    engine_ready = Signal(object)      # HearingAidEngine for the current listener
    player_ready = Signal(object)      # Player of that engine (emitted just before)
    failed = Signal(str, str, str)     # title, message, details
    notice = Signal(str)               # a non-error message for the status bar
    _preview = Signal(int, object)     # open request, its first seconds (OpenedTrack)

    def __init__(self, model: MixModel, *, ensemble: str = DEFAULT_ENSEMBLE,
                 pool: QThreadPool | None = None,
                 separator_factory: Callable[[], Separator] | None = None,
                 separator_loader: SeparatorLoader | None = None,
                 instruments: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__()
        self.model = model
        #: The ensembles chosen and the instruments remembered per file.
        self.choice = SeparatorChoice(ensemble=ensemble, factory=separator_factory,
                                      loader=separator_loader, instruments=instruments)
        self.pool = pool or QThreadPool.globalInstance()
        # Fittings one at a time: stepping through listeners queues one per step, each
        # holding hundreds of MB while it builds. One replaced while queued ends before
        # building (see fit_track), so at most the one already running is wasted work.
        self._engine_pool = pool or QThreadPool(self)
        if pool is None:
            self._engine_pool.setMaxThreadCount(1)
        self.track: OpenedTrack | None = None
        self.engine: HearingAidEngine | None = None
        self.player: Player | None = None
        self.jobs = Jobs(self.pool, self)
        self.jobs.progress.connect(self.progress)
        self.jobs.busy.connect(self.busy)
        self.jobs.failed.connect(self.failed)
        self.jobs.failed.connect(lambda *_: self._after_stop())
        # The last open asked: path, instruments, and the ensemble separating it.
        self._opening: tuple[Path, tuple[str, ...] | None, str] | None = None
        self._open_request = 0  # which open a preview belongs to
        self._preview.connect(self._on_preview)
        if model.listener is None:
            model.set_listener(get_preset(DEFAULT_LISTENER))
        model.subscribe(self._on_change)

    # --- opening -----------------------------------------------------------------------
    def open(self, path: str | Path) -> None:
        """Open a file or stems folder in the background (replacing any open in progress).

        A file is separated into the instruments remembered for it, if any. The same
        open asked again while it runs (a second drop, the recent entry clicked twice)
        goes on rather than starting over.
        """
        instruments = self.choice.instruments_for(path)
        asked = (Path(path), instruments, self.choice.separation(instruments)[0])
        running = self._opening
        if ("open" in self.jobs.running() and running is not None
                and track_key(running[0]) == track_key(path) and running[1:] == asked[1:]):
            self.notice.emit(f"Already opening {asked[0].name}.")
            return
        self.cancel("open")
        self._opening = asked
        factory = self.choice.factory(instruments)
        self._open_request += 1
        request = self._open_request

        def early(track: OpenedTrack) -> None:  # on the worker's thread: queued to ours
            with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
                self._preview.emit(request, track)

        self.jobs.run("open", lambda progress, cancelled: open_track(
            path, factory, instruments=instruments, progress=progress, cancelled=cancelled,
            preview=early), self._opened, f"Opening {Path(path).name}")

    def _after_stop(self) -> None:
        """A job was cancelled or failed: what is open must stay what plays and says.

        The player of a track's first seconds plays on only until the whole is fitted;
        with that fitting stopped it must go, so that Play fits the whole. A failed
        separation after the first seconds leaves only those open: say so.
        """
        running, track, player = self.jobs.running(), self.track, self.player
        if track is None:
            return
        if "engine" not in running and player is not None and player.duration < track.frames:
            self.player = None
            self.player_ready.emit(None)
        if "open" not in running and not track.complete:
            self.notice.emit(f"Separation stopped: only the first seconds of "
                             f"{track.path.name} are open (to play, not to export); open it "
                             "again to separate the rest.")

    def _on_preview(self, request: int, track: OpenedTrack) -> None:
        """The first seconds of the track being separated: open them to play and remix
        while the rest separates (unless that open was replaced or cancelled)."""
        if request == self._open_request and "open" in self.jobs.running():
            self._opened(track)

    def set_instruments(self, path: str | Path, instruments: Sequence[str] | None) -> bool:
        """Remember which instruments the file ``path`` holds (``None`` or none: pop).

        The file is then (re)opened, separated into them, when it is being opened with
        another choice, when it is the open track and its stems are not those (also
        after a cancelled or failed separation into them), or when its open was the
        last one asked and it failed or was cancelled. An open of another file is
        never cancelled for it: the choice then applies the next time this file opens.

        Returns
        -------
        bool
            Whether ``path`` is being opened for the choice.

        Raises
        ------
        RemixerError
            Not 2 to 5 known instruments.
        """
        key, chosen = track_key(path), self.choice.remember(path, instruments)
        if Path(path).is_dir():
            return False
        track = self.track
        if "open" in self.jobs.running():
            running = self._opening
            if running is None or track_key(running[0]) != key:
                return False
            if running[1] != chosen:
                self.open(path)
            return True
        if track is not None and track_key(track.path) == key:
            if self.choice.separated_as_chosen(track):
                return False
        elif self.last_file is None or track_key(self.last_file) != key:
            return False  # neither open nor the last one asked for: remembered only
        self.open(path)
        return True

    @property
    def last_file(self) -> Path | None:
        """The audio file last asked to open (being opened, open, or its open failed or
        was cancelled); ``None`` before any, or when it was a stems folder."""
        path = None if self._opening is None else self._opening[0]
        return None if path is None or path.is_dir() else path

    def cancel(self, kind: str | None = None) -> None:
        """Cancel the running job(s) of ``kind`` (``open``/``engine``), or all."""
        self.jobs.cancel(kind)

    def cancel_by_user(self) -> None:
        """The user's Cancel: stop everything, and say what stays as it was.

        A cancelled refit leaves the engine fitted for the listener and hearing aid it
        was built for, so the model goes back to those: the screen must never show one
        listener while another's fitting plays and exports. An audiogram change taken
        back so stays an Undo or Redo away in the listener panel's editor, and the
        notice says so.
        """
        running = self.jobs.running()
        self.cancel()
        if "open" in running and (self.track is None or self.track.complete):
            self.notice.emit("Opening cancelled.")
        self._after_stop()  # (says what is open of a track whose first seconds are)
        if "engine" not in running:
            return
        engine = self.engine
        if engine is None:
            self.notice.emit("Fitting cancelled: press Play (Space) or choose a listener to "
                             "fit the hearing aid.")
            return
        fitted, listener = engine.listener, self.model.listener
        if listener is not fitted:
            self.model.set_listener(fitted)
        if self.model.state.hearing_aid != engine.hearing_aid:
            # Not a step of its own: the next undo is the user's last real change.
            self.model.set_hearing_aid(engine.hearing_aid, record=False)
        if (listener is not None and listener.id == fitted.id
                and (listener.left, listener.right) != (fitted.left, fitted.right)):
            self.notice.emit(f"Fitting cancelled: the hearing aid stays fitted for "
                             f"{fitted.id}, whose audiogram is back in the editor; Undo or "
                             "Redo there brings your change back and fits the aid to it.")
        else:
            self.notice.emit(f"Fitting cancelled: the hearing aid stays fitted for "
                             f"{fitted.id}.")

    def _opened(self, track: OpenedTrack) -> None:
        previewed = self.track
        # The whole of the track whose first seconds play: its player plays on until the
        # engine of the whole is fitted, then hands over where it is (_engine_built).
        whole = (previewed is not None and not previewed.complete and track.complete
                 and previewed.path == track.path
                 and previewed.stem_names == track.stem_names)
        # No track while the model takes the new stems, so the hearing-aid change that
        # may come with them does not build an engine for the old track.
        self.track = None
        self.model.set_stems(track.stem_names)
        self.track = track
        self.engine = None
        if self.player is not None and not whole:  # the old track must not play under
            self.player = None                     # the new one's name
            self.player_ready.emit(None)
        for warning in track.warnings:
            self.notice.emit(warning)
        self.track_opened.emit(track)
        self._prepare_engine()

    # --- engine ------------------------------------------------------------------------
    def _on_change(self, change: MixChange) -> None:
        if not change.fields & {"listener", "hearing_aid"} or self.track is None:
            return
        engine = self.engine
        if engine is not None and engine.fits(self.model.listener, self.model.state.hearing_aid):
            self.cancel("engine")  # back to what is fitted: nothing to build
        else:
            self._prepare_engine()

    def fit(self) -> None:
        """Fit the hearing aid to the open track unless it is fitted or being fitted
        (after a cancelled first fitting, choosing the same listener changes nothing)."""
        if self.engine is None and "engine" not in self.jobs.running():
            self._prepare_engine()

    def _prepare_engine(self) -> None:
        track, listener = self.track, self.model.listener
        if track is None or listener is None:
            return
        self.cancel("engine")

        settings = self.model.chain_settings()
        hearing_aid = self.model.state.hearing_aid
        # A track's first seconds are fitted while the rest separates: the one progress
        # bar keeps showing the separation, which is what the user waits for.
        quiet = not track.complete

        def build(told: Any, cancelled: Any) -> tuple[HearingAidEngine, Player]:
            return fit_track(track, listener, hearing_aid, settings, cancelled=cancelled,
                             progress=(lambda _report: None) if quiet else told)

        self.jobs.run("engine", build, self._engine_built, f"Fitting for {listener.id}",
                  self._engine_pool)

    def _engine_built(self, built: tuple[HearingAidEngine, Player]) -> None:
        previous = self.player  # of this track: opening another clears it
        self.engine, self.player = built
        if previous is not None:
            continue_playback(previous, self.player)
        self.player_ready.emit(self.player)
        self.engine_ready.emit(self.engine)

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until the running jobs end (tests and shutdown only)."""
        return self.jobs.wait(timeout_s)
