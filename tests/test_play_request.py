"""Play pressed while the hearing aid is being fitted: it plays once fitted, or is
forgotten when the user takes it back, the fitting is cancelled or fails, or another
track is opened (never silently ignored)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402
from test_track_controller import _stems_folder  # noqa: E402

from remixer_app.core import track_fitting  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.player import Player  # noqa: E402
from remixer_app.ui.main_window import PREPARING_PLAYBACK_TEXT, MainWindow  # noqa: E402
from remixer_app.ui.track_controller import TrackController  # noqa: E402


def _window(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> tuple[MainWindow, list[Player | None]]:
    """A window with a stems folder just opened, its first fitting running, and the
    players the transport was told to play (no sound device in tests)."""
    controller = TrackController(MixModel(), separator_factory=lambda: None)  # type: ignore
    window = MainWindow(controller=controller,
                        settings=QSettings(str(tmp_path / "settings.ini"),
                                           QSettings.Format.IniFormat))
    window.show_error = lambda *_: None
    qtbot.addWidget(window)
    played: list[Player | None] = []
    monkeypatch.setattr(window.transport, "toggle_play",
                        lambda: played.append(window.transport.player))
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        window.open_path(_stems_folder(tmp_path / "stems"))
    # The fitting's result waits for the event loop: it is still running here.
    assert controller.jobs.running() == {"engine"} and window.transport.player is None
    assert window.menus.play_action.isEnabled()
    return window, played


def test_play_pressed_while_fitting_plays_once_fitted(qtbot: QtBot, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    window, played = _window(qtbot, tmp_path, monkeypatch)
    window.menus.play_action.trigger()
    assert window.statusBar().currentMessage() == PREPARING_PLAYBACK_TEXT
    with qtbot.waitSignal(window.controller.player_ready, timeout=60000):
        pass
    assert played == [window.controller.player] and played[0] is not None
    assert window.statusBar().currentMessage() == ""
    window.menus.play_action.trigger()  # playing now: Play is the transport's again
    assert played == [window.controller.player] * 2


def test_play_pressed_again_while_fitting_takes_it_back(qtbot: QtBot, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    window, played = _window(qtbot, tmp_path, monkeypatch)
    window.menus.play_action.trigger()
    window.menus.play_action.trigger()
    assert "will not start" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.controller.player_ready, timeout=60000):
        pass
    assert played == []


def test_a_cancelled_fitting_forgets_play_and_play_then_fits_and_plays(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, played = _window(qtbot, tmp_path, monkeypatch)
    controller = window.controller
    window.menus.play_action.trigger()
    window.cancel_button.click()
    QCoreApplication.processEvents()  # the queued "idle" that ends the request
    assert not window.play_when_ready and played == []
    assert "Fitting cancelled" in window.statusBar().currentMessage()  # kept: it says why
    assert controller.wait(60)
    window.menus.play_action.trigger()  # fits again, and plays when fitted
    assert controller.jobs.running() == {"engine"}
    assert window.statusBar().currentMessage() == PREPARING_PLAYBACK_TEXT
    with qtbot.waitSignal(controller.player_ready, timeout=60000):
        pass
    assert played == [controller.player] and played[0] is not None


def test_a_failed_fitting_or_another_track_forgets_play(qtbot: QtBot, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    window, played = _window(qtbot, tmp_path, monkeypatch)
    controller = window.controller
    window.menus.play_action.trigger()
    window.open_path(tmp_path / "stems")  # the same folder, opened anew
    assert not window.play_when_ready
    qtbot.waitUntil(lambda: not controller.jobs.running(), timeout=60000)
    assert played == [] and controller.player is not None

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("no room")

    monkeypatch.setattr(track_fitting, "HearingAidEngine", broken)
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        window.open_path(tmp_path / "stems")
    window.menus.play_action.trigger()
    assert window.play_when_ready
    with qtbot.waitSignal(controller.failed, timeout=60000):
        pass
    QCoreApplication.processEvents()
    assert not window.play_when_ready and played == []
    assert window.statusBar().currentMessage() != PREPARING_PLAYBACK_TEXT
