"""The transport's waveform: a track's envelope against time, a playhead and a loop region.

:class:`WaveformPlot` draws and turns the user's clicks, playhead drags and seeking
keys into one ``seekRequested`` signal; the transport bar tells the player, and listens
to the loop region's ``sigRegionChangeFinished`` itself.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QWidget

from remixer_app.core.overview import Overview

COLOUR = (100, 140, 200)
MIN_HEIGHT, PREFERRED_HEIGHT = 80, 160
#: The most of the screen's height the plot asks for: on a small screen (1024x600) the
#: panels above it need the room more, and the layout would take it from both alike.
SCREEN_SHARE = 0.14
#: Seconds moved by the arrow keys and by Page Up/Down.
ARROW_SECONDS, PAGE_SECONDS = 5.0, 30.0
FOCUS_FRAME_WIDTH = 3


class WaveformPlot(pg.PlotWidget):
    """A track's min/max envelope in seconds, with a draggable playhead and loop region.

    Parameters
    ----------
    parent
        Optional parent widget.

    Signals
    -------
    seekRequested(float)
        The user clicked the plot, let go of the playhead or pressed a seeking key
        (Left/Right 5 s, Page Up/Down 30 s, Home/End) for this time (s).

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
        self.setToolTip("Click or drag the playhead to move through the track; with the "
                        "focus here, Left/Right move 5 s, Home/End go to the start/end")
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

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Seek from the keyboard: the plot is otherwise a mouse-only control."""
        now = float(self.playhead.value())
        target = {Qt.Key.Key_Left: now - ARROW_SECONDS, Qt.Key.Key_Right: now + ARROW_SECONDS,
                  Qt.Key.Key_PageUp: now - PAGE_SECONDS, Qt.Key.Key_PageDown: now + PAGE_SECONDS,
                  Qt.Key.Key_Home: 0.0, Qt.Key.Key_End: self.duration_s}.get(Qt.Key(event.key()))
        if target is None or event.modifiers() not in (Qt.KeyboardModifier.NoModifier,
                                                        Qt.KeyboardModifier.KeypadModifier):
            super().keyPressEvent(event)
            return
        self.seekRequested.emit(min(max(target, 0.0), self.duration_s))
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        """Draw the plot, framed in the highlight colour while it has the keyboard focus."""
        super().paintEvent(event)
        if not self.hasFocus():
            return
        painter = QPainter(self.viewport())
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight),
                            FOCUS_FRAME_WIDTH))
        half = FOCUS_FRAME_WIDTH // 2
        painter.drawRect(self.viewport().rect().adjusted(half, half, -half, -half))
        painter.end()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        """Show the focus frame."""
        super().focusInEvent(event)
        self.viewport().update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        """Hide the focus frame."""
        super().focusOutEvent(event)
        self.viewport().update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """A strip: a graphics view's default hint (a few hundred pixels high) would
        take the room from the panels, and so would a fixed one on a small screen."""
        share = int(self.screen().availableGeometry().height() * SCREEN_SHARE)
        return QSize(super().sizeHint().width(), min(PREFERRED_HEIGHT, max(MIN_HEIGHT, share)))
