"""Spectra of the stems, the mixture and the hearing-aid output, with the listener's
audiogram and NAL-R gains on the same log-frequency axis, plus a live spectrum.

Three stacked plots share the x axis (125 Hz - 16 kHz): levels in dB FS per 1/3-octave
band (the scale of :mod:`remixer_app.core.spectra`), the NAL-R gain per ear in dB, and
the thresholds in dB HL on an inverted axis, as audiograms are drawn (O right, X left;
these two are :mod:`remixer_app.ui.hearing_plots`). Stacking beats a second y axis: each
plot keeps its own unit and reads on its own.

The cross-spectra of a track take seconds (one pass over the stems and one over the
aided stems), so :meth:`SpectraPanel.set_track` takes them ready-made from whoever
builds the engine (already off the GUI thread) or computes them in a
:class:`~remixer_app.ui.workers.Worker`, dropping results of a replaced track by
request id. After that every mix change is a 4x4 quadratic form per bin: instant.
The output curve adds what the aid's compressor and clipper do, as the player last
measured it (:mod:`remixer_app.ui.aid_effect_watch` measures it again once the
settings settle, and the panel redraws).

The live curve is the source being heard around ``player.position``
(:mod:`remixer_app.core.live_block`), with the aided source's compressor and clipper
added as for the output curve, so it lies on the same scale as the long-term curves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.band_levels import LIVE_NFFT, live_spectrum
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.live_block import live_block
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange
from remixer_app.core.player import Player
from remixer_app.core.player_transport import PlayState
from remixer_app.core.progress import CancelCheck, ProgressCallback
from remixer_app.core.spectra import MIXTURE_KEY, OUTPUT_KEY, TrackSpectra
from remixer_app.core.spectra_summary import summary_text
from remixer_app.ui.hearing_plots import HearingPlots
from remixer_app.ui.spectra_styles import (
    make_plot,
    pen,
    plot_curve,
    plot_min_height,
    shown_bands,
)
from remixer_app.ui.workers import Worker, report_error, start

LIVE_MS, IDLE_MS = 40, 250       # 25 Hz while playing; a slow look for playback otherwise
REDRAW_MS = 33                   # mix changes redraw at most ~30 times a second
EARS = (("Both ears (mean)", None), ("Left ear", 0), ("Right ear", 1))


class SpectraPanel(QWidget):
    """Stem, mixture, output and live spectra with the audiogram and NAL-R gains.

    Parameters
    ----------
    model
        The settings model; the curves follow its gains, mute, solo and listener.
    parent
        Optional parent widget.
    """

    def __init__(self, model: MixModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Spectra")
        self.model = model
        self.engine: HearingAidEngine | None = None
        self.stems: Mapping[str, np.ndarray] = {}
        self.spectra: TrackSpectra | None = None
        self.player: Player | None = None
        self._request = 0
        self._worker: Worker | None = None
        self._weights_key: tuple[object, np.ndarray] | None = None
        self.ear_combo = QComboBox()
        self.ear_combo.setAccessibleName("Ear shown")
        self.ear_combo.setToolTip("Which ear's signal the spectra show")
        for text, ear in EARS:
            self.ear_combo.addItem(text, ear)
        self.ear_combo.currentIndexChanged.connect(lambda _: self.redraw())
        self.summary = QLabel("No track loaded")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Spectra summary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                             | Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build_plots()
        row = QHBoxLayout()
        show = QLabel("&Show:")
        show.setBuddy(self.ear_combo)
        row.addWidget(show)
        row.addWidget(self.ear_combo)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        for plot, stretch, lines in ((self.level_plot, 4, 11), (self.hearing.gain_plot, 2, 6),
                                     (self.hearing.audiogram_plot, 2, 7)):
            # The plots share whatever height the dock has (pyqtgraph's size hints would
            # ask for a whole screen each); below their minimum the dock scrolls.
            plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
            plot.setMinimumHeight(plot_min_height(plot, lines))
            layout.addWidget(plot, stretch)
        layout.addWidget(self.summary)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_live)
        # A slider drag or a burst of undos changes the mix many times a second, and a
        # redraw takes ~10 ms: they are gathered, and wait while the panel is hidden.
        self._stale = False
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw_if_shown)
        unsubscribe = model.subscribe(self._on_change)
        self.destroyed.connect(lambda *_: unsubscribe())  # a lambda: self is gone by then
        self._show_listener()

    # ------------------------------------------------------------------ building

    def _build_plots(self) -> None:
        self.level_plot = make_plot("Spectra plot", "Level (dB FS per 1/3 octave)", (-90, 0),
                                     legend_columns=4)
        item = self.level_plot.getPlotItem()
        self.hearing = HearingPlots(item)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.live_curve = item.plot(pen=pen((255, 255, 255), Qt.PenStyle.SolidLine, 1.0),
                                    name="Live (now playing)")

    def _curve(self, key: str) -> pg.PlotDataItem:
        if key not in self.curves:
            self.curves[key] = plot_curve(self.level_plot.getPlotItem(), key)
        return self.curves[key]

    # ------------------------------------------------------------------ public API

    @property
    def ear(self) -> int | None:
        """The ear shown: 0 left, 1 right, ``None`` for the mean of both."""
        return self.ear_combo.currentData()

    def set_track(self, engine: HearingAidEngine | None, stems: Mapping[str, np.ndarray]
                  | None = None, *, mixture: np.ndarray | None = None,
                  spectra: TrackSpectra | None = None) -> None:
        """Show ``engine``'s track (``None``: nothing).

        ``spectra`` are the track's :class:`TrackSpectra` when the caller computed them
        where it built the engine; otherwise a worker computes them and the curves
        appear when it finishes.
        """
        self._request += 1
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self.engine, self.stems, self.spectra = engine, stems or {}, spectra
        self._weights_key = None
        item = self.level_plot.getPlotItem()
        kept = {*self.stems, MIXTURE_KEY, OUTPUT_KEY}
        for key in [k for k in self.curves if k not in kept]:
            item.removeItem(self.curves.pop(key))  # and its legend entry: not this track's
        for curve in self.curves.values():
            curve.setData([], [])
        if engine is not None and spectra is None:
            rid, stem_map = self._request, self.stems

            def job(progress: ProgressCallback, cancelled: CancelCheck) -> TrackSpectra:
                return TrackSpectra.compute(engine, stem_map, mixture=mixture,
                                            progress=progress, cancelled=cancelled)

            self._worker = Worker(job, rid)
            self._worker.signals.finished.connect(self._spectra_ready)
            self._worker.signals.failed.connect(self._spectra_failed)
            self.summary.setText("Measuring the spectra of the track...")
            start(self._worker)
        self._show_listener()
        self.redraw()

    def forget_track(self) -> None:
        """Another track is opening: show nothing of this one until its engine comes."""
        self.set_track(None)
        self.summary.setText("Waiting for the hearing aid to be fitted...")

    def set_player(self, player: Player | None) -> None:
        """Follow ``player`` for the live spectrum (``None``: no live curve)."""
        self.player = player
        self.live_curve.setData([], [])
        if self.spectra is not None:
            self.redraw()  # the output curve takes in the player's measure of the aid
        if player is None:
            self.timer.stop()
        else:
            self.timer.start(IDLE_MS)

    def redraw(self) -> None:
        """Recompute the stem, mixture and output curves from the cached cross-spectra."""
        self._stale = False
        spectra, engine = self.spectra, self.engine
        if spectra is None or engine is None:
            if engine is None:
                self.summary.setText("No track loaded")
            return
        player = self.player
        effect = player.aid_effect if player is not None and player.engine is engine else None
        levels = spectra.levels(self._weights(engine), self.ear, effect)
        for key, (freqs, db) in levels.items():
            self._curve(key).setData(*shown_bands(freqs, db))
        top = max(float(np.max(c.yData)) for c in self.curves.values() if c.yData is not None
                  and len(c.yData))
        # headroom for the legend across the top
        self.level_plot.getPlotItem().setYRange(10 * math.floor(top / 10) - 80,
                                                10 * math.ceil(top / 10) + 20, padding=0)
        listener = self.model.listener or engine.listener
        text = summary_text(levels, spectra.stem_names, listener, self.ear_combo.currentText())
        if listener != engine.listener:
            text += (f" The output curve is still fitted for {engine.listener.display_name};"
                     " it follows once the hearing aid is refitted.")
        self.summary.setText(text)
        self.level_plot.setAccessibleDescription(text)

    def refresh_live(self) -> None:
        """The timer's slot: the spectrum of what the player plays now (GUI thread)."""
        player = self.player
        playing = player is not None and player.state is PlayState.PLAYING
        self.timer.setInterval(LIVE_MS if playing else IDLE_MS)
        if not playing or player is None:
            if self.live_curve.xData is not None and len(self.live_curve.xData):
                self.live_curve.setData([], [])
            return
        ours = player.engine is self.engine  # our stems and weights are our engine's
        block = (live_block(player, self.stems, self._weights(player.engine)) if ours
                 else live_block(player))
        ear = self.ear
        freqs, db = live_spectrum(block if ear is None else block[:, ear], player.rate, LIVE_NFFT)
        if player.source == "aided":  # the block is the aid's linear part: add the rest
            db = db + player.aid_effect.gain_db_at(freqs, ear)
        self.live_curve.setData(*shown_bands(freqs, db))

    # ------------------------------------------------------------------ internals

    def _weights(self, engine: HearingAidEngine) -> np.ndarray:
        settings = self.model.chain_settings()
        if self._weights_key is None or self._weights_key[0] is not settings:
            gains = {k: v for k, v in settings.gains_db.items() if k in engine.stem_names}
            self._weights_key = (settings, engine.stem_weights(gains))
        return self._weights_key[1]

    def _spectra_ready(self, rid: int, spectra: object) -> None:
        if rid == self._request and isinstance(spectra, TrackSpectra):
            self._worker = None
            self.spectra = spectra
            self.redraw()

    def _spectra_failed(self, rid: int, message: str, details: str) -> None:
        if rid == self._request:
            self._worker = None
            self.summary.setText(f"Spectra unavailable: {message}")
            report_error(self, "Spectra", message, details)

    def aid_effect_changed(self) -> None:
        """The player's measure of the aid's compressor and clipper changed: redraw."""
        self._mark_stale()

    def _on_change(self, change: MixChange) -> None:
        if "listener" in change.fields:
            self._show_listener()
        if change.fields & {"gains", "mute", "solo", "listener"}:
            self._mark_stale()

    def _mark_stale(self) -> None:
        self._stale = True
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw_if_shown(self) -> None:
        if self._stale and self.isVisible():
            self.redraw()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        """Catch up on mix changes made while the panel was hidden."""
        super().showEvent(event)
        if self._stale:
            self._redraw_timer.start()

    def _show_listener(self) -> None:
        """Thresholds and hearing-aid gains of the model's listener (the engine's if none)."""
        engine = self.engine
        self.hearing.show(self.model.listener or (engine.listener if engine is not None
                                                  else None), engine)
