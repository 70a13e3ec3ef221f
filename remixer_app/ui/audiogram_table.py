"""The audiogram as a table: the keyboard's way to edit it.

One row per frequency, a column per ear; typing a level into a cell changes it, and an
invalid entry is refused with the reason. It is one view of
:class:`~remixer_app.ui.audiogram_editor.AudiogramEditor`, beside the chart, so the
editor never needs a mouse.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from remixer_app.core.audiogram import MAX_LEVEL, MIN_LEVEL, Listener
from remixer_app.ui.audiogram_points import EAR_STYLE, EARS, ear_of, parse_level, with_level

HEADINGS = tuple(f"{ear.capitalize()} dB HL" for ear in EARS)  # the columns'
CELL_PADDING = 8  # px each side of a heading's text


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
        self.setHorizontalHeaderLabels(list(HEADINGS))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QAbstractItemView.EditTrigger.AnyKeyPressed
                             | QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        # Tab leaves the table (the arrow keys move between cells): Qt's default walks the
        # cells round and round, and the rest of the window cannot be reached by Tab.
        self.setTabKeyNavigation(False)
        self._listener: Listener | None = None
        self._freqs: list[float] = []
        self.itemChanged.connect(self._on_item_changed)

    def listener(self) -> Listener | None:
        """The listener shown."""
        return self._listener

    def set_listener(self, listener: Listener | None) -> None:
        """Show ``listener`` (or nothing); emits no signal."""
        self._listener = listener
        self._freqs = [] if listener is None else [
            float(f) for f in np.union1d(listener.right.frequencies, listener.left.frequencies)]
        # Blocked, or filling the cells would look like user edits.
        with QSignalBlocker(self):
            self.setRowCount(len(self._freqs))
            self.setVerticalHeaderLabels([f"{f:g} Hz" for f in self._freqs])
            for row in range(len(self._freqs)):
                for col in range(len(EARS)):
                    self._fill(row, col)
        self._fit_width()

    def _fit_width(self) -> None:
        """Never narrower than the frequencies, both ear headings and a scroll bar."""
        metrics = self.horizontalHeader().fontMetrics()
        columns = sum(metrics.horizontalAdvance(text) + 2 * CELL_PADDING for text in HEADINGS)
        self.setMinimumWidth(self.verticalHeader().sizeHint().width() + columns
                             + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth())

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
                item.setForeground(QColor(*EAR_STYLE[EARS[col]]["color"]))
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
