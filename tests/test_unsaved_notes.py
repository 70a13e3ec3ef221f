"""A note whose saving fails is kept and offered again, never lost (pytest-qt, real SQLite)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QInputDialog  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.storage import SessionStore, save_preference  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402
from remixer_app.ui.session_actions import NOTE_KEPT  # noqa: E402
from remixer_app.ui.sessions_dialog import SessionsDialog  # noqa: E402

# Longer than the free room of a page, so saving it needs a page the "disk" lacks.
LONG_NOTE = "Vocals clearer at +6 dB; the bass tires her after ten minutes. " * 120


def fill_disk(store: SessionStore) -> None:
    """Let the database grow no more, as a full disk does."""
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")


def free_disk(store: SessionStore) -> None:
    store._conn.execute("PRAGMA max_page_count = 1000000")


class NoteRecorder(SessionsDialog):
    """The dialog with its notes typed by the test; records what each dialog starts from."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.notes: list[str | None] = []
        self.offered: list[str] = []
        super().__init__(*args, **kwargs)

    def ask_note(self, title: str, current: str) -> str | None:
        self.offered.append(current)
        return self.notes.pop(0)


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    with SessionStore(tmp_path / "s.sqlite3") as opened:
        yield opened  # type: ignore[misc]


@pytest.fixture
def dialog(qtbot: QtBot, store: SessionStore) -> NoteRecorder:
    model = MixModel()
    model.set_listener(get_preset("N3"))
    save_preference(store, model, "hash-a", "Track A.flac", "first visit")
    widget = NoteRecorder(store, model, track_key="hash-a", track_name="Track A.flac")
    qtbot.addWidget(widget)
    return widget


def test_an_edited_note_that_cannot_be_saved_is_offered_again(
        dialog: NoteRecorder, store: SessionStore) -> None:
    pref_id = dialog.preferences()[0].id
    assert dialog.select_preference(pref_id)
    fill_disk(store)
    dialog.notes = [LONG_NOTE]
    assert not dialog.edit_note()
    status = dialog.status_label.text()
    assert "Cannot save the note: not enough disk space" in status and NOTE_KEPT in status
    free_disk(store)
    dialog.notes = [None]  # the clinician looks, then cancels: still kept
    assert not dialog.edit_note()
    dialog.notes = [LONG_NOTE]
    assert dialog.edit_note()
    assert dialog.offered[1:] == [LONG_NOTE, LONG_NOTE]
    assert store.read_preferences()[0][0].note == LONG_NOTE
    dialog.notes = [None]  # saved, so the next dialog starts from the stored note
    dialog.edit_note()
    assert dialog.offered[-1] == LONG_NOTE and dialog.preferences()[0].note == LONG_NOTE


def test_the_note_of_a_new_preference_is_kept_for_its_track(
        dialog: NoteRecorder, store: SessionStore) -> None:
    fill_disk(store)
    dialog.notes = [LONG_NOTE]
    assert dialog.save_current() is None
    assert NOTE_KEPT in dialog.status_label.text()
    dialog.set_track("hash-b", "Track B.flac")
    dialog.notes = [None]
    dialog.save_current()
    assert dialog.offered[-1] == ""  # another track's note is not this one's
    dialog.set_track("hash-a", "Track A.flac")
    free_disk(store)
    dialog.notes = [LONG_NOTE, None]
    assert dialog.save_current() is not None
    dialog.save_current()
    assert dialog.offered[-2:] == [LONG_NOTE, ""]


def test_ctrl_s_keeps_the_note_when_the_disk_is_full(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"),
                                           QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    problems: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "report_problem",
                        lambda title, message, *_a, **_k: problems.append((title, message)))
    monkeypatch.setattr(window.controller, "_prepare_engine", lambda: None)  # no fitting
    song = tmp_path / "song"
    song.mkdir()
    noise = 0.05 * np.random.default_rng(0).standard_normal((44100, 2))
    for name in ("vocals", "drums", "bass", "other"):
        sf.write(song / f"{name}.wav", noise, 44100)
    with qtbot.waitSignal(window.controller.track_opened, timeout=60000):
        window.open_path(song)
    workspace = window.workspace
    workspace._store = SessionStore(tmp_path / "sessions.sqlite3")
    offered: list[str] = []

    def typed(_parent: object, _title: str, _label: str, **kwargs: str) -> tuple[str, bool]:
        offered.append(kwargs.get("text", ""))
        return LONG_NOTE, True

    monkeypatch.setattr(QInputDialog, "getText", typed)
    fill_disk(workspace._store)
    assert workspace.save_current() is None
    assert problems and NOTE_KEPT in problems[-1][1]
    # The sessions dialog's "Save current" offers it too: one keeper of kept notes
    dialog = workspace.show_sessions()
    assert dialog is not None and dialog.unsaved_notes.offer(str(song)) == LONG_NOTE
    dialog.close()
    free_disk(workspace._store)
    assert workspace.save_current() is not None
    assert workspace.save_current() is not None
    assert offered == ["", LONG_NOTE, ""]
    assert workspace._store.read_preferences()[0][0].note == LONG_NOTE
