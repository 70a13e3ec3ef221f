"""Choosing the listener: built-in presets, a listener file or a saved profile.

The panel is a two-way view of :attr:`MixModel.listener`. A user's choice is
applied with ``model.set_listener``; a change made elsewhere (a session re-applied)
is shown without being sent back. The panel knows its own changes by a flag set
around the call, because the model notifies synchronously.

Edits in the audiogram editor keep the listener's id under an edited name
(:mod:`remixer_app.core.listener_edits`). Such an edit is unsaved (see
:meth:`ListenerPanel.has_unsaved_edits`) until it is saved as a profile or to a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.audiogram import Listener, presets
from remixer_app.core.listener_edits import edited_listener, same_audiograms
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange
from remixer_app.core.storage import SessionStore
from remixer_app.ui.audiogram_editor import AudiogramEditor
from remixer_app.ui.eliding_combo import ElidingComboBox
from remixer_app.ui.listener_files import FILE, PRESETS, PROFILES, ListenerFileActions, item_text

SOURCE_LABELS = {PRESETS: "Built-in presets", FILE: "Listener file...",
                 PROFILES: "Saved profiles"}


class ListenerPanel(ListenerFileActions):
    """Chooses the listener of a :class:`MixModel`; see the module notes.

    Loading and saving listener files and profiles come from
    :class:`~remixer_app.ui.listener_files.ListenerFileActions`.

    Parameters
    ----------
    model
        The model whose listener is chosen and shown.
    store
        Opens the clinician database (the session store) when profiles are first
        listed or saved; adds the "Saved profiles" source and the "Save profile"
        button. ``None``: no profiles.
    parent
        Optional parent widget.
    """

    def __init__(self, model: MixModel, store: Callable[[], SessionStore] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Listener panel")
        self.model, self.store = model, store
        self._lists: dict[str, dict[str, Listener]] = {PRESETS: presets(), FILE: {},
                                                       PROFILES: {}}
        self._source = PRESETS
        self._file_path: Path | None = None
        self._base: Listener | None = None  # the listener as chosen, before any edits
        self._saved: Listener | None = None  # the last one saved as a profile or to a file
        self._profiles_seen: dict[str, Listener] = {}
        self._applying = False
        self._build()
        unsubscribe = model.subscribe(self._on_model_change)
        # A lambda, not a method: the panel is gone when ``destroyed`` arrives.
        self.destroyed.connect(lambda *_: unsubscribe())
        self._base = model.listener
        self.editor.set_listener(model.listener)
        self._populate()

    def _build(self) -> None:
        self.source_combo = QComboBox()
        self.source_combo.setAccessibleName("Listener source")
        for key in (PRESETS, FILE, PROFILES) if self.store is not None else (PRESETS, FILE):
            self.source_combo.addItem(SOURCE_LABELS[key], key)
        self.filter_edit = QLineEdit()
        self.filter_edit.setAccessibleName("Filter listeners")
        self.filter_edit.setPlaceholderText("Type part of an id or name; Enter picks the first")
        self.filter_edit.setClearButtonEnabled(True)
        self.listener_combo = ElidingComboBox()
        self.listener_combo.setAccessibleName("Listener")
        self.listener_combo.setMaxVisibleItems(20)
        # Long listener names widen the popup, not the panel.
        self.listener_combo.setSizeAdjustPolicy(
            ElidingComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.listener_combo.setMinimumContentsLength(22)
        self.current_label = QLabel()
        self.current_label.setAccessibleName("Current listener")
        self.current_label.setWordWrap(True)  # an edited name is long
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Listener panel status")
        self.status_label.setWordWrap(True)

        self.load_button = QPushButton("Load file...")
        self.load_button.setAccessibleName("Load listener file")
        self.save_button = QPushButton("Save listener...")
        self.save_button.setAccessibleName("Save listener to a file")
        self.profile_button = QPushButton("Save profile")
        self.profile_button.setAccessibleName("Save listener as a profile")
        self.profile_button.setVisible(self.store is not None)
        self.edit_button = QPushButton("Edit audiogram")
        self.edit_button.setAccessibleName("Edit audiogram")
        self.edit_button.setCheckable(True)
        self.editor = AudiogramEditor()
        self.editor.setVisible(False)

        self.source_combo.currentIndexChanged.connect(self._on_source_changed)
        self.filter_edit.textChanged.connect(lambda _text: self._populate())
        self.filter_edit.returnPressed.connect(self._pick_first_match)
        self.listener_combo.currentIndexChanged.connect(self._on_listener_chosen)
        self.load_button.clicked.connect(self._load_clicked)
        self.save_button.clicked.connect(self._save_clicked)
        self.profile_button.clicked.connect(self.save_profile)
        self.edit_button.toggled.connect(self.editor.setVisible)
        self.editor.listenerEdited.connect(self._on_edited)

        form = QFormLayout()
        # A field goes below its caption rather than widen the window past a small screen.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for caption, widget in (("&Source:", self.source_combo), ("&Find:", self.filter_edit),
                                ("&Listener:", self.listener_combo),
                                ("Current:", self.current_label)):
            label = QLabel(caption)
            label.setBuddy(widget)
            form.addRow(label, widget)
        # Two by two: four in a row would not fit beside the stems on a 1024 px screen.
        buttons = QGridLayout()
        for index, button in enumerate((self.load_button, self.save_button,
                                        self.profile_button, self.edit_button)):
            buttons.addWidget(button, index // 2, index % 2)
        buttons.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        # The editor takes nearly all spare height; hidden, the stretch keeps the
        # controls together at the top.
        layout.addWidget(self.editor, 100)
        layout.addStretch(1)

    # ------------------------------------------------------------------ showing

    def has_unsaved_edits(self) -> bool:
        """Whether the listener was edited in the audiogram editor and not saved since.

        Saved means as a profile or to a listener file. An edit undone back to the
        listener as chosen is no edit, and a listener chosen elsewhere (a preference
        re-applied) was not edited here.
        """
        current = self.model.listener
        return current is not None and current not in (self._base, self._saved)

    def listeners(self) -> dict[str, Listener]:
        """The listeners of the current source, by id."""
        return self._lists[self._source]

    def _populate(self) -> None:
        """Refill the listener box from the source and filter; select the model's listener."""
        needle = self.filter_edit.text().strip().lower()
        shown = [li for li in self.listeners().values()
                 if needle in li.id.lower() or needle in li.name.lower()]
        current = self.model.listener
        combo = self.listener_combo
        combo.blockSignals(True)  # refilling is not a choice
        try:
            combo.clear()
            for li in shown:
                combo.addItem(item_text(li), li.id)
            index = next((i for i, li in enumerate(shown) if li == current), -1)
            combo.setCurrentIndex(index)
        finally:
            combo.blockSignals(False)
        if current is not None and current.id in self.listeners():
            combo.setPlaceholderText(current.display_name)  # an edited copy of an entry
        elif not shown:
            combo.setPlaceholderText(f"No listener matches {needle!r}" if needle
                                     else "No listeners here yet")
        else:
            combo.setPlaceholderText(f"Choose one of {len(shown)} listeners")
        # In full: a narrow box shows it shortened.
        combo.setToolTip(combo.currentText() or combo.placeholderText())
        self.current_label.setText(current.display_name if current else "None chosen")
        self.save_button.setEnabled(current is not None)
        self.profile_button.setEnabled(current is not None)

    def _on_model_change(self, change: MixChange) -> None:
        if "listener" not in change.fields:
            return
        if not self._applying:
            self._take_outside_change(change.state.listener)
            self.status_label.clear()  # it spoke of the listener chosen here before
        self._populate()

    def _take_outside_change(self, listener: Listener | None) -> None:
        """Start afresh from a listener set elsewhere, except that the same person with
        other thresholds (a cancelled refit puts back the ones fitted) leaves the edits
        an Undo or Redo away: nothing the user typed may vanish. The listener as chosen
        stays the base then, so an edit put back still counts as unsaved."""
        shown = self.editor.listener()
        if (listener is not None and shown is not None and listener.id == shown.id
                and not same_audiograms(listener, shown)):
            if not self.editor.return_to(listener, "The fitted audiogram was put back; "
                                                   "Undo or Redo brings your change back"):
                self._base = listener  # none of these edits': a listener chosen afresh
            return
        self._base = listener
        self.editor.set_listener(listener)

    # ------------------------------------------------------------------ choosing

    def _apply(self, listener: Listener) -> None:
        self._applying = True
        try:
            self.model.set_listener(listener)
        finally:
            self._applying = False

    def _choose(self, listener: Listener) -> None:
        if listener != self.model.listener and not self.may_close():
            self._populate()  # the edited listener stays chosen
            return
        self._base = listener
        if self._source == PROFILES:  # to tell later whether it was changed elsewhere
            self._profiles_seen[listener.id] = listener
        self.editor.set_listener(listener)
        self._apply(listener)
        self._populate()
        self._report(f"Listener: {listener.display_name}")

    def _on_listener_chosen(self, index: int) -> None:
        if index >= 0:
            self._choose(self.listeners()[self.listener_combo.itemData(index)])

    def _pick_first_match(self) -> None:
        if self.listener_combo.count() == 0:
            self._report_error("No such listener", f"no listener matches "
                               f"{self.filter_edit.text().strip()!r}")
        else:
            self._on_listener_chosen(0)

    def select_listener(self, listener_id: str) -> bool:
        """Choose the listener ``listener_id`` of the current source (case-insensitive).

        Returns
        -------
        bool
            ``False`` when there is no such listener; an error is shown and the
            current listener is kept.
        """
        found = self.listeners().get(listener_id) or next(
            (li for lid, li in self.listeners().items()
             if lid.lower() == listener_id.strip().lower()), None)
        if found is None:
            where = SOURCE_LABELS[self._source].rstrip(".").lower()
            self._report_error("No such listener", f"there is no listener {listener_id!r} "
                               f"in the {where}")
            return False
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()  # or the filter could hide the choice
        self.filter_edit.blockSignals(False)
        self._choose(found)
        return True

    def set_source(self, source: str) -> bool:
        """Show the listeners of ``PRESETS``, ``FILE`` or ``PROFILES``; returns success.

        ``FILE`` with no file loaded asks for one; when that is cancelled or fails
        the previous source stays.
        """
        index = self.source_combo.findData(source)
        if index < 0:
            raise ValueError(f"unknown listener source {source!r}")
        if source == FILE and self._file_path is None:
            path = self._ask_open_path()
            if not path or not self.load_file(path):
                return False
        elif source == PROFILES and not self._refresh_profiles():
            return False
        self._source = source
        self.source_combo.blockSignals(True)
        self.source_combo.setCurrentIndex(index)
        self.source_combo.blockSignals(False)
        self._populate()
        return True

    def _on_source_changed(self, index: int) -> None:
        if not self.set_source(self.source_combo.itemData(index)):
            self.source_combo.blockSignals(True)
            self.source_combo.setCurrentIndex(self.source_combo.findData(self._source))
            self.source_combo.blockSignals(False)

    def _on_edited(self, edited: Listener) -> None:
        new = edited_listener(edited, self._base)
        self._apply(new)
        self.editor.set_listener(new, reset_history=False)  # keep the editor's undo
        self._report(f"Listener: {new.display_name}")
