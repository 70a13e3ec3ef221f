"""The transport's waveform: a track's envelope against time, a playhead and a loop region.

:class:`WaveformPlot` draws and turns the user's clicks and playhead drags into one
``seekRequested`` signal; the transport bar tells the player, and listens to the loop
region's ``sigRegionChangeFinished`` itself.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QWidget

ENVELOPE_BINS = 2000  # waveform columns; more than a screen is wide
COLOUR = (100, 140, 200)
MIN_HEIGHT, PREFERRED_HEIGHT = 80, 160


def envelope(audio: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """Bin starts (frames) and the min and max of each bin of ``audio``'s channel mean."""
    mono = np.asarray(audio, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    starts = np.unique(np.linspace(0, mono.size, min(bins, mono.size), endpoint=False
                                   ).astype(np.int64))
    if mono.size == 0:
        return starts, np.zeros(0), np.zeros(0)
    return starts, np.minimum.reduceat(mono, starts), np.maximum.reduceat(mono, starts)


class WaveformPlot(pg.PlotWidget):
    """A track's min/max envelope in seconds, with a draggable playhead and loop region.

    Parameters
    ----------
    parent
        Optional parent widget.

    Signals
    -------
    seekRequested(float)
        The user clicked the plot or let go of the playhead at this time (s).

    Attributes
    ----------
    playhead
        The position line; the user may drag it.
    loop_region
        The loop's start and end, hidden until a loop is on; the user may drag its edges.
    duration_s
        The length of the track shown, in seconds (1 ms when there is none).
    """

    seekRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Waveform")
        self.setToolTip("Click or drag the playhead to move through the track")
        self.setMinimumHeight(MIN_HEIGHT)
        self.duration_s = 1e-3
        item = self.getPlotItem()
        item.hideAxis("left")
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.setYRange(-1.0, 1.0, padding=0)
        self._low = item.plot(pen=pg.mkPen(*COLOUR))
        self._high = item.plot(pen=pg.mkPen(*COLOUR))
        item.addItem(pg.FillBetweenItem(self._low, self._high, brush=pg.mkBrush(*COLOUR, 120)))
        self.loop_region = pg.LinearRegionItem((0.0, 1.0), movable=True)
        self.loop_region.setVisible(False)
        item.addItem(self.loop_region)
        self.playhead = pg.InfiniteLine(0.0, movable=True, pen=pg.mkPen("w", width=2))
        self.playhead.sigPositionChangeFinished.connect(
            lambda line: self.seekRequested.emit(line.value()))
        item.addItem(self.playhead)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_mixture(self, mixture: np.ndarray, rate: float) -> None:
        """Show the envelope of ``mixture`` ((frames,) or (frames, 2)) sampled at ``rate``."""
        starts, low, high = envelope(mixture)
        seconds = starts / rate
        self._low.setData(seconds, low)
        self._high.setData(seconds, high)
        self.duration_s = max(len(mixture) / rate, 1e-3)
        self.getPlotItem().setXRange(0.0, self.duration_s, padding=0)
        self.playhead.setBounds((0.0, self.duration_s))
        self.loop_region.setBounds((0.0, self.duration_s))

    def show_region(self, start: float, end: float) -> None:
        """Move the loop region without it reporting the move to its listeners."""
        self.loop_region.blockSignals(True)
        try:
            self.loop_region.setRegion((start, end))
        finally:
            self.loop_region.blockSignals(False)

    def _clicked(self, event: object) -> None:
        if getattr(event, "button", lambda: None)() != Qt.MouseButton.LeftButton:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())  # type: ignore
        self.seekRequested.emit(min(max(point.x(), 0.0), self.duration_s))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """A strip: the plot grows into spare room, but a graphics view's default hint
        (a few hundred pixels high) would take it from the panels on small screens."""
        return QSize(super().sizeHint().width(), PREFERRED_HEIGHT)
