"""The master volume: a slider from 0 to 100 %, said in words, heard by a square law.

Equal slider steps sound roughly like equal loudness steps because the gain is the
square of the slider's fraction. The transport bar lays the slider and its label out
and hands the gain to the player (:mod:`remixer_app.ui.transport`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QSlider, QWidget


class VolumeControl(QObject):
    """The volume slider (:attr:`slider`) and the label that says its value (:attr:`label`).

    Parameters
    ----------
    parent
        Optional parent object.
    """

    #: The linear gain (:meth:`gain`) whenever the slider moves.
    changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(100)
        self.slider.setAccessibleName("Volume")
        self.slider.setToolTip("Master volume")
        self.slider.valueChanged.connect(self._moved)
        self.label = QLabel()
        self.label.setAccessibleName("Volume value")
        self._show(self.slider.value())

    def gain(self) -> float:
        """The linear gain the slider stands for, 0 .. 1."""
        # Square law: equal slider steps sound roughly like equal loudness steps.
        return (self.slider.value() / 100.0) ** 2

    def _moved(self, value: int) -> None:
        self._show(value)
        self.changed.emit(self.gain())

    def _show(self, value: int) -> None:
        # The slider's own value is a bare number to a screen reader: say what it means.
        text = f"{value} %"
        self.label.setText(text)
        self.slider.setAccessibleDescription(f"Master volume {text}")
