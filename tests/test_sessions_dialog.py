"""Tests of the sessions dialog and the session report (pytest-qt, offscreen, real SQLite)."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shiboken6  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.errors import ExportError  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import MixState  # noqa: E402
from remixer_app.core.storage import SessionStore, StorageError, save_preference  # noqa: E402
from remixer_app.ui import session_report  # noqa: E402
from remixer_app.ui.report_layout import MARGIN_MM, Page, PageLayout, breakable  # noqa: E402
from remixer_app.ui.session_report import other_audiograms, write_report  # noqa: E402
from remixer_app.ui.sessions_dialog import SessionsDialog  # noqa: E402
from remixer_app.ui.sessions_table import gains_summary  # noqa: E402

N3, S1 = get_preset("N3"), get_preset("S1")


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    with SessionStore(tmp_path / "s.sqlite3") as opened:
        yield opened  # type: ignore[misc]


@pytest.fixture
def model(store: SessionStore) -> MixModel:
    """Two saved preferences: N3's for track A (older), then S1's for track B."""
    mix = MixModel()
    mix.set_listener(N3)
    mix.set_gains({"vocals": 6.0, "drums": -3.0})
    save_preference(store, mix, "hash-a", "Track A.flac", "first visit")
    mix.set_listener(S1)
    mix.reset()
    mix.set_gain("bass", 4.5)
    mix.set_compressor_enabled(True)
    save_preference(store, mix, "hash-b", "Track B.flac", "liked the bass")
    return mix


class Recorder(SessionsDialog):
    """The dialog with its questions answered by the test instead of modal dialogs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.notes: list[str | None] = []
        self.answers: list[bool] = []
        self.paths: list[str | None] = []
        self.asked: list[str] = []
        super().__init__(*args, **kwargs)
        self.errors: list[tuple[str, str]] = []
        self.show_error = lambda _parent, title, text: self.errors.append((title, text))

    def ask_note(self, title: str, current: str) -> str | None:
        self.asked.append(title)
        return self.notes.pop(0)

    def confirm(self, title: str, question: str) -> bool:
        self.asked.append(question)
        return self.answers.pop(0)

    def ask_save_path(self, caption: str, suggested: str, filters: str) -> str | None:
        self.asked.append(suggested)
        return self.paths.pop(0)


@pytest.fixture
def dialog(qtbot: QtBot, store: SessionStore, model: MixModel) -> Recorder:
    widget = Recorder(store, model, track_key="hash-a", track_name="Track A.flac")
    qtbot.addWidget(widget)
    return widget


def column(dialog: SessionsDialog, col: int) -> list[str]:
    return [dialog.table.item(row, col).text() for row in range(dialog.table.rowCount())]


def test_gains_summary() -> None:
    state = MixState({"vocals": 6.0, "drums": -3.0, "bass": 0.5}, muted=frozenset({"other"}))
    assert gains_summary(state) == "V +6 D -3 B +0.5 O 0; muted other"


def test_save_preference_needs_a_listener(store: SessionStore) -> None:
    with pytest.raises(StorageError, match="choose a listener"):
        save_preference(store, MixModel(), "k", "name")


def test_lists_newest_first_and_filters_by_listener(dialog: Recorder) -> None:
    assert column(dialog, 2) == ["Track B.flac", "Track A.flac"]
    assert column(dialog, 1) == [S1.display_name, N3.display_name]
    assert column(dialog, 3) == ["V 0 D 0 B +4.5 O 0", "V +6 D -3 B 0 O 0"]
    assert column(dialog, 4) == ["on", "off"]
    assert column(dialog, 5) == ["liked the bass", "first visit"]
    combo = [dialog.listener_combo.itemData(i) for i in range(dialog.listener_combo.count())]
    assert combo[0] is None and set(combo[1:]) == {N3.id, S1.id}
    assert dialog.set_listener_filter(N3.id)
    assert column(dialog, 2) == ["Track A.flac"]
    assert dialog.set_listener_filter(None)
    assert dialog.table.rowCount() == 2


def test_reapply_restores_gains_and_switches_listener(dialog: Recorder, model: MixModel) -> None:
    assert model.listener == S1
    assert not dialog.apply_button.isEnabled()  # nothing selected yet
    dialog.table.selectRow(1)  # N3's, track A
    dialog.apply_button.click()
    assert dict(model.state.gains_db) == {"vocals": 6.0, "drums": -3.0, "bass": 0.0,
                                          "other": 0.0}
    assert not model.state.compressor_on
    assert model.listener == N3
    assert f"switched the listener to {N3.display_name}" in dialog.status_label.text()
    assert model.undo() and model.listener == N3  # one undo step, the listener stays
    dialog.table.selectRow(0)  # S1's, saved for track B while track A is open
    with_signal = []
    dialog.preferenceApplied.connect(with_signal.append)
    assert dialog.reapply()
    assert model.listener == S1 and model.state.gains_db["bass"] == 4.5
    assert "another track" in dialog.status_label.text() and len(with_signal) == 1


def test_reapply_asks_before_replacing_the_listener(qtbot: QtBot, store: SessionStore,
                                                   model: MixModel) -> None:
    answers = [False, True]
    dialog = Recorder(store, model, may_replace_listener=lambda: answers.pop(0))
    qtbot.addWidget(dialog)
    before = model.state
    dialog.table.selectRow(1)  # N3's: another listener than the S1 chosen (and edited)
    assert not dialog.reapply()  # the user cancelled the question about the edit
    assert model.state == before and "edited audiogram stays" in dialog.status_label.text()
    assert dialog.reapply() and model.listener == N3 and answers == []
    dialog.table.selectRow(1)
    assert dialog.reapply()  # the same listener: nothing to ask (none left to answer)


def test_a_preference_keeps_its_listener_and_leaves_the_profile(
        dialog: Recorder, store: SessionStore, model: MixModel) -> None:
    edited = replace(S1, name="S1 (edited)", left=replace(S1.left, levels=(
        90.0, *S1.left.levels[1:])))
    model.set_listener(edited)  # as the listener panel makes an audiogram edit
    dialog.notes = ["edited audiogram"]
    pref_id = dialog.save_current()
    assert pref_id is not None
    assert store.listener(S1.id) == S1  # the stored profile is not replaced unasked
    model.set_listener(S1)
    assert dialog.select_preference(pref_id) and dialog.reapply()
    assert model.listener == edited  # the listener saved with that preference
    assert dialog.select_preference(store.preferences(S1.id)[1].id) and dialog.reapply()
    assert model.listener == S1  # and the older preference's own listener


def test_edit_note_persists(dialog: Recorder, store: SessionStore) -> None:
    dialog.table.selectRow(0)
    dialog.notes = [None, "prefers less bass now"]
    dialog.note_button.click()  # cancelled: nothing changes
    assert store.preferences()[0].note == "liked the bass"
    dialog.note_button.click()
    assert store.preferences()[0].note == "prefers less bass now"
    assert column(dialog, 5)[0] == "prefers less bass now"
    assert dialog.selected_preference() is not None  # the selection survives the refresh


def test_delete_asks_and_removes(dialog: Recorder, store: SessionStore) -> None:
    dialog.table.selectRow(0)
    dialog.answers = [False, True]
    assert not dialog.delete_selected()
    assert len(store.preferences()) == 2
    dialog.delete_button.click()
    assert "Track B.flac" in dialog.asked[-1]
    assert [p.track_name for p in store.preferences()] == ["Track A.flac"]
    assert column(dialog, 2) == ["Track A.flac"]
    assert dialog.status_label.text().startswith("Deleted")


def test_save_current(dialog: Recorder, store: SessionStore, model: MixModel) -> None:
    model.set_gain("other", -6.0)
    dialog.notes = ["third"]
    pref_id = dialog.save_current()
    assert pref_id is not None and store.preferences()[0].id == pref_id
    assert store.preferences()[0].note == "third" and column(dialog, 2)[0] == "Track A.flac"
    dialog.set_track(None)
    assert not dialog.save_button.isEnabled()
    assert dialog.save_current() is None and "Error" in dialog.status_label.text()


def test_csv_export(dialog: Recorder, tmp_path: Path) -> None:
    target = tmp_path / "all.csv"
    dialog.paths = [None, str(target)]
    assert dialog.export_csv() is None and not target.exists()  # cancelled
    dialog.csv_button.click()
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["track"] for r in rows] == ["Track B.flac", "Track A.flac"]
    assert rows[1]["vocals_db"] == "6" and rows[1]["note"] == "first visit"
    dialog.set_listener_filter(N3.id)
    dialog.paths = [str(tmp_path / "n3")]  # no suffix: .csv is added
    assert dialog.export_csv() == tmp_path / "n3.csv"
    assert dialog.asked[-1] == f"preferences-{N3.id}.csv"
    dialog.paths = [str(tmp_path / "visit 3.2 Mr. Smith")]  # a dot, but no .csv
    assert dialog.export_csv() == tmp_path / "visit 3.2 Mr. Smith.csv"
    # Another copy of the app saves two more meanwhile: the count is what was written.
    with SessionStore(dialog.store.path) as other:
        for key in ("hash-c", "hash-d"):
            other.add_preference(N3.id, key, f"{key}.flac", dialog.store.preferences()[0].settings)
    dialog.paths = [str(tmp_path / "later.csv")]
    assert dialog.export_csv() == tmp_path / "later.csv"
    assert dialog.status_label.text().startswith("Exported 3 preference(s)")


def is_png_report(path: Path) -> bool:
    image = QImage(str(path))
    return not image.isNull() and image.width() >= 800 and image.height() >= 1000


def test_report_png_and_pdf(store: SessionStore, model: MixModel, tmp_path: Path) -> None:
    prefs = store.preferences(S1.id)
    png = write_report(tmp_path / "r.png", S1, prefs, title="S1")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and is_png_report(png)
    pdf = write_report(tmp_path / "r.PDF", S1, prefs, title="S1")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5000 and b"%%EOF" in data[-64:]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(ExportError, match="already exists"):
        write_report(png, S1, prefs)
    with pytest.raises(ExportError, match=r"\.png"):
        write_report(tmp_path / "r.jpg", S1, prefs)
    with pytest.raises(ValueError, match=N3.id):
        write_report(tmp_path / "x.png", S1, store.preferences())


def test_a_report_shows_the_audiogram_each_preference_was_saved_with(
        store: SessionStore, model: MixModel, tmp_path: Path) -> None:
    plain = write_report(tmp_path / "plain.png", N3, store.preferences(N3.id))
    edited = replace(N3, name="N3 (edited)",
                                 left=replace(N3.left, levels=N3.left.levels + 20))
    model.set_listener(edited)  # edited for the session; the profile stays N3's
    for track in ("Track C.flac", "Track D.flac"):
        save_preference(store, model, f"hash-{track}", track, "")
    prefs = store.preferences(N3.id)
    marks, others = other_audiograms(N3, prefs)
    assert sorted(marks.values()) == ["1", "1"] and [label for label, _ in others] == ["1"]
    assert others[0][1].left == edited.left  # drawn below the table, labelled [1]
    report = write_report(tmp_path / "marked.png", N3, prefs)
    assert QImage(str(report)).height() > QImage(str(plain)).height()  # a second chart


def test_long_notes_and_names_stay_on_the_page(qtbot: QtBot, store: SessionStore,
                                                model: MixModel, tmp_path: Path) -> None:
    note = " ".join(f"word{i}" for i in range(4000))  # a whole session's notes
    name = "Artist_-_A_Very_Long_Track_File_Name_Without_Any_Spaces_At_All.wav"
    model.set_listener(S1)
    save_preference(store, model, "hash-long", name, note)
    placed: list[tuple[float, float]] = []  # (top, bottom) of every text and row, per page
    pages = [0]

    class Recording(PageLayout):
        def ensure(self, height: float) -> bool:
            started = super().ensure(height)
            pages[0] += started
            placed.append((self.y, self.y + height))
            return started

    device = QImage(8, 8, QImage.Format.Format_RGB32)  # measures text at 300 dpi, as the PDF
    device.setDotsPerMeterX(round(300 / 0.0254))
    device.setDotsPerMeterY(round(300 / 0.0254))
    page = Page(width=2480.0, height=3508.0, dpi=300.0)  # A4
    prefs = store.preferences(S1.id)
    session_report._paint(Recording(device, page, lambda: None), S1, prefs, "S1")
    bottom = page.height - page.mm(MARGIN_MM)
    assert pages[0] >= 3 and all(end <= bottom for _, end in placed)  # nothing runs off
    cells = session_report.preference_cells(prefs[0])
    assert len(cells[-1]) == len(note)  # the table row gets only the start, "note 1 below"
    assert "\u200b" in breakable(name) and breakable(name).replace("\u200b", "") == name
    assert write_report(tmp_path / "long.pdf", S1, prefs).read_bytes().startswith(b"%PDF")


def report_done(qtbot: QtBot, dialog: SessionsDialog) -> str:
    """Wait for the report the dialog is writing in a worker; its status line then."""
    qtbot.waitUntil(lambda: not dialog.exporting_report(), timeout=60_000)
    return dialog.status_label.text()


def test_report_from_dialog(qtbot: QtBot, dialog: Recorder, tmp_path: Path) -> None:
    assert not dialog.report_button.isEnabled()  # all listeners, nothing selected
    dialog.table.selectRow(1)
    assert dialog.report_button.isEnabled()
    dialog.paths = [str(tmp_path / "n3.png"), str(tmp_path / "n3")]
    dialog.report_button.click()
    assert report_done(qtbot, dialog) == f"Report written to {tmp_path / 'n3.png'}."
    assert dialog.asked[-1] == f"report-{N3.id}.pdf" and is_png_report(tmp_path / "n3.png")
    assert dialog.export_report() is not None
    assert report_done(qtbot, dialog).endswith("n3.pdf.")  # no suffix: PDF
    assert (tmp_path / "n3.pdf").read_bytes().startswith(b"%PDF")
    assert dialog.report_button.isEnabled()


def test_errors_reach_the_status_line(dialog: Recorder, store: SessionStore,
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dialog.table.selectRow(0)
    dialog.paths = [str(tmp_path / "missing" / "x.csv")]
    assert dialog.export_csv() is None
    assert dialog.status_label.text().startswith("Error: Cannot export CSV")
    assert not dialog.errors  # an expected failure: no dialog

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "delete_preference", broken)
    dialog.answers = [True]
    assert not dialog.delete_selected()
    assert "unexpected error: boom" in dialog.status_label.text()
    assert dialog.errors and dialog.errors[0][0] == "Cannot delete the preference"


def test_keyboard_and_accessibility(qtbot: QtBot, dialog: Recorder, store: SessionStore) -> None:
    buttons = dialog.findChildren(QPushButton)
    assert all(b.accessibleName() for b in buttons)
    assert dialog.table.accessibleName() and dialog.listener_combo.accessibleName()
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    dialog.table.setFocus()
    dialog.table.selectRow(1)
    dialog.answers = [True]
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)
    assert [p.track_name for p in store.preferences()] == ["Track B.flac"]


def test_rows_that_cannot_be_read_hide_nothing_else(qtbot: QtBot, store: SessionStore,
                                                    model: MixModel, tmp_path: Path) -> None:
    """A listener and a preference saved by a newer version of the app: everything else
    is listed and exported, and the user is told what was left out, and why."""
    newer = "saved by a newer version of remixer_app"
    save_preference(store, model, "hash-c", "Track C.flac")  # S1's second preference
    with sqlite3.connect(store.path, isolation_level=None) as conn:
        (text,) = conn.execute("SELECT audiogram FROM listeners WHERE id = ?",
                               (N3.id,)).fetchone()
        conn.execute("UPDATE listeners SET audiogram = ? WHERE id = ?",
                     (json.dumps({**json.loads(text), "version": 2}), N3.id))
        conn.execute("UPDATE preferences SET settings = ? WHERE track_key = 'hash-c'",
                     (json.dumps({"format": "remixer-mix", "version": 3}),))
    dialog = Recorder(store, model)
    qtbot.addWidget(dialog)
    assert [dialog.listener_combo.itemData(i) for i in range(dialog.listener_combo.count())
            ] == [None, S1.id]
    assert dialog.table.rowCount() == 3 and column(dialog, 1)[2] == N3.id
    assert f"listener {N3.id} was {newer}" in dialog.status_label.text()
    assert "damaged" not in dialog.status_label.text()

    dialog.paths = [str(tmp_path / "all.csv")]
    assert dialog.export_csv() == tmp_path / "all.csv"
    with (tmp_path / "all.csv").open(encoding="utf-8-sig", newline="") as f:
        assert [r["track"] for r in csv.DictReader(f)] == ["Track B.flac", "Track A.flac"]
    status = dialog.status_label.text()
    assert status.startswith("Exported 2 preference(s)") and "(Track C.flac) was " + newer in status

    dialog.set_listener_filter(S1.id)
    dialog.paths = [str(tmp_path / "s1.png")]
    assert dialog.export_report() is not None
    status = report_done(qtbot, dialog)
    assert is_png_report(tmp_path / "s1.png")
    assert "Report written" in status and "(Track C.flac) was " + newer in status
    assert not dialog.errors


@pytest.fixture
def held_paint(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, list[bool]]]:
    """Painting the report waits, off the GUI thread, until the test sets the event;
    the list says, per paint, whether it ran on the GUI thread."""
    release, on_gui_thread = threading.Event(), []
    paint = session_report._paint

    def held(*args: Any) -> float:
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        if not on_gui_thread[-1]:
            release.wait(60)
        return paint(*args)

    monkeypatch.setattr(session_report, "_paint", held)
    yield release, on_gui_thread
    release.set()  # a failed test leaves no worker waiting


def test_a_report_is_written_off_the_gui_thread(
        qtbot: QtBot, dialog: Recorder, tmp_path: Path,
        held_paint: tuple[threading.Event, list[bool]]) -> None:
    release, on_gui_thread = held_paint
    dialog.set_listener_filter(N3.id)
    dialog.paths = [str(tmp_path / "n3.png")]
    dialog.report_button.click()  # returns while the worker paints
    assert not (tmp_path / "n3.png").exists()
    assert dialog.status_label.text() == f"Writing the report to {tmp_path / 'n3.png'}..."
    assert not dialog.report_button.isEnabled()  # a second click cannot start another
    dialog.table.selectRow(0)
    assert not dialog.report_button.isEnabled()
    assert dialog.export_report() is None and not dialog.paths  # nor a call
    release.set()
    assert report_done(qtbot, dialog) == f"Report written to {tmp_path / 'n3.png'}."
    assert is_png_report(tmp_path / "n3.png") and dialog.report_button.isEnabled()
    assert on_gui_thread and not any(on_gui_thread)


def test_a_failed_report_is_told_on_the_gui_thread(
        qtbot: QtBot, dialog: Recorder, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dialog.set_listener_filter(N3.id)
    (tmp_path / "old.pdf").write_bytes(b"kept")
    dialog.paths = [str(tmp_path / "old")]  # not the name the save dialog confirmed
    assert dialog.export_report() is not None
    assert "old.pdf already exists" in report_done(qtbot, dialog)
    assert dialog.status_label.text().startswith("Error: Cannot export the report: ")
    assert (tmp_path / "old.pdf").read_bytes() == b"kept" and not dialog.errors

    def broken(*_args: object) -> float:
        raise RuntimeError("boom")

    monkeypatch.setattr(session_report, "_paint", broken)
    dialog.paths = [str(tmp_path / "new.pdf")]
    assert dialog.export_report() is not None
    assert report_done(qtbot, dialog) == "Error: Cannot export the report: unexpected error: boom"
    assert dialog.errors and dialog.errors[0][0] == "Cannot export the report"
    assert sorted(p.name for p in tmp_path.glob("*.pdf*")) == ["old.pdf"]
    assert not list(tmp_path.glob(".*.part"))
    assert dialog.report_button.isEnabled()


def test_a_report_outlives_its_dialog(qtbot: QtBot, store: SessionStore, model: MixModel,
                                      tmp_path: Path,
                                      held_paint: tuple[threading.Event, list[bool]]) -> None:
    """Closed and deleted while the report is painted: the file is still written whole,
    and its report, with nobody to show it, is dropped without an error."""
    release, _ = held_paint
    dialog = Recorder(store, model)
    dialog.set_listener_filter(S1.id)
    dialog.paths = [str(tmp_path / "s1.pdf")]
    worker = dialog.export_report()
    assert worker is not None
    dialog.close()
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog))
    release.set()
    assert worker.done.wait(60)
    qtbot.wait(50)  # its signals are delivered, to nobody
    data = (tmp_path / "s1.pdf").read_bytes()
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:]
    assert not list(tmp_path.glob(".*.part"))
