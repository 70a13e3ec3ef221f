"""Per-stem sliders with mute and solo, bound both ways to the :class:`MixModel`.

A slider drag is one undo step (a model gesture from press to release); keyboard
steps (arrows, Page Up/Down) are one step each. Widgets follow the model through its
change events with signals blocked, so updating them never echoes back as a change.
There is one slider per stem of the model's stem set (the track's: the pop stems or
an ensemble's instruments), rebuilt when a track with other stems opens.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import GAIN_MAX_DB, GAIN_MIN_DB, MixChange, MixState

STEPS_PER_DB = 2  # half-dB resolution on the slider
# On its own line, so a silent stem's value is no wider than an audible one's.
SILENT_NOTE = "\n(silent)"


def fit_to_text(button: QPushButton) -> None:
    """Let ``button`` shrink to its text and padding when room is short.

    Styles widen every short button to about 80 px; five instruments' Mute and Solo
    columns at that width do not fit a 1024 px screen beside the other panels.
    """
    style = button.style()
    padding = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_ButtonMargin, None, button)
                   + style.pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, button))
    button.setMinimumWidth(button.fontMetrics().horizontalAdvance(f" {button.text()} ")
                           + padding)


class StemPanel(QWidget):
    """Gain slider, value, mute and solo for each stem, plus reset/undo/redo.

    Parameters
    ----------
    model
        The settings model the panel edits and follows.
    """

    def __init__(self, model: MixModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        self.mutes: dict[str, QPushButton] = {}
        self.solos: dict[str, QPushButton] = {}
        self.strips: QWidget | None = None  # the sliders and buttons of the stems
        self._strips_layout = QVBoxLayout()
        self._strips_layout.setContentsMargins(0, 0, 0, 0)
        self._build_stems(model.state.stems)
        buttons = QHBoxLayout()
        self.reset_button = self._button("Reset", "Reset all stems to 0 dB, no mute or solo",
                                         model.reset)
        self.undo_button = self._button("Undo", "Undo the last change of the mix", model.undo)
        self.redo_button = self._button("Redo", "Redo the change just undone", model.redo)
        for button in (self.reset_button, self.undo_button, self.redo_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(self._strips_layout)
        layout.addLayout(buttons)
        self._unsubscribe = model.subscribe(self._on_change)
        self._show(model.state)

    def _button(self, text: str, description: str, action: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text)
        button.setToolTip(description)
        button.setAccessibleDescription(description)
        button.clicked.connect(lambda: action())
        return button

    @property
    def stems(self) -> tuple[str, ...]:
        """The stems the panel has sliders for, left to right."""
        return tuple(self.sliders)

    def _build_stems(self, stems: tuple[str, ...]) -> None:
        old = self.strips
        if old is not None:
            for widget in old.findChildren(QWidget):
                widget.blockSignals(True)  # a slider held down must not move the new stems
            old.hide()
            self._strips_layout.removeWidget(old)
            old.deleteLater()
        for widgets in (self.sliders, self.values, self.mutes, self.solos):
            widgets.clear()
        self.strips = QWidget()
        self.strips.setAccessibleName("Stem levels")
        grid = QGridLayout(self.strips)
        grid.setContentsMargins(0, 0, 0, 0)
        for column, stem in enumerate(stems):
            self._add_stem(grid, column, stem)
        self._strips_layout.addWidget(self.strips)

    def _add_stem(self, grid: QGridLayout, column: int, stem: str) -> None:
        title = QLabel(stem.capitalize())
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        slider = QSlider(Qt.Orientation.Vertical)
        slider.setRange(int(GAIN_MIN_DB * STEPS_PER_DB), int(GAIN_MAX_DB * STEPS_PER_DB))
        slider.setSingleStep(1)
        slider.setPageStep(6 * STEPS_PER_DB)
        slider.setTickPosition(QSlider.TickPosition.TicksBothSides)
        slider.setTickInterval(6 * STEPS_PER_DB)
        slider.setAccessibleName(f"{stem} gain")
        slider.setAccessibleDescription(f"Level of the {stem} in dB; arrows change it by 0.5 dB")
        title.setBuddy(slider)
        slider.sliderPressed.connect(self.model.begin_gesture)
        slider.sliderReleased.connect(self.model.end_gesture)
        slider.valueChanged.connect(lambda v, s=stem: self.model.set_gain(s, v / STEPS_PER_DB))
        value = QLabel()
        value.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        value.setAccessibleName(f"{stem} gain value")
        # Room for the silent note, so showing it never moves the buttons under the mouse.
        value.setMinimumHeight(value.fontMetrics().lineSpacing() * 2)
        mute = QPushButton("Mute")
        solo = QPushButton("Solo")
        for button, word in ((mute, "Mute"), (solo, "Solo")):
            button.setCheckable(True)
            button.setAccessibleName(f"{word} {stem}")
            fit_to_text(button)
        mute.toggled.connect(lambda on, s=stem: self.model.set_muted(s, on))
        solo.toggled.connect(lambda on, s=stem: self.model.set_soloed(s, on))
        for row, widget in enumerate((title, slider, value, mute, solo)):
            grid.addWidget(widget, row, column, Qt.AlignmentFlag.AlignHCenter)
        self.sliders[stem], self.values[stem] = slider, value
        self.mutes[stem], self.solos[stem] = mute, solo

    def _on_change(self, change: MixChange) -> None:
        if change.state.stems != self.stems:
            self._build_stems(change.state.stems)
        if change.fields & {"stems", "gains", "mute", "solo"}:
            self._show(change.state)
        else:
            self._show_history()

    def _show(self, state: MixState) -> None:
        for stem in state.stems:
            db = state.gains_db[stem]
            for widget, value in ((self.sliders[stem], round(db * STEPS_PER_DB)),
                                  (self.mutes[stem], stem in state.muted),
                                  (self.solos[stem], stem in state.soloed)):
                widget.blockSignals(True)
                if isinstance(widget, QSlider):
                    widget.setValue(value)
                else:
                    widget.setChecked(bool(value))
                widget.blockSignals(False)
            # Words as well as the dimmed look: silence is never shown by colour alone.
            silent = "" if state.audible(stem) else SILENT_NOTE
            self.values[stem].setText(f"{db:+.1f} dB{silent}")
            # A screen reader hears the slider's value as its step count (-36 for -18 dB);
            # the name, which it reads on focus and again when it changes, says the dB.
            self.sliders[stem].setAccessibleName(f"{stem} gain {db:+.1f} dB")
            self.sliders[stem].setAccessibleDescription(
                f"{'Silent; ' if silent else ''}arrows change it by 0.5 dB")
        self._show_history()

    def _show_history(self) -> None:
        self.undo_button.setEnabled(self.model.can_undo)
        self.redo_button.setEnabled(self.model.can_redo)

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Stop observing the model when the panel goes away."""
        self._unsubscribe()
        super().closeEvent(event)  # type: ignore[arg-type]
