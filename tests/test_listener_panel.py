"""Tests of the listener panel bound to a MixModel (pytest-qt, offscreen)."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEvent, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import Listener, get_preset  # noqa: E402
from remixer_app.core.listener_edits import edited_name  # noqa: E402
from remixer_app.core.listener_io import load_listeners  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import MixChange  # noqa: E402
from remixer_app.core.storage import SessionStore  # noqa: E402
from remixer_app.ui.audiogram_points import RIGHT  # noqa: E402
from remixer_app.ui.listener_panel import (  # noqa: E402
    FILE,
    PRESETS,
    PROFILES,
    ListenerPanel,
)

CFS = [250, 500, 1000, 2000, 3000, 4000, 6000, 8000]


def write_clarity(path: Path, count: int = 3) -> Path:
    data = {f"L{i:04d}": {"name": f"L{i:04d}", "audiogram_cfs": CFS,
                          "audiogram_levels_l": [10 + i, 15, 20, 30, 40, 50, 60, 65],
                          "audiogram_levels_r": [5 + i, 10, 20, 35, 45, 55, 65, 70]}
            for i in range(1, count + 1)}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class Recorder:
    """Counts the model's listener events and the panel's error dialogs."""

    def __init__(self, model: MixModel, panel: ListenerPanel) -> None:
        self.events: list[MixChange] = []
        self.dialogs: list[tuple[str, str]] = []
        model.subscribe(lambda change: self.events.append(change)
                        if "listener" in change.fields else None)
        panel.show_error_dialog = lambda title, message: self.dialogs.append((title, message))


@pytest.fixture
def model() -> MixModel:
    return MixModel()


def make_panel(qtbot: QtBot, model: MixModel,
               store: SessionStore | None = None) -> tuple[ListenerPanel, Recorder]:
    panel = ListenerPanel(model, None if store is None else lambda: store)
    qtbot.addWidget(panel)
    return panel, Recorder(model, panel)


def combo_ids(panel: ListenerPanel) -> list[str]:
    combo = panel.listener_combo
    return [combo.itemData(i) for i in range(combo.count())]


def test_presets_listed_and_chosen(qtbot: QtBot, model: MixModel) -> None:
    panel, rec = make_panel(qtbot, model)
    assert combo_ids(panel) == ["NH", *(f"N{i}" for i in range(1, 8)), "S1", "S2", "S3"]
    assert panel.listener_combo.currentIndex() == -1  # nothing chosen yet: model untouched
    assert model.listener is None
    panel.listener_combo.setCurrentIndex(combo_ids(panel).index("N3"))
    assert model.listener == get_preset("N3")
    assert len(rec.events) == 1
    assert panel.editor.listener() == get_preset("N3")
    assert "N3" in panel.current_label.text()


def test_filter_narrows_and_enter_picks(qtbot: QtBot, model: MixModel) -> None:
    panel, rec = make_panel(qtbot, model)
    qtbot.keyClicks(panel.filter_edit, "steep")  # matches names too
    assert set(combo_ids(panel)) == {"S1", "S2", "S3"}
    panel.filter_edit.setText("s2")
    assert combo_ids(panel) == ["S2"]
    assert model.listener is None  # filtering is not choosing
    qtbot.keyClick(panel.filter_edit, Qt.Key.Key_Return)
    assert model.listener == get_preset("S2")
    panel.filter_edit.setText("zzz")
    assert combo_ids(panel) == []
    qtbot.keyClick(panel.filter_edit, Qt.Key.Key_Return)
    assert "Error" in panel.status_label.text() and len(rec.dialogs) == 1
    assert model.listener == get_preset("S2")


def test_load_clarity_file_and_pick(qtbot: QtBot, model: MixModel, tmp_path: Path) -> None:
    panel, rec = make_panel(qtbot, model)
    panel.select_listener("N2")
    assert panel.load_file(write_clarity(tmp_path / "listeners.json"))
    assert panel.source_combo.currentData() == FILE
    assert combo_ids(panel) == ["L0001", "L0002", "L0003"]
    assert model.listener == get_preset("N2")  # several listeners: the user picks one
    panel.listener_combo.setCurrentIndex(1)
    assert model.listener.id == "L0002" and model.listener.left.levels[0] == 12
    assert panel.select_listener("l0003") and model.listener.id == "L0003"
    assert len(rec.events) == 3 and rec.dialogs == []


def test_single_listener_file_is_chosen(qtbot: QtBot, model: MixModel, tmp_path: Path) -> None:
    panel, _ = make_panel(qtbot, model)
    assert panel.load_file(write_clarity(tmp_path / "one.json", count=1))
    assert model.listener.id == "L0001" and panel.listener_combo.currentIndex() == 0


@pytest.mark.parametrize("content", ["{not json", "[]", '{"L1": {"audiogram_cfs": [250]}}', ""])
def test_malformed_file_keeps_listener(qtbot: QtBot, model: MixModel, tmp_path: Path,
                                       content: str) -> None:
    panel, rec = make_panel(qtbot, model)
    panel.select_listener("N4")
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert not panel.load_file(bad)
    assert model.listener == get_preset("N4")
    assert panel.source_combo.currentData() == PRESETS and "N4" in combo_ids(panel)
    assert panel.status_label.text().startswith("Error:") and "bad.json" in rec.dialogs[0][1]


def test_unknown_id_is_an_error(qtbot: QtBot, model: MixModel) -> None:
    panel, rec = make_panel(qtbot, model)
    panel.select_listener("NH")
    assert not panel.select_listener("N99")
    assert model.listener == get_preset("NH") and len(rec.dialogs) == 1
    assert "N99" in panel.status_label.text()


def test_file_source_asks_and_cancel_reverts(qtbot: QtBot, model: MixModel,
                                             tmp_path: Path) -> None:
    panel, _ = make_panel(qtbot, model)
    panel._ask_open_path = lambda: None  # the user cancels the dialog
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(FILE))
    assert panel.source_combo.currentData() == PRESETS
    path = write_clarity(tmp_path / "l.json")
    panel._ask_open_path = lambda: str(path)
    qtbot.mouseClick(panel.load_button, Qt.MouseButton.LeftButton)
    assert combo_ids(panel) == ["L0001", "L0002", "L0003"]


def test_external_change_is_shown_without_feedback(qtbot: QtBot, model: MixModel,
                                                   tmp_path: Path) -> None:
    panel, rec = make_panel(qtbot, model)
    panel.select_listener("N1")
    rec.events.clear()
    calls: list[Listener | None] = []
    set_listener = model.set_listener
    panel.model = type("Spy", (), {  # what the panel itself asks of the model
        "set_listener": lambda _self, li: calls.append(li) or set_listener(li),
        "listener": property(lambda _self: model.listener)})()
    model.set_listener(get_preset("S1"))  # e.g. a saved session re-applied
    assert len(rec.events) == 1 and calls == []  # the panel sent nothing back
    assert panel.listener_combo.currentData() == "S1"
    assert panel.editor.listener() == get_preset("S1")
    assert "S1" in panel.current_label.text()
    model.set_listener(None)
    assert panel.listener_combo.currentIndex() == -1 and panel.editor.listener() is None
    assert len(rec.events) == 2 and not panel.save_button.isEnabled()


def test_edits_become_an_edited_listener(qtbot: QtBot, model: MixModel) -> None:
    panel, rec = make_panel(qtbot, model)
    panel.select_listener("N3")
    panel.edit_button.setChecked(True)
    assert panel.editor.isVisibleTo(panel)
    rec.events.clear()
    panel.editor.table.item(0, 0).setText("50")
    edited = model.listener
    assert edited.id == "N3" and edited.name == edited_name(get_preset("N3"))
    assert edited.right.levels[0] == 50 and edited.left == get_preset("N3").left
    assert len(rec.events) == 1
    assert panel.listener_combo.currentIndex() == -1
    assert panel.listener_combo.placeholderText() == edited.name
    panel.editor.chart._finish_drag(RIGHT, 1, 70)
    assert model.listener.name.count("(edited)") == 1
    assert panel.editor.undo() and panel.editor.undo()  # history survives the renaming
    assert model.listener == get_preset("N3")  # back to measured: the original again
    assert panel.listener_combo.currentData() == "N3"


def test_save_to_file_round_trips(qtbot: QtBot, model: MixModel, tmp_path: Path) -> None:
    panel, rec = make_panel(qtbot, model)
    assert not panel.save_button.isEnabled()
    panel.select_listener("S3")
    panel.editor.table.item(2, 0).setText("0")
    target = tmp_path / "s3.json"
    panel._ask_save_path = lambda: str(target)
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    assert load_listeners(target) == {"S3": model.listener}
    assert not panel.save_to_file(target)  # exists, and not asked to overwrite
    assert "already exists" in panel.status_label.text() and len(rec.dialogs) == 1
    assert not panel.save_to_file(tmp_path / "missing" / "x.json")
    assert panel.load_file(target) and model.listener.name.endswith("(edited)")


def test_profiles(qtbot: QtBot, model: MixModel, tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.sqlite3") as store:
        panel, rec = make_panel(qtbot, model, store)
        assert panel.source_combo.findData(PROFILES) >= 0
        assert panel.set_source(PROFILES) and combo_ids(panel) == []
        assert panel.listener_combo.placeholderText() == "No listeners here yet"
        panel.set_source(PRESETS)
        panel.select_listener("N5")
        panel.editor.table.item(0, 1).setText("35")
        assert panel.save_profile()
        panel.set_source(PROFILES)
        assert combo_ids(panel) == ["N5"]
        saved: Listener = store.listeners()[0]
        assert saved == model.listener and saved.name.endswith("(edited)")
        model.set_listener(get_preset("NH"))
        panel.listener_combo.setCurrentIndex(0)
        assert model.listener == saved and rec.dialogs == []


def test_knows_unsaved_edits(qtbot: QtBot, model: MixModel, tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.sqlite3") as store:
        panel, rec = make_panel(qtbot, model, store)
        panel.select_listener("N3")
        assert not panel.has_unsaved_edits()  # chosen, not edited
        panel.editor.table.item(0, 0).setText("50")
        assert panel.has_unsaved_edits()
        assert panel.save_profile() and not panel.has_unsaved_edits()
        panel.editor.table.item(1, 0).setText("55")
        assert panel.has_unsaved_edits()
        assert panel.save_to_file(tmp_path / "n3.json") and not panel.has_unsaved_edits()
        panel.editor.table.item(2, 0).setText("60")
        model.set_listener(get_preset("S1"))  # chosen elsewhere: a preference re-applied
        assert not panel.has_unsaved_edits()
        panel.select_listener("N5")
        panel.editor.table.item(0, 1).setText("35")
        assert panel.editor.undo() and model.listener == get_preset("N5")
        assert not panel.has_unsaved_edits() and rec.dialogs == []  # undone: no edit


def test_choosing_another_listener_asks_about_an_edited_audiogram(
        qtbot: QtBot, model: MixModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    buttons = QMessageBox.StandardButton
    answers = [buttons.Cancel, buttons.Save]
    with SessionStore(tmp_path / "s.sqlite3") as store:
        panel, _ = make_panel(qtbot, model, store)
        asked: list[str] = []
        monkeypatch.setattr(panel, "ask_unsaved_listener",
                            lambda name: asked.append(name) or answers.pop(0))
        panel.select_listener("N3")
        panel.editor.table.item(0, 0).setText("70")  # measured thresholds typed in
        edited = model.listener
        assert edited is not None and not asked
        panel.select_listener("N4")  # Cancel: the edit stays, and stays chosen
        assert asked == [edited.display_name] and model.listener == edited
        assert panel.listener_combo.placeholderText() == edited.display_name
        panel.select_listener("N4")  # Save: kept as the profile, then N4
        assert store.listener("N3") == edited and model.listener == get_preset("N4")
        panel.select_listener("N5")  # nothing edited since: nothing asked
        assert len(asked) == 2


def test_saving_over_another_persons_profile_asks(qtbot: QtBot, model: MixModel,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with SessionStore(tmp_path / "s.sqlite3") as store:
        alice = dataclasses.replace(get_preset("N3"), id="L0001", name="Alice Martin")
        store.save_listener(alice)
        panel, _ = make_panel(qtbot, model, store)
        asked: list[tuple[str, str]] = []
        answer = [False]
        monkeypatch.setattr(panel, "ask_replace_profile", lambda stored, new: asked.append(
            (stored.name, new.name)) or answer[0])
        other = dataclasses.replace(get_preset("S2"), id="L0001", name="L0001")
        model.set_listener(other)  # e.g. L0001 of a Clarity file
        assert not panel.save_profile() and store.listener("L0001") == alice
        assert asked == [("Alice Martin", "L0001")]
        answer[0] = True
        assert panel.save_profile() and store.listener("L0001") == other
        # Another L0001 from elsewhere, of the same name as Clarity names them: asked too
        elsewhere = dataclasses.replace(other, left=get_preset("S3").left)
        model.set_listener(elsewhere)
        assert panel.save_profile() and asked[2:] == [("L0001", "L0001")]
        assert store.listener("L0001") == elsewhere


def test_no_store_hides_profiles(qtbot: QtBot, model: MixModel) -> None:
    panel, _ = make_panel(qtbot, model)
    assert panel.source_combo.findData(PROFILES) == -1
    assert not panel.profile_button.isVisibleTo(panel)


def test_accessible_names(qtbot: QtBot, model: MixModel) -> None:
    panel, _ = make_panel(qtbot, model)
    for widget in (panel.source_combo, panel.filter_edit, panel.listener_combo,
                   panel.load_button, panel.save_button, panel.profile_button,
                   panel.edit_button, panel.status_label, panel.current_label, panel.editor):
        assert widget.accessibleName()


def test_real_clarity_file(qtbot: QtBot, model: MixModel, shared_data: Path) -> None:
    path = shared_data / "listeners" / "clarity_listeners.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    panel, _ = make_panel(qtbot, model)
    assert panel.load_file(path)
    assert panel.listener_combo.count() == 83
    panel.filter_edit.setText("L0001")
    assert combo_ids(panel) == ["L0001"]
    assert panel.select_listener("L0001") and model.listener.id == "L0001"


def test_deleted_panel_stops_observing(qtbot: QtBot, model: MixModel,
                                       caplog: pytest.LogCaptureFixture) -> None:
    panel = ListenerPanel(model)
    panel.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    model.set_listener(get_preset("N1"))  # would call into a deleted widget if still bound
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_keyboard_edit_through_panel(qtbot: QtBot, model: MixModel) -> None:
    panel, rec = make_panel(qtbot, model)
    panel.select_listener("N2")
    panel.edit_button.setChecked(True)
    with qtbot.waitActive(panel):
        panel.show()
        panel.activateWindow()
    table = panel.editor.table
    table.setFocus()
    table.setCurrentCell(0, 1)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    cell_editor = QApplication.focusWidget()
    qtbot.keyClicks(cell_editor, "65")
    with qtbot.waitSignal(panel.editor.listenerEdited):  # the delegate commits queued
        qtbot.keyClick(cell_editor, Qt.Key.Key_Return)
    assert model.listener.left.levels[0] == 65 and model.listener.name.endswith("(edited)")
    assert table.item(0, 1).text() == "65" and len(rec.events) == 2


def test_a_listener_set_elsewhere_clears_the_word_about_the_last_choice(
        qtbot: QtBot, model: MixModel) -> None:
    panel, _ = make_panel(qtbot, model)
    panel.listener_combo.setCurrentIndex(combo_ids(panel).index("S2"))
    assert "S2" in panel.status_label.text()
    model.set_listener(get_preset("N3"))  # e.g. booth mode's Start over, a cancelled refit
    assert panel.status_label.text() == "" and "N3" in panel.current_label.text()


def test_a_profile_of_a_newer_version_hides_no_other(qtbot: QtBot, model: MixModel,
                                                     tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.sqlite3") as store:
        for lid in ("N1", "N3", "S1"):
            store.save_listener(get_preset(lid))
        with sqlite3.connect(store.path, isolation_level=None) as conn:
            (text,) = conn.execute("SELECT audiogram FROM listeners WHERE id = 'N3'").fetchone()
            conn.execute("UPDATE listeners SET audiogram = ? WHERE id = 'N3'",
                         (json.dumps({**json.loads(text), "version": 2}),))
        panel, rec = make_panel(qtbot, model, store)
        assert panel.set_source(PROFILES) and combo_ids(panel) == ["N1", "S1"]
        assert "listener N3 was saved by a newer version of remixer_app" in (
            panel.status_label.text()) and rec.dialogs == []
        panel.select_listener("S1")
        model.set_listener(get_preset("N3"))  # the preset N3: its newer profile stays
        assert not panel.save_profile() and "newer version" in rec.dialogs[-1][1]


def test_a_profile_changed_elsewhere_is_not_replaced_unasked(
        qtbot: QtBot, tmp_path: Path) -> None:
    """Two copies of the app edit the same profile: the second save asks first."""
    path = tmp_path / "s.sqlite3"
    ann = dataclasses.replace(get_preset("N3"), id="L0001", name="Ann")
    with SessionStore(path) as first, SessionStore(path) as second:
        first.save_listener(ann)
        panels = []
        for store in (first, second):
            panel, rec = make_panel(qtbot, MixModel(), store)
            assert panel.set_source(PROFILES) and panel.select_listener("L0001")
            panels.append((panel, rec))
        (a, a_rec), (b, b_rec) = panels
        asked: list[bool] = []
        answers = [False, True]
        b.ask_replace_profile = lambda stored, new: (  # type: ignore[method-assign]
            asked.append(b._changed_elsewhere(stored)) or answers.pop(0))
        a.editor.table.item(0, 0).setText("70")
        b.editor.table.item(6, 0).setText("80")
        mine, theirs = a.model.listener, b.model.listener
        assert a.save_profile() and first.listener("L0001") == mine
        assert not b.save_profile() and asked == [True]  # asked, and declined
        assert second.listener("L0001") == mine and b.has_unsaved_edits()
        assert b.save_profile() and second.listener("L0001") == theirs  # asked, replaced
        assert asked == [True, True] and a_rec.dialogs == b_rec.dialogs == []

        # Changed again while the question was open: nothing is written.
        def meanwhile(stored: Listener, new: Listener) -> bool:
            first.save_listener(mine)
            return True

        a.ask_replace_profile = meanwhile  # type: ignore[method-assign]
        a.editor.table.item(1, 0).setText("75")
        assert not a.save_profile() and first.listener("L0001") == mine
        assert "changed elsewhere meanwhile" in a_rec.dialogs[-1][1]


def test_thresholds_put_back_elsewhere_leave_the_edits_a_redo_away(
        qtbot: QtBot, model: MixModel) -> None:
    panel, _ = make_panel(qtbot, model)
    panel.select_listener("N3")
    panel.editor.table.item(0, 0).setText("50")
    fitted = model.listener  # say the refit for this edit finished
    panel.editor.table.item(1, 0).setText("60")
    panel.editor.table.item(2, 0).setText("70")
    model.set_listener(fitted)  # a cancelled refit puts back the fitted thresholds
    assert panel.editor.listener() == fitted and panel.has_unsaved_edits()
    assert "Undo or Redo brings your change back" in panel.editor.status_label.text()
    assert panel.editor.redo() and panel.editor.redo()
    assert model.listener.right.levels[2] == 70 and model.listener.name == fitted.name
    assert panel.editor.undo() and panel.editor.undo() and panel.editor.undo()
    assert model.listener == get_preset("N3") and not panel.has_unsaved_edits()
    # The first edit undone too: the measured thresholds are then the listener as chosen.
    panel.editor.table.item(0, 0).setText("50")
    model.set_listener(get_preset("N3"))
    assert not panel.has_unsaved_edits() and panel.editor.redo()
    assert model.listener.right.levels[0] == 50 and panel.has_unsaved_edits()
    # An undo whose refit is cancelled puts the newer audiogram back: still unsaved,
    # and Undo goes back to the one undone to.
    panel.editor.table.item(1, 0).setText("60")
    newer = model.listener
    assert panel.editor.undo()
    model.set_listener(newer)
    assert panel.editor.listener() == newer and panel.has_unsaved_edits()
    assert panel.editor.undo() and model.listener.right.levels[1] != 60
