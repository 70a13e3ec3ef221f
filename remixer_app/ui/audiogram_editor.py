"""An editable audiogram: the clinical chart, a table of the same values, and undo.

The chart follows the clinical convention (ASHA 1990): frequency on a log axis,
hearing level in dB HL growing *downwards*, right ear "O" in red, left ear "X" in
blue. Symbols, line styles and the legend text carry the ear as well as colour.
Points are dragged vertically with the mouse; the table beside it edits the same
values from the keyboard, so the editor never needs a mouse.

Every edit produces a new, validated :class:`~remixer_app.core.audiogram.Listener`
(they are immutable); the views are only ever *shown* a listener, never asked for
one, so there is a single source of truth: :meth:`AudiogramEditor.listener`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.audiogram import MAX_LEVEL, MIN_LEVEL, Audiogram, Listener

RIGHT, LEFT = "right", "left"
EARS = (RIGHT, LEFT)  # table column order: clinicians read right ear first
EAR_LABELS = {RIGHT: "Right (O)", LEFT: "Left (X)"}
SNAP_DB = 5.0  # audiometers step in 5 dB
FREQ_RANGE = (125.0, 8000.0)
MAJOR_TICKS = ((250, "250"), (500, "500"), (1000, "1k"), (2000, "2k"), (4000, "4k"),
               (8000, "8k"))
MINOR_TICKS = (125, 750, 1500, 3000, 6000)
HIT_RADIUS_PX = 12.0
UNDO_LIMIT = 20
_STYLE = {RIGHT: {"color": (200, 0, 0), "symbol": "o", "dash": Qt.PenStyle.SolidLine},
          LEFT: {"color": (0, 60, 200), "symbol": "x", "dash": Qt.PenStyle.DashLine}}


def snap_level(level: float) -> float:
    """``level`` rounded to the nearest 5 dB and clamped to the valid dB HL range."""
    return float(min(MAX_LEVEL, max(MIN_LEVEL, SNAP_DB * round(level / SNAP_DB))))


def parse_level(text: str) -> float:
    """A typed hearing level in dB HL.

    Raises
    ------
    ValueError
        ``text`` is not a finite number or is outside ``MIN_LEVEL .. MAX_LEVEL``;
        the message is meant for the user.
    """
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number of dB HL") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a number of dB HL")
    if not MIN_LEVEL <= value <= MAX_LEVEL:
        raise ValueError(f"{value:g} dB HL is outside {MIN_LEVEL:g}..{MAX_LEVEL:g}")
    return value


def ear_of(listener: Listener, ear: str) -> Audiogram:
    """The audiogram of ``ear`` (``"right"`` or ``"left"``)."""
    return listener.right if ear == RIGHT else listener.left


def with_level(listener: Listener, ear: str, index: int, level: float) -> Listener:
    """A copy of ``listener`` with one threshold changed (validated by ``Audiogram``)."""
    gram = ear_of(listener, ear)
    levels = gram.levels.copy()
    levels[index] = level
    return replace(listener, **{ear: Audiogram(gram.frequencies, levels)})


def describe(ear: str, frequency: float, level: float) -> str:
    """E.g. ``"Right ear, 1000 Hz: 45 dB HL"``, for status lines."""
    return f"{ear.capitalize()} ear, {frequency:g} Hz: {level:g} dB HL"


class _DragViewBox(pg.ViewBox):
    """A fixed view whose only mouse interaction is dragging audiogram points."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.chart: AudiogramChart | None = None
        self._drag: tuple[str, int] | None = None

    def mouseDragEvent(self, ev: object, axis: int | None = None) -> None:  # noqa: N802
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
                                     brush=pg.mkBrush(255, 255, 255, 220), pen="k")
        self.curves: dict[str, pg.PlotDataItem] = {}
        for ear in EARS:
            style = _STYLE[ear]
            pen = pg.mkPen(style["color"], width=2, style=style["dash"])
            # A white fill keeps the "O" open, as on paper, and hides the line under it.
            self.curves[ear] = item.plot([], [], name=EAR_LABELS[ear], pen=pen,
                                         symbol=style["symbol"], symbolSize=14,
                                         symbolPen=pg.mkPen(style["color"], width=2),
                                         symbolBrush="w" if ear == RIGHT else style["color"])
        self._set_ranges()

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


class AudiogramTable(QTableWidget):
    """The audiogram as a table: one row per frequency, columns right and left ear.

    A frequency measured in one ear only shows "-" for the other, read-only.

    Signals
    -------
    audiogramChanged(Listener)
        After a cell was changed to a valid, different level.
    entryRejected(str)
        A typed value was invalid; the cell went back to its level. The text says why.
    """

    audiogramChanged = Signal(object)
    entryRejected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(EARS), parent)
        self.setAccessibleName("Audiogram table")
        self.setAccessibleDescription("Hearing level in dB HL per frequency; type a number to "
                                      f"change it ({MIN_LEVEL:g} to {MAX_LEVEL:g})")
        self.setHorizontalHeaderLabels([f"{ear.capitalize()} dB HL" for ear in EARS])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QAbstractItemView.EditTrigger.AnyKeyPressed
                             | QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self._listener: Listener | None = None
        self._freqs: list[float] = []
        self.itemChanged.connect(self._on_item_changed)

    def listener(self) -> Listener | None:
        """The listener shown."""
        return self._listener

    def set_listener(self, listener: Listener | None) -> None:
        """Show ``listener`` (or nothing); emits no signal."""
        self._listener = listener
        freqs = [] if listener is None else np.union1d(listener.right.frequencies,
                                                       listener.left.frequencies)
        self._freqs = [float(f) for f in freqs]
        # Blocked, or filling the cells would look like user edits.
        with QSignalBlocker(self):
            self.setRowCount(len(self._freqs))
            self.setVerticalHeaderLabels([f"{f:g} Hz" for f in self._freqs])
            for row in range(len(self._freqs)):
                for col in range(len(EARS)):
                    self._fill(row, col)

    def _index(self, row: int, col: int) -> int | None:
        assert self._listener is not None
        hits = np.flatnonzero(ear_of(self._listener, EARS[col]).frequencies == self._freqs[row])
        return int(hits[0]) if hits.size else None

    def _fill(self, row: int, col: int) -> None:
        # The item is updated in place, not replaced: this runs inside itemChanged, and
        # Qt may still hold the item being edited.
        item = self.item(row, col)
        with QSignalBlocker(self):
            if item is None:
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setForeground(QColor(*_STYLE[EARS[col]]["color"]))
                self.setItem(row, col, item)
            index = self._index(row, col)
            editable = item.flags() | Qt.ItemFlag.ItemIsEditable
            if index is None:
                item.setText("-")
                item.setFlags(editable & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip("Not measured in this ear")
            else:
                gram = ear_of(self._listener, EARS[col])  # type: ignore[arg-type]
                item.setText(f"{gram.levels[index]:g}")
                item.setFlags(editable)
                item.setToolTip("")

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        row, col = item.row(), item.column()
        index = None if self._listener is None else self._index(row, col)
        if index is None:
            return
        assert self._listener is not None
        ear = EARS[col]
        try:
            level = parse_level(item.text())
        except ValueError as exc:
            self._fill(row, col)
            self.entryRejected.emit(f"{ear.capitalize()} ear, {self._freqs[row]:g} Hz: {exc}; "
                                    "the previous value was kept")
            return
        if level != ear_of(self._listener, ear).levels[index]:
            self._listener = with_level(self._listener, ear, index, level)
            self.audiogramChanged.emit(self._listener)
        self._fill(row, col)  # normalises the text, e.g. " 40.0" -> "40"


class AudiogramEditor(QWidget):
    """Chart, table, ear-copy buttons and a small undo history for one listener.

    Signals
    -------
    listenerEdited(Listener)
        After every user edit (drag, cell, ear copy, undo) with the new listener.
        :meth:`set_listener` does not emit it.
    """

    listenerEdited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Audiogram editor")
        self._listener: Listener | None = None
        self._history: deque[Listener] = deque(maxlen=UNDO_LIMIT)
        self.chart = AudiogramChart()
        self.table = AudiogramTable()
        self.copy_right_button = QPushButton("Copy right to left")
        self.copy_right_button.setAccessibleName("Copy right ear to left ear")
        self.copy_left_button = QPushButton("Copy left to right")
        self.copy_left_button.setAccessibleName("Copy left ear to right ear")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setAccessibleName("Undo last audiogram edit")
        self.undo_button.setToolTip("Undo the last audiogram edit (Ctrl+Z)")
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Audiogram editor status")
        self.status_label.setWordWrap(True)

        self.chart.audiogramChanged.connect(self._edited)
        self.table.audiogramChanged.connect(self._edited)
        self.table.entryRejected.connect(self._show_rejection)
        self.copy_right_button.clicked.connect(lambda: self.copy_ear(RIGHT))
        self.copy_left_button.clicked.connect(lambda: self.copy_ear(LEFT))
        self.undo_button.clicked.connect(self.undo)
        # Scoped to the editor so Ctrl+Z elsewhere still undoes the mix, not the audiogram.
        shortcut = QShortcut(QKeySequence.StandardKey.Undo, self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.undo)

        buttons = QHBoxLayout()
        for button in (self.copy_right_button, self.copy_left_button, self.undo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        views = QHBoxLayout()
        views.addWidget(self.chart, 3)
        views.addWidget(self.table, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(views, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        self._update_controls()

    def listener(self) -> Listener | None:
        """The listener as edited so far."""
        return self._listener

    def set_listener(self, listener: Listener | None, *, reset_history: bool = True) -> None:
        """Show ``listener`` without emitting :attr:`listenerEdited`.

        Parameters
        ----------
        listener
            The listener to edit, or ``None`` to show nothing.
        reset_history
            Forget the undo history: edits of another listener must not be undone
            onto this one. The owner passes ``False`` when ``listener`` is this
            editor's own edit coming back renamed.
        """
        if reset_history:
            self._history.clear()
            self.status_label.clear()
        self._show(listener)

    def _show(self, listener: Listener | None) -> None:
        self._listener = listener
        self.chart.set_listener(listener)
        self.table.set_listener(listener)
        self._update_controls()

    def _update_controls(self) -> None:
        present = self._listener is not None
        self.copy_right_button.setEnabled(present)
        self.copy_left_button.setEnabled(present)
        self.undo_button.setEnabled(bool(self._history))

    def _commit(self, listener: Listener, message: str) -> None:
        if self._listener is not None:
            self._history.append(self._listener)
        self._show(listener)
        self.status_label.setText(message)
        self.listenerEdited.emit(listener)

    def _edited(self, listener: Listener) -> None:
        old = self._listener
        message = "Audiogram changed"
        if old is not None:
            for ear in EARS:
                before, after = ear_of(old, ear), ear_of(listener, ear)
                if before.frequencies.shape == after.frequencies.shape:
                    changed = np.flatnonzero(before.levels != after.levels)
                    if changed.size:
                        i = changed[0]
                        message = describe(ear, after.frequencies[i], after.levels[i])
        self._commit(listener, message)

    def _show_rejection(self, message: str) -> None:
        self.status_label.setText(f"Not changed: {message}")

    def copy_ear(self, source: str) -> bool:
        """Copy ``source`` ear's audiogram onto the other ear; returns whether it changed."""
        if self._listener is None:
            return False
        target = LEFT if source == RIGHT else RIGHT
        gram = ear_of(self._listener, source)
        if ear_of(self._listener, target) == gram:
            self.status_label.setText("Both ears already have the same audiogram")
            return False
        self._commit(replace(self._listener, **{target: gram}),
                     f"Copied the {source} ear to the {target} ear")
        return True

    def undo(self) -> bool:
        """Go back to the audiogram before the last edit; returns whether there was one."""
        if not self._history:
            self.status_label.setText("Nothing to undo")
            return False
        self._show(self._history.pop())
        self.status_label.setText("Undid the last edit")
        assert self._listener is not None
        self.listenerEdited.emit(self._listener)
        return True
