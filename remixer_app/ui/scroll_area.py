"""Scroll areas that let the window shrink below what its panels need.

A laptop screen (1366x768) is smaller than the main window's panels side by side; in
a :class:`ScrollArea` a panel keeps the room it needs and the window may still get
smaller. The main controls still claim their full size, up to a share of the screen,
so that docks give way to them rather than squeezing them into a strip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

#: With ``fit_content``, the most of the screen's width and height the area insists on.
MAX_WIDTH_SHARE = 0.6
MAX_HEIGHT_SHARE = 0.45


class ScrollArea(QScrollArea):
    """A frameless scroll area around ``content``, which grows with the area.

    Parameters
    ----------
    content
        The widget shown; it is never made smaller than its minimum size hint, the
        area scrolls instead.
    name
        The area's accessible name.
    fit_content
        Whether the area asks for all the room ``content`` asks for (the main
        controls: the window opens as large as they want) and will not be made smaller
        than ``content``'s minimum size (up to :data:`MAX_WIDTH_SHARE` and
        :data:`MAX_HEIGHT_SHARE` of the screen), or only for Qt's default of a few
        dozen lines of text (a dock whose plots would ask for a whole screen).
    parent
        Optional parent widget.
    """

    def __init__(self, content: QWidget, name: str, *, fit_content: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setWidget(content)
        # Preferred: a layout may shrink the area, but gives spare room to those that expand.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._fit_content = fit_content

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """The content's size hint with ``fit_content``, Qt's capped one otherwise."""
        content = self.widget()
        if self._fit_content and content is not None:
            return content.sizeHint()
        return super().sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """With ``fit_content``, large enough for the content, within the screen's share."""
        hint = super().minimumSizeHint()
        content = self.widget()
        if not self._fit_content or content is None:
            return hint
        screen = self.screen().availableGeometry()
        needed = content.minimumSizeHint()
        return QSize(max(hint.width(), min(needed.width(),
                                           int(screen.width() * MAX_WIDTH_SHARE))),
                     max(hint.height(), min(needed.height(),
                                            int(screen.height() * MAX_HEIGHT_SHARE))))
