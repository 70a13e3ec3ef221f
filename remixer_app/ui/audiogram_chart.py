"""The clinical audiogram chart, whose points are dragged vertically with the mouse.

The chart follows the clinical convention (ASHA 1990): frequency on a log axis,
hearing level in dB HL growing *downwards*, right ear "O" in red, left ear "X" in
blue. Symbols, line styles and the legend text carry the ear as well as colour.
Its text follows the application font, and so does the least size it asks for. It takes
no keyboard focus (the audiogram table is its keyboard twin), so Tab passes it by.
It is one view of :class:`~remixer_app.ui.audiogram_editor.AudiogramEditor`, and the
audiogram of :mod:`remixer_app.ui.session_report`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtWidgets import QWidget

from remixer_app.core.audiogram import MAX_LEVEL, MIN_LEVEL, Listener
from remixer_app.ui.audiogram_points import (
    EAR_STYLE,
    EARS,
    LEFT,
    RIGHT,
    ear_of,
    snap_level,
    with_level,
)
from remixer_app.ui.spectra_styles import text_size

EAR_LABELS = {RIGHT: "Right (O)", LEFT: "Left (X)"}
FREQ_RANGE = (125.0, 8000.0)
MAJOR_TICKS = ((250, "250"), (500, "500"), (1000, "1k"), (2000, "2k"), (4000, "4k"),
               (8000, "8k"))
MINOR_TICKS = (125, 750, 1500, 3000, 6000)
HIT_RADIUS_PX = 12.0
#: The least width and height, in lines of text: the octave labels stay apart.
MIN_LINES = (20, 17)


class _DragViewBox(pg.ViewBox):
    """A fixed view whose only mouse interaction is dragging audiogram points."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.chart: AudiogramChart | None = None
        self._drag: tuple[str, int] | None = None

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:  # noqa: N802
        chart = self.chart
        if chart is None or axis is not None or ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            self._drag = chart._point_at(ev.buttonDownScenePos())
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        ear, index = self._drag
        level = self.mapSceneToView(ev.scenePos()).y()
        if ev.isFinish():
            self._drag = None
            chart._finish_drag(ear, index, level)
        else:
            chart._preview_drag(ear, index, level)


class AudiogramChart(pg.PlotWidget):
    """The clinical audiogram chart; points drag vertically in 5 dB steps.

    Signals
    -------
    audiogramChanged(Listener)
        Once per finished drag that changed a level, with the new listener. Moves
        during the drag only redraw, so the sound is not re-rendered per pixel.
    """

    audiogramChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        view = _DragViewBox()
        super().__init__(parent, background="w", viewBox=view)
        view.chart = self
        self.setAccessibleName("Audiogram chart")
        self.setAccessibleDescription("Hearing level per frequency; drag a point to change it, "
                                      "or use the audiogram table to edit with the keyboard")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._listener: Listener | None = None
        item = self.getPlotItem()
        item.setLogMode(x=True, y=False)  # before the ranges: it re-enables auto-range
        item.hideButtons()
        item.setMenuEnabled(False)
        view.invertY(True)
        view.disableAutoRange()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "Frequency (Hz)")
        item.setLabel("left", "Hearing level (dB HL)")
        item.getAxis("bottom").setTicks([
            [(math.log10(f), label) for f, label in MAJOR_TICKS],
            [(math.log10(f), "") for f in MINOR_TICKS]])
        item.getAxis("left").setTicks([[(v, f"{v}") for v in range(-10, 121, 10)]])
        for axis in ("bottom", "left"):
            item.getAxis(axis).setPen("k")
            item.getAxis(axis).setTextPen("k")
        self.legend = item.addLegend(offset=(10, -10), labelTextColor="k",
                                     labelTextSize=text_size(),
                                     brush=pg.mkBrush(255, 255, 255, 220), pen="k")
        self.curves: dict[str, pg.PlotDataItem] = {}
        for ear in EARS:
            style = EAR_STYLE[ear]
            pen = pg.mkPen(style["color"], width=2, style=style["dash"])
            # A white fill keeps the "O" open, as on paper, and hides the line under it.
            self.curves[ear] = item.plot([], [], name=EAR_LABELS[ear], pen=pen,
                                         symbol=style["symbol"], symbolSize=14,
                                         symbolPen=pg.mkPen(style["color"], width=2),
                                         symbolBrush="w" if ear == RIGHT else style["color"])
        self._set_ranges()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """:data:`MIN_LINES` lines of the chart's font."""
        line = self.fontMetrics().height()
        return QSize(MIN_LINES[0] * line, MIN_LINES[1] * line)

    def _set_ranges(self, freqs: np.ndarray | None = None) -> None:
        lo, hi = FREQ_RANGE
        if freqs is not None and freqs.size:
            lo, hi = min(lo, float(freqs.min())), max(hi, float(freqs.max()))
        self.getViewBox().setRange(xRange=(math.log10(lo) - 0.08, math.log10(hi) + 0.08),
                                   yRange=(MIN_LEVEL - 5, MAX_LEVEL + 5), padding=0)

    def listener(self) -> Listener | None:
        """The listener shown."""
        return self._listener

    def set_listener(self, listener: Listener | None) -> None:
        """Show ``listener`` (or nothing); emits no signal."""
        self._listener = listener
        for ear, curve in self.curves.items():
            if listener is None:
                curve.setData([], [])
            else:
                gram = ear_of(listener, ear)
                curve.setData(gram.frequencies, gram.levels)
        if listener is not None:
            self._set_ranges(np.concatenate([listener.right.frequencies,
                                             listener.left.frequencies]))

    def _point_at(self, scene_pos: QPointF) -> tuple[str, int] | None:
        """The (ear, index) of the shown point nearest ``scene_pos`` within the hit radius."""
        if self._listener is None:
            return None
        view = self.getViewBox()
        best: tuple[float, str, int] | None = None
        for ear in EARS:  # on a tie the right ear wins, since it is listed first
            if not self.curves[ear].isVisible():  # hidden from the legend
                continue
            gram = ear_of(self._listener, ear)
            for i, (f, level) in enumerate(zip(gram.frequencies, gram.levels, strict=True)):
                p = view.mapViewToScene(QPointF(math.log10(f), level))
                dist = math.hypot(p.x() - scene_pos.x(), p.y() - scene_pos.y())
                if dist <= HIT_RADIUS_PX and (best is None or dist < best[0]):
                    best = (dist, ear, i)
        return None if best is None else (best[1], best[2])

    def _preview_drag(self, ear: str, index: int, level: float) -> None:
        """Redraw ``ear`` with point ``index`` at ``level`` (snapped) without emitting."""
        if self._listener is None:
            return
        gram = ear_of(self._listener, ear)
        levels = gram.levels.copy()
        levels[index] = snap_level(level)
        self.curves[ear].setData(gram.frequencies, levels)

    def _finish_drag(self, ear: str, index: int, level: float) -> None:
        """End a drag: snap and clamp ``level``, store it and emit :attr:`audiogramChanged`."""
        if self._listener is None:
            return
        level = snap_level(level)
        if level == ear_of(self._listener, ear).levels[index]:
            self.set_listener(self._listener)  # undo any preview drawn during the drag
            return
        self.set_listener(with_level(self._listener, ear, index, level))
        self.audiogramChanged.emit(self._listener)
