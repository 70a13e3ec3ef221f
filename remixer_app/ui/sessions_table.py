"""The sessions dialog's table of saved preferences: one read-only row per preference.

:class:`PreferencesTable` shows a list of
:class:`~remixer_app.core.storage.Preference` (newest first, as the store returns
them) in the :data:`COLUMNS`, one line per row with the full text in each tooltip,
and maps the selected row back to its preference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import RemixerError
from remixer_app.core.mix_state import MixState
from remixer_app.core.storage import Preference
from remixer_app.ui.session_report import compressor_text, format_gain, local_time

COLUMNS = ("Saved", "Listener", "Track", "Gains (dB)", "Compressor", "Note")
TRACK_COLUMN = COLUMNS.index("Track")
NOTE_COLUMN = COLUMNS.index("Note")


def stem_abbreviation(stem: str, stems: tuple[str, ...]) -> str:
    """How a summary names ``stem``: the initial of a pop stem (V, D, B, O), else the
    capitalised name (an ensemble's instruments share initials: viola, violin)."""
    return stem[0].upper() if stems == STEM_NAMES else stem.capitalize()


def gains_summary(state: MixState) -> str:
    """E.g. ``"V +6 D -3 B 0 O 0"`` or ``"Cello 0 Violin +3"``, with muted and soloed
    stems named after it."""
    text = " ".join(f"{stem_abbreviation(s, state.stems)} {format_gain(state.gains_db[s])}"
                    for s in state.stems)
    for word, stems in (("muted", state.muted), ("solo", state.soloed)):
        if stems:
            text += f"; {word} " + ", ".join(s for s in state.stems if s in stems)
    return text


def row_cells(pref: Preference, listener_name: str) -> tuple[str, ...]:
    """The texts of ``pref``'s row, one per column of :data:`COLUMNS`."""
    try:
        state = pref.mix_state()
        gains, compressor = gains_summary(state), compressor_text(state)
    except RemixerError:  # one damaged row must not hide the others
        gains, compressor = "(unreadable settings)", "?"
    return (local_time(pref.created_at), listener_name, pref.track_name or pref.track_key,
            gains, compressor, " / ".join(pref.note.splitlines()))  # one line per row


class PreferencesTable(QTableWidget):
    """Preferences, one per row; rows are selected whole, one at a time, and not edited."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setAccessibleName("Saved preferences, newest first")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)  # Tab moves on to the buttons
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self._prefs: list[Preference] = []

    def set_preferences(self, prefs: Sequence[Preference], names: Mapping[str, str]) -> None:
        """Show ``prefs`` in this order; ``names`` gives listener ids their shown names."""
        self._prefs = list(prefs)
        self.setRowCount(0)
        for row, pref in enumerate(self._prefs):
            self.insertRow(row)
            cells = row_cells(pref, names.get(pref.listener_id, pref.listener_id))
            tips = {TRACK_COLUMN: pref.track_key, NOTE_COLUMN: pref.note}  # in full
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tips.get(col, text))
                self.setItem(row, col, item)

    def preferences(self) -> list[Preference]:
        """The preferences shown, in row order."""
        return list(self._prefs)

    def selected_preference(self) -> Preference | None:
        """The preference of the selected row, if any."""
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self._prefs[rows[0].row()] if rows else None

    def select_preference(self, pref_id: int) -> bool:
        """Select the row of preference ``pref_id``; whether it is shown."""
        for row, pref in enumerate(self._prefs):
            if pref.id == pref_id:
                self.selectRow(row)
                return True
        return False
