"""The listener panel's files and profiles: load and save listener files, save profiles.

:class:`ListenerFileActions` is the base of
:class:`~remixer_app.ui.listener_panel.ListenerPanel` and holds everything that reads
or writes listeners outside the model (a Clarity or remixer listener file, the
clinician database), the dialogs that ask for file names, and the panel's status
line; the panel itself does the choosing. Every dialog goes through an overridable
method, so tests and embedders never block on a modal dialog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QMessageBox, QWidget

from remixer_app.core.audiogram import Listener
from remixer_app.core.errors import RemixerError
from remixer_app.core.listener_io import left_out_text, load_listeners, save_listener
from remixer_app.core.mix_model import MixModel
from remixer_app.core.storage import SessionStore, left_out
from remixer_app.ui.status_line import show_status

PRESETS, FILE, PROFILES = "presets", "file", "profiles"


def item_text(listener: Listener) -> str:
    """``"L0001"``, ``"N1 - very mild ..."`` or ``"L0002 - Alice"``: the id always shows."""
    name = listener.name
    if not name or name == listener.id or name.startswith(listener.id):
        return name or listener.id
    return f"{listener.id} - {name}"


class ListenerFileActions(QWidget):
    """Listener files, profiles and the status line of a listener panel (see the module)."""

    profiles_changed = Signal()  # a profile was saved here

    # Set up by the panel.
    model: MixModel
    store: Callable[[], SessionStore] | None
    status_label: QLabel
    filter_edit: QLineEdit
    _lists: dict[str, dict[str, Listener]]
    _file_path: Path | None
    _source: str
    _base: Listener | None  # the listener as chosen or last saved: an edit starts from it
    _saved: Listener | None  # the last listener saved, so its edits are not lost
    # Each stored profile as this panel last picked or saved it, by id: a stored one
    # that differs was changed elsewhere (another window or copy of the app) since.
    _profiles_seen: dict[str, Listener]

    if TYPE_CHECKING:  # the panel's choosing, which loading a file ends with
        def set_source(self, source: str) -> bool: ...

        def _choose(self, listener: Listener) -> None: ...

        def _populate(self) -> None: ...

        def has_unsaved_edits(self) -> bool: ...

    def load_file(self, path: str | os.PathLike[str]) -> bool:
        """Read a listener file (Clarity or ours) and list its listeners.

        A file with one listener also chooses it; with several, the user picks one.
        Listeners that cannot be used are left out, and the status line says why.

        Returns
        -------
        bool
            ``False`` when the file cannot be used; an error is shown and the
            current listener and list are kept.
        """
        left_out: dict[str, str] = {}
        try:
            listeners = load_listeners(path, left_out)
        except RemixerError as exc:
            self._report_error("Cannot load listener file", str(exc))
            return False
        self._lists[FILE], self._file_path = listeners, Path(path)
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.set_source(FILE)
        name = self._file_path.name
        if len(listeners) == 1 and not left_out:
            only = next(iter(listeners.values()))
            self._choose(only)
            self._report(f"Loaded listener {item_text(only)} from {name}")
        else:  # the one meant may be among those left out: the user picks
            note = left_out_text(name, left_out)
            self._report(f"Loaded {len(listeners)} listener(s) from {name}; choose one"
                         + (f". {note}" if note else ""))
        return True

    def _refresh_profiles(self) -> bool:
        if self.store is None:
            return False
        try:
            listeners, unreadable = self.store().read_listeners()
        except RemixerError as exc:
            self._report_error("Cannot read saved profiles", str(exc))
            return False
        self._lists[PROFILES] = {li.id: li for li in listeners}
        if unreadable:  # the others are listed
            self._report(left_out(unreadable))
        return True

    def save_to_file(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> bool:
        """Write the current listener to ``path`` in our format; returns success."""
        listener = self.model.listener
        if listener is None:
            self._report_error("Nothing to save", "no listener is chosen")
            return False
        try:
            written = save_listener(listener, path, overwrite=overwrite)
        except RemixerError as exc:
            self._report_error("Cannot save listener", str(exc))
            return False
        self._saved = self._base = listener  # an edit or undo now departs from it
        self._report(f"Saved {listener.display_name} to {written}")
        return True

    def save_profile(self) -> bool:
        """Store the current listener in the session database; returns success."""
        listener = self.model.listener
        if self.store is None or listener is None:
            self._report_error("Nothing to save", "no listener is chosen" if self.store
                               else "no profile database is open")
            return False
        try:
            stored = self.store().listener(listener.id)
            # Unasked only over the profile the listener was picked from or last saved
            # as: a Clarity file names each listener by its id, so another file's L0001
            # has the stored L0001's name too.
            if (stored is not None and stored != listener
                    and (stored.name != listener.name or stored != self._base)
                    and not self.ask_replace_profile(stored, listener)):
                return False
            if not self.store().replace_listener(listener, stored):
                self._report_error("Cannot save profile", f"the profile {item_text(listener)} "
                                   "was changed elsewhere meanwhile; nothing was saved. "
                                   "Press Save profile again to decide.")
                return False
        except RemixerError as exc:
            self._report_error("Cannot save profile", str(exc))
            return False
        # An edit or undo now departs from it.
        self._saved = self._base = self._profiles_seen[listener.id] = listener
        self.refresh_profiles()
        self.profiles_changed.emit()
        self._report(f"Saved profile {listener.display_name}")
        return True

    def refresh_profiles(self) -> None:
        """Read the saved profiles again (another window part may have saved one)."""
        if self._refresh_profiles() and self._source == PROFILES:
            self._populate()

    def _changed_elsewhere(self, stored: Listener) -> bool:
        """Whether the stored profile ``stored`` differs from the one this panel last
        picked or saved under its id."""
        seen = self._profiles_seen.get(stored.id)
        return seen is not None and seen != stored

    def ask_replace_profile(self, stored: Listener, new: Listener) -> bool:
        """Whether the stored profile ``stored`` may be replaced by ``new`` of the same id.

        Asked when ``stored`` has another name (so maybe another person), or ``new`` was
        not picked from ``stored`` nor edited from it as last saved here: it comes
        from elsewhere (another file's listener of that id), or ``stored`` was changed
        elsewhere (another window or copy of the app) since. Tests replace this.
        """
        if self._changed_elsewhere(stored):
            question = (f"The profile {item_text(stored)} was changed elsewhere (in another "
                        "window or another copy of the app) since you picked or saved it "
                        f"here. Replace it with {item_text(new)}? That change will be lost.")
        else:
            question = (f"A profile {item_text(stored)} is saved already. Replace it with "
                        f"{item_text(new)}, its name and audiogram? (Its preferences stay "
                        f"under {stored.id}.)")
        answer = QMessageBox.question(self, "Replace profile?", question)
        return answer == QMessageBox.StandardButton.Yes

    def _start_folder(self) -> str:
        return str(self._file_path.parent) if self._file_path else os.path.expanduser("~")

    def _ask_open_path(self) -> str | None:
        """Ask for a listener file; ``None`` when cancelled. Tests replace this."""
        path, _ = QFileDialog.getOpenFileName(self, "Load listener file", self._start_folder(),
                                              "Listener files (*.json);;All files (*)")
        return path or None

    def _ask_save_path(self) -> str | None:
        """Ask where to save the listener; ``None`` when cancelled. Tests replace this."""
        listener = self.model.listener
        start = os.path.join(self._start_folder(), f"{listener.id if listener else 'listener'}"
                             ".json")
        path, _ = QFileDialog.getSaveFileName(self, "Save listener", start,
                                              "Listener files (*.json)")
        return path or None

    def _load_clicked(self) -> None:
        path = self._ask_open_path()
        if path:
            self.load_file(path)

    def _save_clicked(self) -> None:
        path = self._ask_save_path()
        if path:  # the dialog has already asked whether to replace an existing file
            self.save_to_file(path, overwrite=True)

    def show_error_dialog(self, title: str, message: str) -> None:
        """Show an error in a dialog; overridden by tests and embedders that must not block."""
        QMessageBox.warning(self, title, message)

    def _report(self, message: str) -> None:
        show_status(self.status_label, message)

    def _report_error(self, title: str, message: str) -> None:
        show_status(self.status_label, message, error=True)
        self.show_error_dialog(title, message)

    def ask_unsaved_listener(self, name: str) -> QMessageBox.StandardButton:
        """Ask what becomes of the edited, unsaved listener ``name`` before it is replaced
        (another listener chosen, or the window closed).

        Parameters
        ----------
        name
            The listener's display name.

        Returns
        -------
        QMessageBox.StandardButton
            ``Save`` (as a profile), ``Discard`` or ``Cancel`` (keep the edited listener,
            and the window open).
            Tests replace this method, so they never block on the modal dialog.
        """
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved audiogram",
                          f"The audiogram of {name} was edited and not saved. Save it as "
                          "the listener's profile first?",
                          buttons.Save | buttons.Discard | buttons.Cancel, self.window())
        box.button(buttons.Save).setText("Save profile")
        box.setDefaultButton(buttons.Save)
        box.exec()
        clicked = box.clickedButton()
        return box.standardButton(clicked) if clicked is not None else buttons.Cancel

    def may_close(self) -> bool:
        """Whether the edited listener may be replaced (the app closed, another listener
        chosen): it is saved or discarded first, as the user answers
        :meth:`ask_unsaved_listener`."""
        listener = self.model.listener
        if listener is None or not self.has_unsaved_edits():
            return True
        answer = self.ask_unsaved_listener(listener.display_name)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_profile()  # a failed save keeps the edit open
        return answer == QMessageBox.StandardButton.Discard
