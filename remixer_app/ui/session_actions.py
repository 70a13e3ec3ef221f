"""What the sessions dialog's buttons do: save, re-apply, edit a note, delete.

:class:`SessionActions` is the base of
:class:`~remixer_app.ui.sessions_dialog.SessionsDialog` (which lists the preferences
and builds the buttons). It saves through
:func:`~remixer_app.core.storage.save_preference`, as the main window's action does,
changes the store and the settings model for the preference the dialog has selected,
and fails through :meth:`~remixer_app.ui.session_exports.SessionExports._attempt`. It
asks the user through :meth:`SessionActions.ask_note` and
:meth:`SessionActions.confirm`, which tests and embedders replace. A note that cannot
be saved (a full disk, a busy database) is kept in :class:`UnsavedNotes` and offered
again by the next note dialog, here and in the main window's "Save preference".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from remixer_app.core.errors import RemixerError
from remixer_app.core.mix_model import MixModel
from remixer_app.core.storage import Preference, save_preference
from remixer_app.ui.session_exports import SessionExports
from remixer_app.ui.session_report import local_time

T = TypeVar("T")
NOTE_KEPT = "your note is kept and offered again when you retry"


class UnsavedNotes:
    """Notes the user typed whose saving failed, to offer again rather than lose.

    Each is kept under the preference's id (an edited note) or the track's key (the
    note of a new preference) until it is saved.
    """

    def __init__(self) -> None:
        self._notes: dict[int | str, str] = {}

    def offer(self, key: int | str, default: str = "") -> str:
        """The note to pre-fill the note dialog for ``key`` with."""
        return self._notes.get(key, default)

    def forget(self, key: int | str) -> None:
        """Drop the note kept for ``key`` (it was saved, or is no longer wanted)."""
        self._notes.pop(key, None)

    def save(self, key: int | str, note: str, action: Callable[[], T]) -> T:
        """Run ``action``, which saves ``note``; if it fails, keep the note and say so.

        Raises
        ------
        RemixerError
            The failure of ``action``, its message telling that the note is kept.
        """
        self._notes[key] = note  # kept whatever the failure, a bug's too
        try:
            result = action()
        except RemixerError as exc:
            raise RemixerError(f"{exc}; {NOTE_KEPT}") from exc
        self.forget(key)
        return result


class SessionActions(SessionExports):
    """The sessions dialog's actions on saved preferences (see the module).

    Signals
    -------
    preferenceApplied(int)
        A preference (its id) was re-applied to the model.
    preferencesChanged()
        A preference was saved, its note changed, or it was deleted.
    """

    preferenceApplied = Signal(int)
    preferencesChanged = Signal()

    # Set up by the dialog.
    model: MixModel
    track_key: str | None
    track_name: str
    may_replace_listener: Callable[[], bool]  # see SessionsDialog

    if TYPE_CHECKING:  # the dialog's listing, which the actions update
        def refresh(self) -> None: ...

        def select_preference(self, pref_id: int) -> bool: ...

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unsaved_notes = UnsavedNotes()

    # ------------------------------------------------------------------ questions (overridable)

    def ask_note(self, title: str, current: str) -> str | None:
        """Ask for a note; ``None`` when cancelled. Tests and embedders replace this."""
        text, ok = QInputDialog.getMultiLineText(self, title, "Note:", current)
        return text if ok else None

    def confirm(self, title: str, question: str) -> bool:
        """Ask a yes/no question, defaulting to no. Tests and embedders replace this."""
        answer = QMessageBox.question(self, title, question, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------ actions

    def _selected_or_say(self) -> Preference | None:
        pref = self.selected_preference()
        if pref is None:
            self._status("Select a preference in the table first.", error=True)
        return pref

    def save_current(self) -> int | None:
        """Ask for a note and save the current settings for the open track; the new id."""
        if not self.track_key:
            self._status("Open a track before saving a preference.", error=True)
            return None
        key, name = self.track_key, self.track_name
        note = self.ask_note("Save current settings", self.unsaved_notes.offer(key))
        if note is None:
            return None
        _, pref_id = self._attempt("Cannot save the preference", lambda: self.unsaved_notes.save(
            key, note, lambda: save_preference(self.store, self.model, key, name, note)))
        if pref_id is not None:
            self.refresh()
            self.select_preference(pref_id)
            self._status(f"Saved the current settings for {name or key}.")
            self.preferencesChanged.emit()
        return pref_id

    def reapply(self) -> bool:
        """Load the selected preference's settings, and its listener if another is chosen.

        The listener is the one saved with the preference (an audiogram edited for
        that session, say); only a preference saved without one (an old format) takes
        the listener's stored profile.
        """
        pref = self._selected_or_say()
        if pref is None:
            return False

        def apply() -> str:
            state = pref.mix_state()  # first, so a damaged preference changes nothing
            self.model.check_stems(state)  # nor one for a track with other stems
            stored = state.listener or self.store.listener(pref.listener_id)
            said = [f"Re-applied the settings of {local_time(pref.created_at)} for "
                    f"{pref.track_name or pref.track_key}"]
            if stored is None:
                said.append(f"listener {pref.listener_id} is no longer saved, so the "
                            "listener was not changed")
            elif self.model.listener != stored:
                if not self.may_replace_listener():
                    return ""
                self.model.set_listener(stored)
                said.append(f"switched the listener to {stored.display_name}")
            self.model.restore(state)
            if self.track_key and pref.track_key != self.track_key:
                said.append("they were saved for another track than the one open")
            return "; ".join(said) + "."

        ok, message = self._attempt("Cannot re-apply the preference", apply)
        if not ok or message is None:
            return False
        if not message:
            self._status("Nothing re-applied: the edited audiogram stays.")
            return False
        self._status(message)
        self.preferenceApplied.emit(pref.id)
        return True

    def edit_note(self) -> bool:
        """Ask for a new note for the selected preference and store it."""
        pref = self._selected_or_say()
        if pref is None:
            return False
        note = self.ask_note("Edit note", self.unsaved_notes.offer(pref.id, pref.note))
        if note is None:
            return False
        if note == pref.note:  # nothing to save, nor to keep
            self.unsaved_notes.forget(pref.id)
            return False
        ok, _ = self._attempt("Cannot save the note", lambda: self.unsaved_notes.save(
            pref.id, note, lambda: self.store.update_note(pref.id, note)))
        if not ok:
            return False
        self.refresh()
        self._status("Note saved.")
        self.preferencesChanged.emit()
        return True

    def delete_selected(self) -> bool:
        """Delete the selected preference after asking."""
        pref = self._selected_or_say()
        if pref is None:
            return False
        what = (f"the preference of {local_time(pref.created_at)} for "
                f"{pref.track_name or pref.track_key}")
        if not self.confirm("Delete preference", f"Delete {what}? This cannot be undone."):
            return False
        ok, _ = self._attempt("Cannot delete the preference",
                              lambda: self.store.delete_preference(pref.id))
        if not ok:
            return False
        self.unsaved_notes.forget(pref.id)
        self.refresh()
        self._status(f"Deleted {what}.")
        self.preferencesChanged.emit()
        return True
