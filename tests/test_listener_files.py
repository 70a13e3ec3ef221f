"""Listener files and profiles in the listener panel and the CLI: listeners that cannot
be used, replacing a stored profile, and what counts as saved (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.cli import main  # noqa: E402
from remixer_app.core.audio_io import STEM_NAMES  # noqa: E402
from remixer_app.core.audiogram import Audiogram, Listener  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.storage import SessionStore  # noqa: E402
from remixer_app.ui.listener_panel import PROFILES, ListenerPanel  # noqa: E402

CFS = [250, 500, 1000, 2000, 3000, 4000, 6000, 8000]
TOO_LOUD = "listener L0002, left ear: level 125 dB HL at 8000 Hz is outside -10..120"


def clarity(levels: dict[str, list[int]]) -> dict[str, dict[str, object]]:
    """A Clarity listener file's content: each id named by itself, as Clarity does."""
    return {lid: {"name": lid, "audiogram_cfs": CFS, "audiogram_levels_l": lv,
                  "audiogram_levels_r": lv} for lid, lv in levels.items()}


def one_too_loud(path: Path) -> Path:
    """Three listeners; L0002's left 8 kHz is beyond any audiometer."""
    data = clarity({"L0001": [10, 15, 20, 30, 40, 50, 60, 65],
                    "L0002": [40, 40, 45, 45, 60, 65, 80, 80],
                    "L0003": [5, 5, 10, 10, 15, 20, 25, 30]})
    data["L0002"]["audiogram_levels_l"] = [40, 40, 45, 45, 60, 65, 80, 125]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def make_panel(qtbot: QtBot, model: MixModel,
               store: SessionStore) -> tuple[ListenerPanel, list[str]]:
    """A panel with profiles in ``store``, and the messages of its error dialogs."""
    panel = ListenerPanel(model, lambda: store)
    qtbot.addWidget(panel)
    dialogs: list[str] = []
    panel.show_error_dialog = lambda title, message: dialogs.append(message)  # type: ignore[method-assign]
    return panel, dialogs


# ---------------------------------------------------------------------------- the panel


def test_a_listener_that_cannot_be_used_leaves_the_others_usable(qtbot: QtBot,
                                                                  tmp_path: Path) -> None:
    model = MixModel()
    with SessionStore(tmp_path / "s.sqlite3") as store:
        panel, dialogs = make_panel(qtbot, model, store)
        assert panel.load_file(one_too_loud(tmp_path / "cohort.json"))
        assert list(panel.listeners()) == ["L0001", "L0003"] and dialogs == []
        status = panel.status_label.text()
        assert status.startswith("Loaded 2 listener(s) from cohort.json; choose one.")
        assert f"Left out 1 listener(s) of cohort.json that cannot be used: {TOO_LOUD}." in status
        assert panel.select_listener("L0003") and model.listener is not None
        assert model.listener.id == "L0003"


def test_a_file_of_no_usable_listener_is_refused_with_the_reasons(qtbot: QtBot,
                                                                  tmp_path: Path) -> None:
    model = MixModel()
    path = tmp_path / "ids.json"
    # "L\ud800" is half a UTF-16 pair: no database or file can store it as text.
    path.write_text('{"L\\ud800": {"audiogram_cfs": [250, 500], "audiogram_levels_l": '
                    '[1, 1], "audiogram_levels_r": [1, 2]}, "  ": {"audiogram_cfs": [250, '
                    '500], "audiogram_levels_l": [1, 1], "audiogram_levels_r": [1, 2]}}',
                    encoding="utf-8")
    with SessionStore(tmp_path / "s.sqlite3") as store:
        panel, dialogs = make_panel(qtbot, model, store)
        assert not panel.load_file(path) and model.listener is None
        assert len(dialogs) == 1 and f"{path} holds no listener that can be used" in dialogs[0]
        assert "the listener id 'L\\ud800' is not valid text" in dialogs[0]
        assert "missing or empty listener id '  '" in dialogs[0]


def test_saving_another_files_listener_over_a_stored_profile_asks(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = MixModel()
    clinic_a = tmp_path / "clinic_a.json"
    clinic_a.write_text(json.dumps(clarity({"L0001": [40, 40, 45, 45, 60, 65, 80, 80],
                                            "L0002": [5, 5, 5, 5, 5, 5, 5, 5]})))
    clinic_b = tmp_path / "clinic_b.json"
    clinic_b.write_text(json.dumps(clarity({"L0001": [5, 5, 10, 10, 15, 20, 25, 30]})))
    with SessionStore(tmp_path / "s.sqlite3") as store:
        panel, dialogs = make_panel(qtbot, model, store)
        asked: list[tuple[Listener, Listener]] = []
        monkeypatch.setattr(panel, "ask_replace_profile",
                            lambda stored, new: asked.append((stored, new)) or False)
        assert panel.load_file(clinic_a) and panel.select_listener("L0001")
        measured = model.listener
        assert panel.save_profile() and store.listener("L0001") == measured and not asked
        assert panel.load_file(clinic_b)  # its only listener is chosen: another L0001
        other = model.listener
        assert other is not None and other.name == "L0001" and other != measured
        assert not panel.save_profile() and asked == [(measured, other)]
        assert store.listener("L0001") == measured and dialogs == []


def test_the_profile_as_saved_asks_nothing_when_saved_again(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = MixModel()
    with SessionStore(tmp_path / "s.sqlite3") as store:
        ear = Audiogram([250, 1000, 4000], [10, 30, 60])
        store.save_listener(Listener("P1", ear, ear, "Ann"))
        panel, dialogs = make_panel(qtbot, model, store)
        asked: list[str] = []
        monkeypatch.setattr(panel, "ask_replace_profile",
                            lambda stored, new: asked.append(new.name) or True)
        assert panel.set_source(PROFILES) and panel.select_listener("P1")
        panel.editor.table.item(0, 0).setText("50")
        assert panel.save_profile() and asked == ["Ann (edited)"]  # a new name: asked
        panel.editor.table.item(1, 0).setText("35")
        assert panel.save_profile() and asked == ["Ann (edited)"]  # the same one edited
        assert store.listener("P1") == model.listener and dialogs == []


@pytest.mark.parametrize("save", ["profile", "file"])
def test_undo_after_saving_is_an_unsaved_edit(qtbot: QtBot, tmp_path: Path,
                                             save: str) -> None:
    model = MixModel()
    with SessionStore(tmp_path / "s.sqlite3") as store:
        ear = Audiogram([250, 1000, 4000], [10, 30, 60])
        store.save_listener(Listener("P1", ear, ear, "Ann"))
        panel, dialogs = make_panel(qtbot, model, store)
        assert panel.set_source(PROFILES) and panel.select_listener("P1")
        panel.editor.table.item(0, 0).setText("50")
        saved = model.listener
        assert (panel.save_profile() if save == "profile"
                else panel.save_to_file(tmp_path / "p1.json"))
        assert not panel.has_unsaved_edits()
        assert panel.editor.undo()  # the measured thresholds on screen again
        assert model.listener is not None and model.listener != saved
        np.testing.assert_array_equal(model.listener.right.levels, [10, 30, 60])
        assert panel.has_unsaved_edits() and dialogs == []  # closing asks first


# ---------------------------------------------------------------------------- the CLI


def test_cli_lists_the_usable_listeners_and_warns_of_the_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = one_too_loud(tmp_path / "cohort.json")
    assert main(["listeners", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"2 listener(s) in {path}") and "L0001" in out and "L0003" in out
    assert "L0002" not in out
    assert err.strip() == (f"remixer: warning: Left out 1 listener(s) of {path} that cannot "
                           f"be used: {TOO_LOUD}.")


def test_cli_refuses_a_file_of_no_usable_listener(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "blank.json"
    path.write_text(json.dumps(clarity({" ": [10, 20, 30, 40, 50, 60, 70, 80]})))
    assert main(["listeners", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "missing or empty listener id ' '" in err and str(path) in err


def test_render_uses_a_listener_of_a_file_with_an_unusable_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "stems"
    folder.mkdir()
    quiet = np.full((22050, 2), 0.01, dtype=np.float32)  # the 0.4 s loudness needs
    for name in STEM_NAMES:
        sf.write(folder / f"{name}.wav", quiet, 44100, subtype="FLOAT")
    path = one_too_loud(tmp_path / "cohort.json")
    base = ["render", "--stems", str(folder), "--listener-file", str(path)]
    assert main([*base, "--listener", "L0001", "--out", str(tmp_path / "a.flac")]) == 0
    assert (tmp_path / "a.flac").is_file()
    capsys.readouterr()
    assert main([*base, "--listener", "L0002", "--out", str(tmp_path / "b.flac")]) == 2
    err = capsys.readouterr().err
    assert f"listener 'L0002' of {path} cannot be used: {TOO_LOUD}" in err
    assert not (tmp_path / "b.flac").exists()


def test_evaluate_takes_the_usable_listeners_of_a_file(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    musdb = tmp_path / "musdb"
    (musdb / "test").mkdir(parents=True)
    (musdb / "test" / "Some - Track.stem.mp4").touch()
    hrir = tmp_path / "hrir.mat"
    hrir.write_bytes(b"read after the listeners: this run ends there")
    path = one_too_loud(tmp_path / "cohort.json")
    assert main(["evaluate", "--musdb", str(musdb), "--oracle", "--listener-file", str(path),
                 "--hrir", str(hrir), "--out", str(tmp_path / "r.csv")]) == 2
    warning, error = capsys.readouterr().err.splitlines()
    assert warning == (f"remixer: warning: Left out 1 listener(s) of {path} that cannot be "
                       f"used: {TOO_LOUD}.")
    assert str(hrir) in error and "listener" not in error
