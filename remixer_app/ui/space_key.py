"""Space belongs to the focused button, and plays or pauses everywhere else.

The Play / pause action's shortcut is Space, and a window-wide shortcut wins over the
key press of the focused widget: Space on a focused Mute button or Compressor box
would start playback instead of pressing it, leaving keyboard users no way to press
them. Qt asks the focus widget first with a ShortcutOverride event; accepting it there
for buttons, check boxes and combo boxes gives them the key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QComboBox, QWidget

#: Widgets that Space operates when they have the focus.
SPACE_TAKERS = (QAbstractButton, QComboBox)


class SpaceForFocusedControls(QObject):
    """An application event filter that lets controls in ``window`` keep Space."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Accept a Space shortcut override on a control of the window."""
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Space
                and event.modifiers() == Qt.KeyboardModifier.NoModifier
                and isinstance(watched, SPACE_TAKERS) and watched.window() is self._window):
            event.accept()
            return True
        return False
