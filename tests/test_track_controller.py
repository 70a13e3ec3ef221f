"""The app's track controller: background open, engine per listener, stale results dropped."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from fake_separators import FakeLoader, ShareSeparator  # noqa: E402
from PySide6.QtCore import QThread  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core import memory_check, track_fitting  # noqa: E402
from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.paths import user_data_dir  # noqa: E402
from remixer_app.core.progress import ProgressReport  # noqa: E402
from remixer_app.ui.listener_panel import ListenerPanel  # noqa: E402
from remixer_app.ui.track_controller import TrackController  # noqa: E402

from tiny_models import write_tiny_ensemble  # noqa: E402

RATE = 44100


def _stems_folder(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for stem in ("vocals", "drums", "bass", "other"):
        sf.write(folder / f"{stem}.wav", 0.05 * rng.standard_normal((RATE, 2)), RATE)
    return folder


def test_open_then_engine_then_rebuild_for_a_new_listener(qtbot: QtBot, tmp_path: Path) -> None:
    model = MixModel()
    controller = TrackController(model, separator_factory=lambda: None)  # type: ignore[arg-type]
    assert model.listener is not None and model.listener.id == "N3"
    threads = []
    controller.engine_ready.connect(lambda _: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(_stems_folder(tmp_path / "stems"))
    assert controller.track is not None and controller.track.source == "stems folder"
    first = controller.engine
    assert first is not None and first.listener.id == "N3"
    assert threads[0] is QThread.currentThread()  # results arrive on the GUI thread
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        model.set_listener(get_preset("S2"))
    assert controller.engine is not first and controller.engine.listener.id == "S2"


def test_errors_come_back_as_one_signal_and_keep_the_old_track(qtbot: QtBot,
                                                                tmp_path: Path) -> None:
    controller = TrackController(MixModel(), separator_factory=lambda: None)  # type: ignore
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(_stems_folder(tmp_path / "stems"))
    track = controller.track
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        controller.open(tmp_path / "bad.wav")
    title, message, _ = blocker.args
    assert "failed" in title and "bad.wav" in message
    assert controller.track is track


def test_a_replaced_open_is_dropped(qtbot: QtBot, tmp_path: Path) -> None:
    controller = TrackController(MixModel(), separator_factory=lambda: None)  # type: ignore
    opened = []
    controller.track_opened.connect(opened.append)
    controller.open(_stems_folder(tmp_path / "a"))
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(_stems_folder(tmp_path / "b"))
    controller.wait()
    qtbot.wait(200)
    assert [t.path.name for t in opened] == ["b"]


def test_plain_files_are_separated_with_the_chosen_ensemble(qtbot: QtBot,
                                                            tmp_path: Path) -> None:
    for name in ("tiny-a", "tiny-b"):
        write_tiny_ensemble(user_data_dir() / "models", name)
    song = tmp_path / "song.wav"
    sf.write(song, 0.05 * np.random.default_rng(1).standard_normal((RATE, 2)), RATE)
    controller = TrackController(MixModel(), ensemble="tiny-a")
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(song)
    assert controller.track is not None and controller.track.source == "tiny-a (separated)"
    controller.choice.set_ensemble("tiny-b")
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(song)
    assert controller.track.source == "tiny-b (separated)"


def _fitted(qtbot: QtBot, tmp_path: Path) -> tuple[MixModel, TrackController, HearingAidEngine]:
    """A controller with a stems folder open and its engine built (for N3)."""
    model = MixModel()
    controller = TrackController(model, separator_factory=lambda: None)  # type: ignore[arg-type]
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(_stems_folder(tmp_path / "stems"))
    assert controller.engine is not None
    return model, controller, controller.engine


def test_a_cancelled_refit_puts_the_fitted_listener_and_aid_back(qtbot: QtBot,
                                                                 tmp_path: Path) -> None:
    model, controller, fitted = _fitted(qtbot, tmp_path)
    notices: list[str] = []
    controller.notice.connect(notices.append)
    built: list[object] = []
    controller.engine_ready.connect(built.append)
    for change in (lambda: model.set_listener(get_preset("S1")),
                   lambda: model.set_hearing_aid("multiband")):
        change()
        controller.cancel_by_user()
        assert model.listener is fitted.listener
        assert model.state.hearing_aid == fitted.hearing_aid
        assert notices[-1] == "Fitting cancelled: the hearing aid stays fitted for N3."
    # Going back to what is fitted builds nothing, and the cancelled jobs never land.
    qtbot.wait(300)
    assert controller.wait(60) and built == [] and controller.engine is fitted


def test_after_a_cancelled_refit_undo_is_the_users_last_change(qtbot: QtBot,
                                                                tmp_path: Path) -> None:
    model, controller, fitted = _fitted(qtbot, tmp_path)
    model.set_gain("vocals", 6.0)
    model.set_gain("vocals", 3.0)
    model.set_hearing_aid("multiband")
    controller.cancel_by_user()
    assert model.state.hearing_aid == "nalr" and model.can_undo
    model.undo()  # not the cancelled aid back (and its fitting started again)
    assert model.state.hearing_aid == "nalr" and model.state.gains_db["vocals"] == 6.0
    assert controller.jobs.running() == set()
    model.redo()
    assert model.state.gains_db["vocals"] == 3.0  # the cancel kept the redo step
    assert controller.wait(60) and controller.engine is fitted


def test_a_cancelled_refit_after_an_audiogram_edit_leaves_it_a_redo_away(
        qtbot: QtBot, tmp_path: Path) -> None:
    model, controller, fitted = _fitted(qtbot, tmp_path)
    panel = ListenerPanel(model)
    qtbot.addWidget(panel)
    notices: list[str] = []
    controller.notice.connect(notices.append)
    panel.editor.table.item(2, 0).setText("70")
    edited = model.listener
    assert controller.jobs.running() == {"engine"}
    controller.cancel_by_user()
    assert model.listener is fitted.listener  # what plays is what the screen shows
    assert notices[-1] == ("Fitting cancelled: the hearing aid stays fitted for N3, whose "
                           "audiogram is back in the editor; Undo or Redo there brings your "
                           "change back and fits the aid to it.")
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        assert panel.editor.redo()
    assert model.listener == edited and controller.engine is not None
    assert controller.engine.listener == edited


def test_going_back_to_the_fitted_listener_stops_the_refit(qtbot: QtBot, tmp_path: Path) -> None:
    model, controller, fitted = _fitted(qtbot, tmp_path)
    busy: list[str] = []
    controller.busy.connect(busy.append)
    model.set_listener(get_preset("S1"))
    model.set_listener(fitted.listener)
    assert busy[-2:] == ["Fitting for S1", ""]  # started, then stopped
    qtbot.wait(300)
    assert controller.wait(60) and controller.engine is fitted


def test_a_refit_plays_on_where_the_old_fitting_was(qtbot: QtBot, tmp_path: Path) -> None:
    model, controller, _ = _fitted(qtbot, tmp_path)
    old = controller.player
    assert old is not None
    old.set_loop((RATE // 10, RATE // 2))
    old.seek(RATE // 4)
    outdata = np.zeros((512, 2), np.float32)
    old.callback(outdata, 512, None, None)  # the callback publishes the seek
    old.play()
    with qtbot.waitSignal(controller.player_ready, timeout=60000):
        model.set_listener(get_preset("S2"))
    new = controller.player
    assert new is not None and new is not old
    assert new.loop == (RATE // 10, RATE // 2)
    assert new.position == old.position > 0
    assert new.state.value == "playing" and old.state.value != "playing"


def test_opening_another_track_drops_the_old_player_at_once(qtbot: QtBot,
                                                           tmp_path: Path) -> None:
    _, controller, _ = _fitted(qtbot, tmp_path)
    players: list[object] = []
    controller.player_ready.connect(players.append)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(_stems_folder(tmp_path / "other"))
    assert players[0] is None  # as soon as the new track opened, before its fitting
    assert players[-1] is controller.player is not None


def test_fittings_replaced_while_queued_are_never_built(qtbot: QtBot, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    model, controller, _ = _fitted(qtbot, tmp_path)
    built: list[str] = []

    def counting_engine(*args: object, **kwargs: object) -> HearingAidEngine:
        engine = HearingAidEngine(*args, **kwargs)  # type: ignore[arg-type]
        built.append(engine.listener.id)
        return engine

    monkeypatch.setattr(track_fitting, "HearingAidEngine", counting_engine)
    presets = ["N1", "N2", "N4", "N5", "S1", "S2"]
    with qtbot.waitSignal(controller.engine_ready, timeout=120000):
        for name in presets:  # arrow keys through the listener box
            model.set_listener(get_preset(name))
    assert controller.wait(120)
    qtbot.wait(200)
    assert controller.engine is not None and controller.engine.listener.id == "S2"
    # One fitting at a time: the first may already run; those queued behind it and
    # replaced meanwhile never build (before, all six were built).
    assert built[-1] == "S2" and len(built) <= 2, built


def test_a_track_whose_first_fitting_was_cancelled_can_be_fitted(qtbot: QtBot,
                                                                 tmp_path: Path) -> None:
    controller = TrackController(MixModel(), separator_factory=lambda: None)  # type: ignore
    notices: list[str] = []
    controller.notice.connect(notices.append)
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        controller.open(_stems_folder(tmp_path / "stems"))
    controller.cancel_by_user()  # the first fitting, started as the track opened
    assert controller.engine is None and "press Play" in notices[-1]
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.fit()  # what Play does then; the same listener chosen again would not
    assert controller.engine is not None and controller.player is not None
    busy: list[str] = []
    controller.busy.connect(busy.append)
    controller.fit()  # fitted: nothing to do
    assert busy == []


def _song(path: Path) -> Path:
    sf.write(path, 0.05 * np.random.default_rng(1).standard_normal((RATE, 2)), RATE)
    return path


def test_a_track_too_long_for_memory_is_refused_before_separation_and_the_old_stays(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    separator = ShareSeparator()
    controller = TrackController(MixModel(), separator_factory=lambda: separator)  # type: ignore
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(_stems_folder(tmp_path / "stems"))
    track, player = controller.track, controller.player
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 1000)
    with qtbot.waitSignal(controller.failed, timeout=60000) as blocker:
        controller.open(_song(tmp_path / "long.wav"))
    title, message, _ = blocker.args
    assert title == "Opening long.wav failed" and "needs about" in message
    assert separator.runs == 0  # before any separation
    assert controller.track is track and controller.player is player is not None


def test_opening_the_track_being_opened_again_goes_on(qtbot: QtBot, tmp_path: Path) -> None:
    loader = FakeLoader()
    controller = TrackController(MixModel(), ensemble="a", separator_loader=loader)  # type: ignore
    busy: list[str] = []
    notices: list[str] = []
    controller.busy.connect(busy.append)
    controller.notice.connect(notices.append)
    song = _song(tmp_path / "song.wav")
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        controller.open(song)
        controller.open(str(song))  # a second drop, or the recent entry clicked again
    assert busy.count("Opening song.wav") == 1  # not started over
    assert notices == ["Already opening song.wav."]
    assert loader.calls == [("a", None)]
    controller.open(song)
    controller.choice.set_ensemble("b")
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        controller.open(song)  # another ensemble asked: that is a new open
    assert controller.track is not None and controller.track.source == "b (separated)"
    assert controller.wait(60)


def test_a_fitting_reports_its_stages(qtbot: QtBot, tmp_path: Path) -> None:
    model, controller, _ = _fitted(qtbot, tmp_path)
    reports: list[ProgressReport] = []
    controller.progress.connect(reports.append)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        model.set_listener(get_preset("S1"))
    fitting = [r for r in reports if 0.0 < r.fraction < track_fitting.FITTING_SHARE]
    assert any("filtering the stems for each ear" in r.message for r in fitting)
    assert [r.fraction for r in reports] == sorted(r.fraction for r in reports)
