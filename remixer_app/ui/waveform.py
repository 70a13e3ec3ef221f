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

from remixer_app.core.overview import Overview

COLOUR = (100, 140, 200)
MIN_HEIGHT, PREFERRED_HEIGHT = 80, 160


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

    def set_overview(self, overview: Overview | None) -> None:
        """Show a track's overview (``None``: nothing)."""
        if overview is None:
            overview = Overview(np.zeros(0), np.zeros(0), np.zeros(0), 1e-3)
        self._low.setData(overview.seconds, overview.low)
        self._high.setData(overview.seconds, overview.high)
        self.duration_s = overview.duration_s
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
