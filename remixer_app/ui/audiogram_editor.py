"""An editable audiogram: the clinical chart, a table of the same values, and undo.

The chart (:class:`~remixer_app.ui.audiogram_chart.AudiogramChart`) is edited by
dragging points with the mouse; the table beside it
(:class:`~remixer_app.ui.audiogram_table.AudiogramTable`) edits the same values from the
keyboard, so the editor never needs a mouse.

Every edit produces a new, validated :class:`~remixer_app.core.audiogram.Listener`
(they are immutable); the views are only ever *shown* a listener, never asked for
one, so there is a single source of truth: :meth:`AudiogramEditor.listener`.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.audiogram import Listener
from remixer_app.ui.audiogram_chart import AudiogramChart
from remixer_app.ui.audiogram_points import EARS, LEFT, RIGHT, describe, ear_of, with_ear
from remixer_app.ui.audiogram_table import AudiogramTable
from remixer_app.ui.focus_keys import OWN_UNDO

UNDO_LIMIT = 20


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
        self._redo: deque[Listener] = deque(maxlen=UNDO_LIMIT)
        self.chart = AudiogramChart()
        self.table = AudiogramTable()
        self.copy_right_button = QPushButton("Copy right to left")
        self.copy_right_button.setAccessibleName("Copy right ear to left ear")
        self.copy_left_button = QPushButton("Copy left to right")
        self.copy_left_button.setAccessibleName("Copy left ear to right ear")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setAccessibleName("Undo last audiogram edit")
        self.undo_button.setToolTip("Undo the last audiogram edit (Ctrl+Z)")
        self.redo_button = QPushButton("Redo")
        self.redo_button.setAccessibleName("Redo undone audiogram edit")
        self.redo_button.setToolTip("Redo the last undone audiogram edit (Ctrl+Shift+Z)")
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Audiogram editor status")
        self.status_label.setWordWrap(True)

        self.chart.audiogramChanged.connect(self._edited)
        self.table.audiogramChanged.connect(self._edited)
        self.table.entryRejected.connect(self._show_rejection)
        self.copy_right_button.clicked.connect(lambda: self.copy_ear(RIGHT))
        self.copy_left_button.clicked.connect(lambda: self.copy_ear(LEFT))
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        # Undo and Redo in the editor act on the audiogram (keyPressEvent), elsewhere on
        # the mix.
        self.setProperty(OWN_UNDO, True)

        # Two rows and, where the editor is narrow, the chart above the table: it opens
        # in the listener panel, which a 1024 px screen shares with the stems.
        self._buttons = QGridLayout()
        for index, button in enumerate((self.copy_right_button, self.copy_left_button,
                                        self.undo_button, self.redo_button)):
            self._buttons.addWidget(button, index // 2, index % 2)
        self._buttons.setColumnStretch(2, 1)
        self._views = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._views.addWidget(self.chart, 3)
        self._views.addWidget(self.table, 2)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(self._views, 1)
        self._layout.addLayout(self._buttons)
        self._layout.addWidget(self.status_label)
        self._update_controls()

    def _width_for(self, widths: list[int]) -> int:
        margins = self._layout.contentsMargins()
        return max(widths) + margins.left() + margins.right()

    def _view_widths(self) -> list[int]:
        return [max(view.minimumWidth(), view.minimumSizeHint().width())
                for view in (self.chart, self.table)]

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """As narrow as the chart above the table allows, even while side by side."""
        hint = super().minimumSizeHint()
        hint.setWidth(self._width_for([*self._view_widths(),
                                       self._buttons.minimumSize().width()]))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """The chart beside the table where both fit, above it otherwise."""
        side_by_side = self._width_for([sum(self._view_widths()) + self._views.spacing()])
        direction = (QBoxLayout.Direction.LeftToRight
                     if event.size().width() >= side_by_side
                     else QBoxLayout.Direction.TopToBottom)
        if self._views.direction() != direction:
            self._views.setDirection(direction)
        super().resizeEvent(event)

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
            self._redo.clear()
            self.status_label.clear()
        self._show(listener)

    def return_to(self, listener: Listener, message: str) -> bool:
        """Show ``listener``, put back from outside, as if the user had undone or redone
        their way to it, without emitting :attr:`listenerEdited`.

        For an audiogram put back by a cancelled fitting (the one fitted): the user's
        edits since must stay an Undo or Redo away, not be forgotten.

        Parameters
        ----------
        listener
            An audiogram of the undo history (the newest equal one: undone to) or of
            the redo stack (redone to); when it is in neither, all of the history goes
            to the redo stack, so that Redo brings the edits back one by one.
        message
            What the status line says happened.

        Returns
        -------
        bool
            Whether ``listener`` was in the undo history or the redo stack.
        """
        for source, target in ((self._history, self._redo), (self._redo, self._history)):
            if listener in source:
                while self._listener != listener:
                    assert self._listener is not None
                    target.append(self._listener)
                    self._listener = source.pop()
                break
        else:
            if self._listener is not None:
                self._redo.append(self._listener)
            while self._history:
                self._redo.append(self._history.pop())
            self._show(listener)
            self.status_label.setText(message)
            return False
        self._show(listener)
        self.status_label.setText(message)
        return True

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
        self.redo_button.setEnabled(bool(self._redo))

    def _commit(self, listener: Listener, message: str) -> None:
        if self._listener is not None:
            self._history.append(self._listener)
        self._redo.clear()
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
        self._commit(with_ear(self._listener, target, gram),
                     f"Copied the {source} ear to the {target} ear")
        return True

    def undo(self) -> bool:
        """Go back to the audiogram before the last edit; returns whether there was one."""
        return self._step(self._history, self._redo, "Undid the last edit", "Nothing to undo")

    def redo(self) -> bool:
        """Redo the last undone edit; returns whether there was one."""
        return self._step(self._redo, self._history, "Redid the edit", "Nothing to redo")

    def _step(self, source: deque[Listener], target: deque[Listener], done: str,
              nothing: str) -> bool:
        """Show the newest audiogram of ``source``, keeping the one shown on ``target``."""
        if not source:
            self.status_label.setText(nothing)
            return False
        assert self._listener is not None
        target.append(self._listener)
        listener = source.pop()
        self._show(listener)
        self.status_label.setText(done)
        self.listenerEdited.emit(listener)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Undo and Redo keys act on the audiogram here (the window's yield to them)."""
        for key, act in ((QKeySequence.StandardKey.Undo, self.undo),
                         (QKeySequence.StandardKey.Redo, self.redo)):
            if event.matches(key):
                act()
                event.accept()
                return
        super().keyPressEvent(event)
