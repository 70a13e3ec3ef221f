"""A combo box that shortens its text with an ellipsis where it is narrower than it.

Qt's combo box cuts a long current item off mid-letter ("Multiband compressor (Cad");
on a small screen the hearing-aid and listener boxes are narrower than their longest
items, so they end the text with "..." instead, and their tooltips give it in full.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent, QPalette
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter


class ElidingComboBox(QComboBox):
    """A non-editable :class:`QComboBox` whose current text is elided to fit."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        """Paint as :class:`QComboBox` does, with the text elided to the text field."""
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        if self.currentIndex() < 0 and self.placeholderText():  # as QComboBox shows it
            option.palette.setBrush(QPalette.ColorRole.ButtonText,
                                    option.palette.placeholderText())
            option.currentText = self.placeholderText()
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        option.currentText = self.fontMetrics().elidedText(
            option.currentText, Qt.TextElideMode.ElideRight, field.width())
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)
