"""The HAAQI estimate of the current settings, computed in the background.

Changes are debounced (the estimate starts once the sliders have been still for a
moment), the newest request replaces any running one, stale results are dropped, and
the panel always says what it compares and whether it is computing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from remixer_app.core.chain_settings import ENGINE_RATE
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.haaqi_estimate import HaaqiEstimate, estimate, excerpt_bounds
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange
from remixer_app.core.progress import check_cancelled
from remixer_app.core.track_loader import OpenedTrack
from remixer_app.ui.workers import Worker, start

SETTLE_MS = 700
NO_TRACK_TEXT = "No track yet"
COMPUTING_TEXT = "Computing..."
FAILED_TEXT = "No estimate"
WAITING_TEXT = "Waiting for the hearing aid to be fitted..."
STALE_TEXT = "Settings changed: estimating again once they settle..."
MUTED_TEXT = "No estimate: every stem is muted"
SILENT_TEXT = "No estimate: the excerpt is silent"
COMPARISONS = {
    "true stems": "Cadenza HAAQI: what you hear against the track's true stems with the "
                  "same gains through the same hearing aid (NAL-R without its compressor, "
                  "or the same multiband compressor).",
    "chain only": "Against the same stems without compressor and clipping: what the "
                  "hearing-aid processing costs this listener (the track has no true "
                  "stems to judge the separation).",
    "clipping only": "Against the same stems through the same multiband compressor without "
                     "clipping: what clipping costs this listener (the track has no true "
                     "stems to judge the separation).",
}


def excerpt_text(start_s: float, seconds: float) -> str:
    """Which audio is scored, e.g. ``"7 s from 0 s"`` (to a tenth of a second)."""
    return f"{round(seconds, 1):g} s from {round(start_s, 1):g} s"


class HaaqiPanel(QGroupBox):
    """Per-ear HAAQI of an excerpt around the playhead, refreshed after changes settle."""

    def __init__(self, model: MixModel, parent: QWidget | None = None) -> None:
        super().__init__("HAAQI estimate", parent)
        self.setAccessibleName("HAAQI estimate")
        self.model = model
        self.engine: HearingAidEngine | None = None
        self.track: OpenedTrack | None = None
        self.position: Callable[[], int] = lambda: 0  # playhead source, set by the window
        self._true_engine: HearingAidEngine | None = None
        self._true_fit: tuple[object, str] | None = None  # listener, hearing aid it has
        self._request = 0
        self._worker: Worker | None = None
        self.result: HaaqiEstimate | None = None
        self.scores = QLabel(NO_TRACK_TEXT)
        self.scores.setAccessibleName("HAAQI scores")
        self.explanation = QLabel("")
        self.explanation.setAccessibleName("What the HAAQI estimate compares")
        self.status = QLabel("")
        self.status.setAccessibleName("HAAQI status")
        layout = QVBoxLayout(self)
        for label in (self.scores, self.explanation, self.status):
            # Selectable by keyboard: Tab reaches the scores, and a screen reader reads them.
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                          | Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            label.setWordWrap(True)  # the dock may be narrow on a small screen
            layout.addWidget(label)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SETTLE_MS)
        self.timer.timeout.connect(self.compute)
        unsubscribe = model.subscribe(self._on_change)
        self.destroyed.connect(lambda *_: unsubscribe())

    def set_engine(self, engine: HearingAidEngine, track: OpenedTrack) -> None:
        """A new engine (new track, listener or hearing aid): estimate again."""
        fitted = (engine.listener, self.model.state.hearing_aid)
        if track is not self.track or fitted != self._true_fit:
            self._true_engine = None
        self._true_fit = fitted
        if track is not self.track:  # the scores shown are another track's
            self.result = None
            self.scores.setText(COMPUTING_TEXT)  # once the settings settle
            self.explanation.setText("")
        self.engine, self.track = engine, track
        self.timer.start()

    def forget_track(self) -> None:
        """Another track is opening: drop this one's engine, scores and running estimate."""
        self.drop_pending()
        self.engine = self.track = None
        self._true_engine = None
        self._true_fit = None
        self._show_no_estimate(FAILED_TEXT, WAITING_TEXT)

    def _show_no_estimate(self, scores: str, status: str) -> None:
        """No scores to show, and why (drops the result shown before)."""
        self.result = None
        self.scores.setText(scores)
        self.explanation.setText("")
        self._show_status(status)

    def drop_pending(self) -> None:
        """Stop the debounce and the running estimate (also when the window closes, which
        waits for running jobs); a result on its way is dropped."""
        self.timer.stop()
        if self._worker is not None:
            self._worker.cancel()
        self._request += 1

    def _settings_changed(self) -> None:
        """The scores shown are the old settings': say so, and estimate once they settle."""
        self.drop_pending()
        if self.result is not None:
            self._show_status(STALE_TEXT)
        self.timer.start()

    def _on_change(self, change: MixChange) -> None:
        engine = self.engine
        if "stems" in change.fields:
            # A new track: its engine is on its way (set_engine), and the one here
            # cannot score the new settings.
            self.timer.stop()
        elif change.fields & {"listener", "hearing_aid"} and engine is not None:
            if engine.fits(self.model.listener, self.model.state.hearing_aid):
                self._settings_changed()  # back to what is fitted: no new engine comes
            else:  # a refit is on its way (set_engine); the scores shown are the old fit's
                self.drop_pending()
                self._show_status(WAITING_TEXT)
        elif engine is not None:
            self._settings_changed()

    def compute(self) -> Worker | None:
        """Start an estimate for the current settings (replacing a running one)."""
        engine, track = self.engine, self.track
        if engine is None or track is None:
            return None
        if self._worker is not None:
            self._worker.cancel()
        settings, position = self.model.chain_settings(), int(self.position())
        if all(settings.gains_db.get(name, 0.0) == float("-inf") for name in engine.stem_names):
            self._request += 1  # a result still on its way is for audible stems: dropped
            self._show_no_estimate(MUTED_TEXT, "")
            return None
        hearing_aid = self.model.state.hearing_aid
        true_stems = track.true_stems
        reference_stems = track.stems if true_stems is None else true_stems
        # Stems that are the true ones (a stems folder) are their own reference.
        true_engine = engine if track.true_stems is track.stems else self._true_engine

        def job(progress: Any, cancelled: Any) -> tuple[HaaqiEstimate, Any]:
            built = true_engine
            if true_stems is not None and built is None:
                built = HearingAidEngine(dict(true_stems), engine.listener,
                                         mixture=track.mixture, hearing_aid=hearing_aid)
            check_cancelled(cancelled)  # replaced meanwhile: a newer one is on its way
            return estimate(engine, settings, position, reference_stems=reference_stems,
                            true_engine=built, cancelled=cancelled), built

        self._request += 1
        worker = Worker(job, self._request)
        worker.signals.finished.connect(self._finished)
        worker.signals.failed.connect(self._failed)
        self._worker = worker
        if self.result is None:
            self.scores.setText(COMPUTING_TEXT)
        # What the worker will score: never more than the whole track.
        first, last = (frame / ENGINE_RATE
                       for frame in excerpt_bounds(position, engine.input_frames))
        self._show_status(f"Computing on {excerpt_text(first, last - first)}...")
        return start(worker)

    def _finished(self, request: int, result: tuple[HaaqiEstimate, Any]) -> None:
        if request != self._request:
            return  # a newer estimate is on its way
        scored, built = result
        if built is not None and built is not self.engine:
            self._true_engine = built
        if not (math.isfinite(scored.left) and math.isfinite(scored.right)):
            self._show_no_estimate(SILENT_TEXT,
                                   f"Scored {excerpt_text(scored.start_s, scored.seconds)}")
            return
        self.result = r = scored
        self.scores.setText(f"Left {r.left:.3f}   Right {r.right:.3f}   Mean {r.mean:.3f}")
        self.explanation.setText(COMPARISONS[r.comparison])
        self._show_status(f"Up to date ({excerpt_text(r.start_s, r.seconds)})")

    def _failed(self, request: int, message: str, _details: str) -> None:
        if request != self._request:
            return
        if self.result is None:
            self.scores.setText(FAILED_TEXT)
        self._show_status(f"Could not estimate: {message}")

    def _show_status(self, text: str) -> None:
        self.status.setText(text)
