"""The status line of panels and dialogs: what just happened, errors marked in words too."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

ERROR_STYLE = "color: #b00020;"


def show_status(label: QLabel, text: str, *, error: bool = False) -> None:
    """Show ``text`` in ``label``; an error is red and starts with "Error:".

    The word says it for those who cannot tell the colour.
    """
    label.setStyleSheet(ERROR_STYLE if error else "")
    label.setText(f"Error: {text}" if error else text)
