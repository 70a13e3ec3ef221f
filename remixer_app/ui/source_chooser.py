"""Choosing what to listen to: the A/B/C buttons (original, remix, hearing aid).

One button is checked at a time, each has a number key that switches without taking
the focus, and a label says the source heard in words, so that the choice does not rest
on how a checked button looks. The transport bar lays the buttons out and plays the
choice (:mod:`remixer_app.ui.transport`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QButtonGroup, QLabel, QPushButton, QWidget

from remixer_app.core.player_controls import Source

#: Source -> (button text, shortcut, what it plays)
SOURCE_BUTTONS: dict[Source, tuple[str, str, str]] = {
    "original": ("Original", "1", "the track as released"),
    "remix": ("Remix", "2", "the stems with your gains, no hearing aid"),
    "aided": ("Hearing aid", "3", "the remix through the hearing aid"),
}


class SourceChooser(QObject):
    """The source buttons (:attr:`buttons`), their keys (:attr:`shortcuts`) and the
    label that says the source heard (:attr:`label`).

    Parameters
    ----------
    parent
        Optional parent object.
    """

    #: The source whose button the user clicked (or pressed the key of).
    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[Source, QPushButton] = {}
        self.shortcuts: dict[Source, QShortcut] = {}
        for source, (text, key, what) in SOURCE_BUTTONS.items():
            button = QPushButton(text)
            button.setCheckable(True)
            button.setAccessibleName(f"Listen to {text.lower()}")
            button.setToolTip(f"Listen to {what} ({key})")
            self.group.addButton(button)
            self.buttons[source] = button
            button.clicked.connect(lambda _=False, s=source: self.chosen.emit(s))
            # Not the button's own shortcut: that would move the focus to the button, and
            # a listener switching A/B from a gain slider would lose their place. A child
            # of the button, the key works only while the button is shown and enabled.
            shortcut = QShortcut(QKeySequence(key), button)
            shortcut.activated.connect(button.click)
            self.shortcuts[source] = shortcut
        self.label = QLabel()
        self.label.setAccessibleName("Listening to")

    def checked(self) -> Source | None:
        """The source whose button is checked, if any."""
        return next((s for s, button in self.buttons.items() if button.isChecked()), None)

    def say(self, source: Source) -> None:
        """Say in :attr:`label` that ``source`` is the one heard."""
        self.label.setText(f"Listening to: {SOURCE_BUTTONS[source][0]}")
