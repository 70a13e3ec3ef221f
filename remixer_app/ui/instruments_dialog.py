"""Which instruments a classical track holds: the dialog and the remembered choices.

A plain audio file is separated into the four pop stems unless the user says it is a
classical ensemble by ticking its 2 to 5 instruments (Separation > Instruments...). The
choice is remembered per track, across sessions, in the app's settings as JSON under
:data:`INSTRUMENTS_KEY` (track key -> instrument list), and handed to the
:class:`~remixer_app.ui.track_controller.TrackController`, which separates the track
into those instruments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.errors import RemixerError
from remixer_app.core.instruments import INSTRUMENTS, MAX_INSTRUMENTS, instrument_list

log = logging.getLogger(__name__)

INSTRUMENTS_KEY = "separation/instruments"
MAX_REMEMBERED = 500  # tracks; the oldest choices are forgotten first
MIN_INSTRUMENTS = 2


def load_choices(settings: QSettings) -> dict[str, tuple[str, ...]]:
    """The remembered instruments by track key; damaged entries are dropped (and logged)."""
    text = settings.value(INSTRUMENTS_KEY, "")
    try:
        raw = json.loads(str(text)) if text else {}
    except ValueError:
        log.warning("the remembered instrument choices are damaged and were ignored")
        return {}
    choices: dict[str, tuple[str, ...]] = {}
    for key, names in (raw.items() if isinstance(raw, dict) else ()):
        try:
            choices[str(key)] = instrument_list(names if isinstance(names, list) else ())
        except RemixerError:
            log.warning("ignored the remembered instruments of %s: %r", key, names)
    return choices


def save_choices(settings: QSettings, choices: Mapping[str, Sequence[str]]) -> None:
    """Remember ``choices`` (the newest :data:`MAX_REMEMBERED`; dicts keep their order)."""
    kept = list(choices.items())[-MAX_REMEMBERED:]
    settings.setValue(INSTRUMENTS_KEY, json.dumps({k: list(v) for k, v in kept}))


class InstrumentsDialog(QDialog):
    """Tick the instruments of an ensemble: none (a pop track) or 2 to 5.

    Parameters
    ----------
    track_name
        Named in the title and the explanation.
    chosen
        The instruments ticked at first.
    """

    def __init__(self, track_name: str, chosen: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Instruments of {track_name}")
        self.setAccessibleName("Instruments of the track")
        explanation = QLabel(
            f"If {track_name} is a classical ensemble, tick the {MIN_INSTRUMENTS} to "
            f"{MAX_INSTRUMENTS} instruments that play in it: it is then separated into "
            "them, with one slider each. Tick none for a pop track (vocals, drums, bass, "
            "other).")
        explanation.setWordWrap(True)
        explanation.setAccessibleName("What the instruments are for")
        self.checks: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, name in enumerate(INSTRUMENTS):
            check = QCheckBox(name.capitalize())
            check.setAccessibleName(name.capitalize())
            check.setChecked(name in chosen)
            check.toggled.connect(self._update)
            grid.addWidget(check, i // 2, i % 2)
            self.checks[name] = check
        self.hint = QLabel()
        self.hint.setAccessibleName("Instruments chosen")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for button in self.buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(grid)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self._update()

    def chosen(self) -> tuple[str, ...]:
        """The ticked instruments, in :data:`INSTRUMENTS` order; empty for a pop track."""
        return tuple(name for name, check in self.checks.items() if check.isChecked())

    def _update(self) -> None:
        count = len(self.chosen())
        valid = count == 0 or MIN_INSTRUMENTS <= count <= MAX_INSTRUMENTS
        if count == 0:
            text = "No instruments: a pop track, separated into vocals, drums, bass, other."
        elif valid:
            text = f"{count} instruments: a classical ensemble."
        else:
            text = (f"{count} instrument{'s' if count > 1 else ''}: tick {MIN_INSTRUMENTS} to "
                    f"{MAX_INSTRUMENTS}, or none.")
        self.hint.setText(text)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(valid)


__all__ = ["INSTRUMENTS_KEY", "InstrumentsDialog", "load_choices", "save_choices"]
