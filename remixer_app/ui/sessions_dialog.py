"""The clinician's sessions: save the current settings, browse, re-apply and export them.

:class:`SessionsDialog` lists what a :class:`~remixer_app.core.storage.SessionStore`
holds (in a :class:`~remixer_app.ui.sessions_table.PreferencesTable`) and works
non-modally beside the main window. What its buttons do (save, re-apply, edit a note,
delete) comes from :class:`~remixer_app.ui.session_actions.SessionActions`; its exports
and its way of reporting failures from
:class:`~remixer_app.ui.session_exports.SessionExports`. Every question it asks the user
(a note, a confirmation, a file name) goes through an overridable method, so tests and
embedders never block on a modal dialog.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.mix_model import MixModel
from remixer_app.core.storage import Preference, SessionStore, left_out
from remixer_app.ui.session_actions import SessionActions
from remixer_app.ui.sessions_table import NOTE_COLUMN, PreferencesTable


class SessionsDialog(SessionActions):
    """Saved preferences: filter by listener, re-apply, edit notes, delete, export.

    Parameters
    ----------
    store
        The session database.
    model
        The settings model that "Re-apply" changes and "Save current" reads.
    track_key, track_name
        The open track, if any (see :meth:`set_track`).
    parent
        Optional parent widget.
    may_replace_listener
        Asked before a preference's listener replaces the chosen one (the app asks the
        user about an edited, unsaved audiogram); False re-applies nothing.

    Notes
    -----
    Its signals, ``preferenceApplied`` and ``preferencesChanged``, are those of
    :class:`~remixer_app.ui.session_actions.SessionActions`.
    """

    def __init__(self, store: SessionStore, model: MixModel, track_key: str | None = None,
                 track_name: str = "", parent: QWidget | None = None, *,
                 may_replace_listener: Callable[[], bool] = lambda: True) -> None:
        super().__init__(parent)
        self.setWindowTitle("Saved preferences")
        self.setAccessibleName("Saved preferences")
        self.setModal(False)
        self.store, self.model = store, model
        self.may_replace_listener = may_replace_listener
        self.track_key, self.track_name = track_key, track_name
        self._names: dict[str, str] = {}
        self._unreadable_listeners: list[str] = []  # one sentence each, shown with the table
        self._build()
        self.refresh()
        self.resize(900, 420)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.listener_combo = QComboBox()
        self.listener_combo.setAccessibleName("Show preferences of listener")
        filter_label = QLabel("&Listener:")
        filter_label.setBuddy(self.listener_combo)
        self.listener_combo.currentIndexChanged.connect(lambda _: self._fill_table())

        self.table = PreferencesTable()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(
            lambda _row, col: self.edit_note() if col == NOTE_COLUMN else self.reapply())
        delete_key = QShortcut(QKeySequence.StandardKey.Delete, self.table)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self.delete_selected)

        self.save_button = self._button("&Save current...", "Save the current listener and "
                                        "settings for the open track", self.save_current)
        self.apply_button = self._button("&Re-apply", "Load the selected settings and its "
                                         "listener (double-click a row)", self.reapply)
        self.note_button = self._button("Edit &note...", "Change the note of the selected "
                                        "preference", self.edit_note)
        self.delete_button = self._button("&Delete...", "Delete the selected preference "
                                          "(Delete key)", self.delete_selected)
        self.csv_button = self._button("Export &CSV...", "The listed preferences as a "
                                       "spreadsheet table", self.export_csv)
        self.report_button = self._button("Export re&port...", "Audiogram and chosen gains "
                                          "as PDF or PNG", self.export_report)
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Sessions status")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        close.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")

        top = QHBoxLayout()
        top.addWidget(filter_label)
        top.addWidget(self.listener_combo, 1)
        actions = QHBoxLayout()
        for button in (self.save_button, self.apply_button, self.note_button,
                       self.delete_button, self.csv_button, self.report_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status_label)
        layout.addWidget(close)

    def _button(self, text: str, description: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.replace("&", "").rstrip("."))
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.setAutoDefault(False)  # Enter in the table must not press a button
        button.clicked.connect(lambda: slot())
        return button

    # ------------------------------------------------------------------ contents

    def set_track(self, track_key: str | None, track_name: str = "") -> None:
        """The track now open (``None``: none), for "Save current" and re-apply warnings."""
        self.track_key, self.track_name = track_key, track_name
        self._update_buttons()

    def refresh(self) -> None:
        """Read listeners and preferences again, keeping the filter and selection."""
        listener_id, selected = self.listener_filter(), self.selected_preference()
        _, read = self._attempt("Cannot read the saved listeners", self.store.read_listeners)
        listeners, self._unreadable_listeners = read or ([], [])
        self._names = {li.id: li.display_name for li in listeners}
        self.listener_combo.blockSignals(True)
        self.listener_combo.clear()
        self.listener_combo.addItem("All listeners", None)
        for li in listeners:
            label = li.display_name if li.display_name == li.id else f"{li.display_name} ({li.id})"
            self.listener_combo.addItem(label, li.id)
        self.listener_combo.setCurrentIndex(max(0, self.listener_combo.findData(listener_id)))
        self.listener_combo.blockSignals(False)
        self._fill_table(selected.id if selected else None)

    def listener_filter(self) -> str | None:
        """The id of the listener whose preferences are listed; ``None`` for all."""
        return self.listener_combo.currentData()

    def set_listener_filter(self, listener_id: str | None) -> bool:
        """List only ``listener_id``'s preferences (``None``: all); whether it is known."""
        index = self.listener_combo.findData(listener_id)
        if index >= 0:
            self.listener_combo.setCurrentIndex(index)
        return index >= 0

    def preferences(self) -> list[Preference]:
        """The preferences listed, in table order (newest first)."""
        return self.table.preferences()

    def _fill_table(self, select: int | None = None) -> None:
        ok, read = self._attempt("Cannot read the saved preferences",
                                 lambda: self.store.read_preferences(self.listener_filter()))
        prefs, unreadable = read or ([], [])
        self.table.set_preferences(prefs, self._names)
        skipped = left_out([*self._unreadable_listeners, *unreadable])
        if ok and skipped:  # the rest is listed; say what is not, and why
            self._status(skipped)
        if select is not None:
            self.select_preference(select)
        self._update_buttons()

    def selected_preference(self) -> Preference | None:
        """The preference of the selected row, if any."""
        return self.table.selected_preference()

    def select_preference(self, pref_id: int) -> bool:
        """Select the row of preference ``pref_id``; whether it is listed."""
        return self.table.select_preference(pref_id)

    def _update_buttons(self) -> None:
        chosen = self.selected_preference() is not None
        for button in (self.apply_button, self.note_button, self.delete_button):
            button.setEnabled(chosen)
        self.save_button.setEnabled(bool(self.track_key))
        self.report_button.setEnabled(self._report_listener() is not None
                                      and not self.exporting_report())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Re-read the store: profiles may have been saved while the dialog was hidden."""
        self.refresh()
        super().showEvent(event)


__all__ = ["SessionsDialog"]
