"""Per-stem sliders with mute and solo, bound both ways to the :class:`MixModel`.

A slider drag is one undo step (a model gesture from press to release); keyboard
steps (arrows, Page Up/Down) are one step each. Widgets follow the model through its
change events with signals blocked, so updating them never echoes back as a change.
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
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import GAIN_MAX_DB, GAIN_MIN_DB, MixChange, MixState

STEPS_PER_DB = 2  # half-dB resolution on the slider


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
        grid = QGridLayout()
        for column, stem in enumerate(STEM_NAMES):
            self._add_stem(grid, column, stem)
        buttons = QHBoxLayout()
        self.reset_button = self._button("Reset", "Reset all stems to 0 dB, no mute or solo",
                                         model.reset)
        self.undo_button = self._button("Undo", "Undo the last change of the mix", model.undo)
        self.redo_button = self._button("Redo", "Redo the change just undone", model.redo)
        for button in (self.reset_button, self.undo_button, self.redo_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
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
        mute = QPushButton("Mute")
        solo = QPushButton("Solo")
        for button, word in ((mute, "Mute"), (solo, "Solo")):
            button.setCheckable(True)
            button.setAccessibleName(f"{word} {stem}")
        mute.toggled.connect(lambda on, s=stem: self.model.set_muted(s, on))
        solo.toggled.connect(lambda on, s=stem: self.model.set_soloed(s, on))
        for row, widget in enumerate((title, slider, value, mute, solo)):
            grid.addWidget(widget, row, column, Qt.AlignmentFlag.AlignHCenter)
        self.sliders[stem], self.values[stem] = slider, value
        self.mutes[stem], self.solos[stem] = mute, solo

    def _on_change(self, change: MixChange) -> None:
        if change.fields & {"gains", "mute", "solo"}:
            self._show(change.state)
        else:
            self._show_history()

    def _show(self, state: MixState) -> None:
        for stem in STEM_NAMES:
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
            silent = "" if state.audible(stem) else " (silent)"
            self.values[stem].setText(f"{db:+.1f} dB{silent}")
            self.sliders[stem].setAccessibleDescription(
                f"{stem}: {db:+.1f} dB{silent}; arrows change it by 0.5 dB")
        self._show_history()

    def _show_history(self) -> None:
        self.undo_button.setEnabled(self.model.can_undo)
        self.redo_button.setEnabled(self.model.can_redo)

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Stop observing the model when the panel goes away."""
        self._unsubscribe()
        super().closeEvent(event)  # type: ignore[arg-type]
