"""Keeps the player's measure of the aid's compressor and clipper up to date.

The player level-matches the aided source, and the spectra draw the aid's output, from
the aid's linear part plus an :class:`~remixer_app.core.aid_effect.AidEffect` measured
at some settings (first where the player was built). The compressor and the clipper
take more level away as the gains rise, so after the settings change and settle for
:data:`SETTLE_MS`, a worker measures the effect again (a tenth to a few tenths of a
second) and hands it to the player; :attr:`AidEffectWatch.measured` tells the spectra.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from remixer_app.core.aid_effect import AidEffect, measure_aid_effect
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange
from remixer_app.core.player import Player
from remixer_app.ui.workers import Worker, report_error, start

SETTLE_MS = 250  #: quiet time after a change before measuring (a slider drag is one)
#: The changes that move what the compressor and the clipper do.
LEVEL_FIELDS = frozenset({"gains", "mute", "solo", "compressor", "clip"})


class AidEffectWatch(QObject):
    """Measures the aid's effect for the current player after each settled change."""

    measured = Signal(object)  # the Player whose effect was just set

    def __init__(self, model: MixModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player: Player | None = None
        self._request = 0
        self._worker: Worker | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SETTLE_MS)
        self.timer.timeout.connect(self.measure)
        unsubscribe = model.subscribe(self._on_change)
        self.destroyed.connect(lambda *_: unsubscribe())

    def set_player(self, player: Player | None) -> None:
        """Follow ``player`` (``None``: none). Its settings may have moved on from those
        it was built and measured with, even after this (the window attaches it to the
        mix after): once they settle, :meth:`measure` sees to it."""
        self.drop_pending()
        self.player = player
        if player is not None:
            self.timer.start()

    def drop_pending(self) -> None:
        """Stop the debounce and the running measurement; a result on its way is dropped."""
        self.timer.stop()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._request += 1

    def measure(self) -> Worker | None:
        """Measure the effect at the player's settings now, unless it was measured at
        them already (the timer's slot)."""
        player = self.player
        if player is None or player.aid_effect.settings == player.settings:
            return None
        self.drop_pending()
        engine, settings = player.engine, player.settings

        def job(_progress: Any, _cancelled: Any) -> AidEffect:
            return measure_aid_effect(engine, settings)

        self._worker = Worker(job, self._request)
        self._worker.signals.finished.connect(self._finished)
        self._worker.signals.failed.connect(self._failed)
        return start(self._worker)

    def _finished(self, request: int, effect: AidEffect) -> None:
        if request == self._request and self.player is not None:
            self._worker = None
            self.player.set_aid_effect(effect)
            self.measured.emit(self.player)

    def _failed(self, request: int, message: str, details: str) -> None:
        if request == self._request:
            self._worker = None
            report_error(None, "Level of the hearing-aid output", message, details)

    def _on_change(self, change: MixChange) -> None:
        if self.player is not None and change.fields & LEVEL_FIELDS:
            self.timer.start()
