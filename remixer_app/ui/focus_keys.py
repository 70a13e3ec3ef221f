"""Keys that belong to the focused widget rather than to the window's shortcuts.

A window-wide shortcut wins over the key press of the focused widget. Qt first asks the
focus widget with a ShortcutOverride event; accepting it there hands the widget the key.
Three kinds of key need that:

- Space presses a focused button, check box or combo box (elsewhere it plays or
  pauses): without this, keyboard users could not press a Mute button or the
  Compressor box.
- Plain text keys start editing a cell of a focused table, and search the items of a
  focused list or combo box (type-ahead, e.g. "N1" in the Listener box): the source
  shortcuts 1, 2 and 3 would otherwise switch playback while the user types "25" into
  the audiogram table, and take the "1" out of "N1".
- Undo and Redo (Ctrl+Z, Ctrl+Y, ...) inside a widget that keeps its own undo history
  (marked with :data:`OWN_UNDO`, e.g. the audiogram editor) reach that widget as key
  presses; with a widget shortcut beside the window's, Qt finds the key ambiguous and
  runs neither.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QComboBox, QWidget

#: Widgets that Space operates when they have the focus.
SPACE_TAKERS = (QAbstractButton, QComboBox)
#: Widgets that take typed text when they have the focus (editors take it themselves).
TEXT_TAKERS = (QAbstractItemView, QComboBox)
#: Dynamic property: a widget with it set true handles the Undo and Redo keys in itself
#: and its children (in its ``keyPressEvent``).
OWN_UNDO = "ownUndo"
_PLAIN = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)


class FocusedWidgetKeys(QObject):
    """An application event filter that lets widgets of ``window`` keep their keys."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Accept a shortcut override for a key the focused widget of the window keeps."""
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and isinstance(watched, QWidget) and watched.window() is self._window
                and keeps_key(watched, event)):
            event.accept()
            return True
        return False


def keeps_key(widget: QWidget, event: QKeyEvent) -> bool:
    """Whether the focused ``widget`` gets ``event``'s key before the window's shortcuts."""
    plain = event.modifiers() in _PLAIN
    if plain and event.key() == Qt.Key.Key_Space:
        return isinstance(widget, SPACE_TAKERS)
    if plain and event.text().isprintable() and event.text():
        return isinstance(widget, TEXT_TAKERS)
    if (event.matches(QKeySequence.StandardKey.Undo)
            or event.matches(QKeySequence.StandardKey.Redo)):
        node: QWidget | None = widget
        while node is not None:
            if node.property(OWN_UNDO):
                return True
            node = node.parentWidget()
    return False
