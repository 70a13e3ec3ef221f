"""Classical mode in the app: a track's stems are its instruments, everywhere (pytest-qt)."""

from __future__ import annotations

import csv
import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fake_separators import FakeLoader  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core import engine as engine_module  # noqa: E402
from remixer_app.core.audio_io import STEM_NAMES  # noqa: E402
from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.errors import SeparationError  # noqa: E402
from remixer_app.core.export import DEFAULT_EXPORT_RATE  # noqa: E402
from remixer_app.core.exporting import Exported  # noqa: E402
from remixer_app.core.instruments import HEARING_AIDS  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.separation.ensemble import CLASSICAL_ENSEMBLE  # noqa: E402
from remixer_app.core.stems_folder import stem_players  # noqa: E402
from remixer_app.core.storage import SessionStore  # noqa: E402
from remixer_app.ui.instruments_dialog import InstrumentsDialog  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402
from remixer_app.ui.session_report import write_report  # noqa: E402
from remixer_app.ui.sessions_table import gains_summary  # noqa: E402
from remixer_app.ui.track_controller import TrackController  # noqa: E402
from remixer_app.ui.workers import Worker  # noqa: E402

RATE = 44100
TRIO = ("cello", "flute", "violin")


def write_instruments(folder: Path, names: tuple[str, ...] = ("violin", "cello", "flute"),
                      seconds: float = 1.0) -> Path:
    """Synthetic instrument stems: a different tone per instrument, as WAV files."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    for i, name in enumerate(names):
        tone = 0.1 * np.sin(2 * np.pi * 220 * (i + 1) * t)
        sf.write(folder / f"{name}.wav", np.stack([tone, tone], axis=1).astype(np.float32), RATE)
    return folder


def write_song(path: Path) -> Path:
    """A second of noise: a plain recording, for the separation the fake loader does."""
    sf.write(path, 0.05 * np.random.default_rng(3).standard_normal((RATE, 2)), RATE)
    return path


def make_window(qtbot: QtBot, tmp_path: Path, loader: FakeLoader | None = None) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    controller = TrackController(MixModel(), separator_loader=loader or FakeLoader())
    window = MainWindow(controller=controller, settings=settings)
    window.errors = []  # type: ignore[attr-defined]
    window.show_error = lambda _parent, title, text: window.errors.append((title, text))
    window.workspace.ask_note = lambda: ("trio visit", True)  # type: ignore[method-assign]
    qtbot.addWidget(window)
    return window


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        window.open_path(path)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    return make_window(qtbot, tmp_path)


def test_the_engine_takes_the_hearing_aid() -> None:
    """The app builds every engine with ``hearing_aid=``: the engine must accept it."""
    assert "hearing_aid" in inspect.signature(engine_module.HearingAidEngine).parameters
    assert tuple(engine_module.HEARING_AIDS) == HEARING_AIDS


def test_an_instrument_folder_opens_with_a_slider_per_instrument(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    assert window.errors == []  # type: ignore[attr-defined]
    panel = window.stem_panel
    assert panel.stems == TRIO and window.model.state.stems == TRIO
    titles = [panel.strips.layout().itemAtPosition(0, c).widget().text()  # type: ignore
              for c in range(3)]
    assert titles == ["Cello", "Flute", "Violin"]
    assert window.model.state.hearing_aid == "multiband"
    assert window.hearing_aid_panel.kind.currentData() == "multiband"
    assert not window.hearing_aid_panel.enabled.isEnabled()
    assert "(Cello, Flute, Violin)" in window.track_label.text()
    assert window.controller.engine is not None
    assert set(window.controller.engine.stem_names) == set(TRIO)
    assert list(window.workspace.booth.scenario_buttons)[1:] == [f"more {s}" for s in TRIO]


def test_sliders_mute_solo_and_undo_re_render(qtbot: QtBot, window: MainWindow,
                                              tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    player = window.transport.player
    assert player is not None
    before = player.engine.stem_weights(player.settings.gains_db)
    window.stem_panel.sliders["violin"].setValue(12)  # +6 dB
    assert window.model.state.gains_db["violin"] == 6.0
    assert player.settings.gains_db["violin"] == 6.0  # the player has the new mix
    after = player.engine.stem_weights(player.settings.gains_db)
    k, j = (player.engine.stem_names.index(s) for s in ("violin", "cello"))
    assert after[k] / after[j] == pytest.approx(2 * before[k] / before[j], rel=0.01)  # +6 dB
    window.stem_panel.mutes["cello"].click()
    assert player.settings.gains_db["cello"] == -np.inf
    window.menus.undo_action.trigger()
    window.menus.undo_action.trigger()
    assert player.settings.gains_db["violin"] == 0.0 and "cello" not in window.model.state.muted
    window.menus.redo_action.trigger()
    assert window.stem_panel.sliders["violin"].value() == 12


def test_a_pop_track_after_a_classical_one_gets_its_stems_back(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    window.model.set_gain("violin", 3)
    folder = tmp_path / "Pop"
    folder.mkdir()
    for i, name in enumerate(STEM_NAMES):
        noise = 0.05 * np.random.default_rng(i).standard_normal((RATE, 2))
        sf.write(folder / f"{name}.wav", noise.astype(np.float32), RATE)
    open_and_wait(qtbot, window, folder)
    assert window.stem_panel.stems == STEM_NAMES and window.model.state.hearing_aid == "nalr"
    assert not window.model.can_undo  # the trio's steps are not this track's
    assert window.hearing_aid_panel.enabled.isEnabled()


def test_changing_the_hearing_aid_refits_like_a_new_listener(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    first = window.controller.engine
    combo = window.hearing_aid_panel.kind
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        combo.setCurrentIndex(combo.findData("nalr"))
    assert window.controller.engine is not first
    assert window.model.state.hearing_aid == "nalr"


def test_sessions_keep_instrument_gains_and_old_pop_sessions_still_load(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    window.model.set_gains({"violin": 4.5, "cello": -3})
    window.model.set_soloed("flute")
    pref_id = window.workspace.save_current()
    assert pref_id is not None
    window.model.reset()
    dialog = window.workspace.show_sessions()
    assert dialog is not None
    store = window.workspace.store()
    (pref,) = store.preferences()
    assert gains_summary(pref.mix_state()) == "Cello -3 Flute 0 Violin +4.5; solo flute"
    assert dialog.select_preference(pref_id) and dialog.reapply()
    state = window.model.state
    assert dict(state.gains_db) == {"cello": -3.0, "flute": 0.0, "violin": 4.5}
    assert state.soloed == {"flute"} and state.hearing_aid == "multiband"
    assert window.stem_panel.sliders["violin"].value() == 9

    # A preference saved before stem sets (version 1, VDBO keys) is listed, but it is
    # for pop stems, so it cannot be re-applied to the trio; the mix stays as it is.
    old = {"format": "remixer-mix", "version": 1, "gains_db": {"vocals": 6.0, "drums": -3.0,
                                                               "bass": 0.0, "other": 0.0}}
    assert window.model.listener is not None
    old_id = store.add_preference(window.model.listener.id, "old-song", "Old song.flac", old)
    dialog.refresh()
    assert dialog.select_preference(old_id) and not dialog.reapply()
    assert "stems vocals, drums, bass, other" in dialog.status_label.text()
    assert window.model.state.gains_db["violin"] == 4.5


def test_csv_and_report_have_the_instrument_columns(qtbot: QtBot, window: MainWindow,
                                                    tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    window.model.set_gain("flute", -6)
    assert window.workspace.save_current() is not None
    store: SessionStore = window.workspace.store()
    listener = window.model.listener
    assert listener is not None
    store.add_preference(listener.id, "pop", "Pop.flac", {"version": 1,
                                                           "gains_db": {"vocals": 3.0}})
    with (store.export_csv(tmp_path / "prefs.csv")).open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert [c for c in header if c.endswith("_db")] == [
        "vocals_db", "drums_db", "bass_db", "other_db", "cello_db", "flute_db", "violin_db"]
    pop, trio = rows
    assert (trio["flute_db"], trio["vocals_db"], trio["hearing_aid"]) == ("-6", "", "multiband")
    assert (pop["vocals_db"], pop["flute_db"], pop["hearing_aid"]) == ("3", "", "nalr")
    for suffix in (".png", ".pdf"):
        written = write_report(tmp_path / f"report{suffix}", listener, store.preferences())
        assert written.stat().st_size > 1000


def test_a_plain_file_becomes_an_ensemble_through_instruments(qtbot: QtBot,
                                                              tmp_path: Path) -> None:
    loader = FakeLoader()
    window = make_window(qtbot, tmp_path, loader)
    song = write_song(tmp_path / "quartet.wav")
    open_and_wait(qtbot, window, song)
    assert window.stem_panel.stems == STEM_NAMES and loader.calls[-1] == (
        window.controller.choice.ensemble, None)
    menu = window.separation_menu
    assert menu.instruments_action.isEnabled()
    asked = []

    def answer(name: str, current: tuple[str, ...]) -> tuple[str, ...]:
        asked.append((name, current))
        return ("viola", "violin", "cello")

    menu.ask_instruments = answer  # type: ignore[method-assign]
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        assert menu.choose_instruments()
    assert asked == [("quartet.wav", ())]
    assert loader.calls[-1] == (CLASSICAL_ENSEMBLE, ("cello", "viola", "violin"))
    assert window.stem_panel.stems == ("cello", "viola", "violin")
    assert window.model.state.hearing_aid == "multiband"
    assert window.track is not None and window.track.source.startswith(CLASSICAL_ENSEMBLE)
    window.settings.sync()
    saved = json.loads(str(window.settings.value("separation/instruments")))
    assert saved == {str(song.absolute()): ["cello", "viola", "violin"]}

    # Remembered for the track: another window separates it into them straight away.
    again = make_window(qtbot, tmp_path, FakeLoader())
    open_and_wait(qtbot, again, song)
    assert again.stem_panel.stems == ("cello", "viola", "violin")

    # None ticked: a pop track again.
    menu.ask_instruments = lambda name, current: ()  # type: ignore[method-assign]
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        assert menu.choose_instruments()
    assert window.stem_panel.stems == STEM_NAMES and loader.calls[-1][1] is None


def test_instruments_chosen_again_after_a_cancelled_separation_are_separated(
        qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    song = write_song(tmp_path / "quartet.wav")
    open_and_wait(qtbot, window, song)
    controller = window.controller
    assert controller.set_instruments(song, TRIO)
    controller.cancel_by_user()  # before the worker could deliver: the pop stems stay
    assert window.stem_panel.stems == STEM_NAMES
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        assert controller.set_instruments(song, TRIO)  # the same choice, asked again
    assert window.stem_panel.stems == TRIO
    assert not controller.set_instruments(song, TRIO)  # now nothing to do


def test_choosing_instruments_never_cancels_another_files_open(qtbot: QtBot,
                                                               tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    controller = window.controller
    song, other = tmp_path / "quartet.wav", tmp_path / "other.wav"
    for path in (song, other):
        write_song(path)
    open_and_wait(qtbot, window, song)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        window.open_path(other)
        assert not controller.set_instruments(song, TRIO)  # the open of other.wav goes on
    assert window.track is not None and window.track.path == other
    open_and_wait(qtbot, window, song)  # the choice applies the next time
    assert window.stem_panel.stems == TRIO


def test_instruments_can_be_chosen_while_a_file_opens_and_after_it_failed(
        qtbot: QtBot, tmp_path: Path) -> None:
    class NoClassicalModels(FakeLoader):
        def __call__(self, ensemble: str, **kwargs: object) -> object:
            if kwargs.get("instruments"):
                raise SeparationError("the classical models are not installed")
            return super().__call__(ensemble, **kwargs)

    window = make_window(qtbot, tmp_path, NoClassicalModels())
    menu = window.separation_menu
    song = write_song(tmp_path / "quartet.wav")
    asked: list[str] = []

    def answer(name: str, current: tuple[str, ...]) -> tuple[str, ...]:
        asked.append(name)
        return () if current else TRIO

    menu.ask_instruments = answer  # type: ignore[method-assign]
    menu.refresh()
    assert not menu.instruments_action.isEnabled()  # nothing opened yet
    with qtbot.waitSignal(window.controller.failed, timeout=60000):
        window.open_path(song)  # a pop separation starts...
        menu.refresh()
        assert menu.instruments_action.isEnabled()
        assert menu.choose_instruments()  # ... and is replaced by the classical one, which fails
    assert window.track is None and asked == ["quartet.wav"]
    menu.refresh()
    assert menu.instruments_action.isEnabled()  # the failed file's choice can be undone
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        assert menu.choose_instruments()  # none ticked: a pop track, opened again
    assert window.stem_panel.stems == STEM_NAMES


def test_the_chosen_ensemble_for_instruments_separates_them(qtbot: QtBot,
                                                            tmp_path: Path) -> None:
    loader = FakeLoader()
    window = make_window(qtbot, tmp_path, loader)
    song = write_song(tmp_path / "quartet.wav")
    window.controller.choice.classical_ensemble = "my-quartets"  # Separation > its own section
    window.controller.set_instruments(song, TRIO)
    open_and_wait(qtbot, window, song)
    assert loader.calls == [("my-quartets", TRIO)]


def test_instruments_do_not_apply_to_folders(qtbot: QtBot, window: MainWindow,
                                             tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    assert not window.separation_menu.instruments_action.isEnabled()
    assert not window.separation_menu.choose_instruments()


def test_the_dialog_accepts_none_or_two_to_five(qtbot: QtBot) -> None:
    dialog = InstrumentsDialog("quartet.wav", ("violin",))
    qtbot.addWidget(dialog)
    ok = dialog.buttons.buttons()[0]
    assert dialog.chosen() == ("violin",) and not ok.isEnabled()
    assert "tick 2 to 5" in dialog.hint.text()
    dialog.checks["oboe"].click()
    assert dialog.chosen() == ("oboe", "violin") and ok.isEnabled()
    for name in ("cello", "flute", "viola", "bassoon"):
        dialog.checks[name].click()
    assert not ok.isEnabled()
    for check in dialog.checks.values():
        check.setChecked(False)
    assert ok.isEnabled() and "pop track" in dialog.hint.text()
    assert all(c.accessibleName() for c in dialog.checks.values())


def finished(qtbot: QtBot, worker: Worker | None) -> str:
    """What an export worker says it wrote, once it is done; or why it failed."""
    assert worker is not None
    said: list[str] = []
    worker.signals.finished.connect(lambda _request, written: said.append(str(written)))
    worker.signals.failed.connect(lambda _request, message, _details: said.append(
        f"failed: {message}"))
    qtbot.waitUntil(lambda: bool(said), timeout=60000)
    return said[0]


def test_exported_stems_keep_how_many_players_each_holds(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Duo",
                                                   ("violin_1", "violin_2", "cello")))
    assert window.track is not None and window.track.players == {"cello": 1, "violin": 2}
    engine, track = window.controller.engine, window.track
    out = tmp_path / "exported"
    out.mkdir()
    assert finished(qtbot, window.exports.export_stems_to(out, engine, track)) == (
        "cello.wav, violin.wav, scene.json")
    assert stem_players(out) == {"cello": 1, "violin": 2}
    asked: list[list[str]] = []
    window.exports.confirm_replace = (  # type: ignore[method-assign]
        lambda _folder, names: asked.append(names) is None)
    finished(qtbot, window.exports.export_stems_to(out, engine, track))  # again, replacing
    assert asked == [["cello.wav", "violin.wav", "scene.json"]]
    open_and_wait(qtbot, window, out)
    assert window.track is not None and window.track.players == {"cello": 1, "violin": 2}
    assert window.controller.engine is not None
    assert window.controller.engine.players == engine.players
    one_each = tmp_path / "one each"  # nothing to record: no scene.json
    one_each.mkdir()
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Trio"))
    finished(qtbot, window.exports.export_stems_to(one_each, window.controller.engine,
                                                   window.track))
    assert sorted(p.name for p in one_each.iterdir()) == ["cello.wav", "flute.wav", "violin.wav"]


def test_an_export_says_how_many_samples_exceeded_full_scale(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "Clicks"  # clicks: quiet on average, so their peaks clip
    folder.mkdir()
    for i, name in enumerate(("violin", "cello")):
        clicks = 0.01 * np.random.default_rng(i).standard_normal(RATE)
        clicks[::2205] = 0.9
        sf.write(folder / f"{name}.wav", np.stack([clicks, clicks], axis=1), RATE,
                 subtype="FLOAT")
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        window.model.set_listener(get_preset("N7"))
    window.model.set_gains({"violin": 12.0, "cello": 12.0})
    engine, track = window.controller.engine, window.track
    assert engine is not None and track is not None
    for mode, treated in (("hard", "hard clip applied"), ("soft", "soft clip applied"),
                          ("none", "clipped by the file format")):
        window.model.set_clip(mode)  # type: ignore[arg-type]
        settings = window.model.chain_settings()
        _, over = HearingAidEngine.finalize(engine.render(settings), settings,
                                            DEFAULT_EXPORT_RATE)
        assert over > 0
        target = tmp_path / f"aided-{mode}.flac"
        said = f"{target}; {over:,} samples exceeded full scale ({treated})"
        assert finished(qtbot, window.exports.export("aided", target, engine, track)) == said
        assert window.statusBar().currentMessage() == f"Exported {said}"
    remix = finished(qtbot, window.exports.export("remix", tmp_path / "remix.flac", engine,
                                                  track))
    assert remix.endswith("samples exceeded full scale (hard clip applied)")  # always hard
    assert Exported(target, 1.0, 0).clip_note("hard") == ""
