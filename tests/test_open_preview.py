"""The first seconds of a track open while the rest separates, and play on into the whole."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from fake_separators import ShareSeparator  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core import track_loader  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.player_transport import PlayState  # noqa: E402
from remixer_app.core.progress import ProgressReport  # noqa: E402
from remixer_app.core.track_loader import OpenedTrack  # noqa: E402
from remixer_app.ui.track_controller import TrackController  # noqa: E402

RATE = 44100


class WindowedSeparator(ShareSeparator):
    """Writes second by second, and waits after the first second until ``go`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    def windows(self, frames: int) -> list[tuple[int, int]]:
        return [(0, RATE), (RATE, frames)] if frames > 2 * RATE else [(0, frames)]

    def separate_into(self, mix: np.ndarray, sink: Any, *, progress: Any = None,
                      cancelled: Any = None) -> None:
        share = (np.asarray(mix, np.float32) / len(self.stems)).astype(np.float32)
        for start in range(0, len(share), RATE):
            sink.write(start, {stem: share[start:start + RATE] for stem in self.stems})
            if start == 0:
                while not self.go.wait(0.05):
                    if cancelled is not None and cancelled():
                        from remixer_app.core.errors import Cancelled
                        raise Cancelled("cancelled")


@pytest.fixture
def song(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(track_loader, "PREVIEW_SECONDS", 1.0)
    path = tmp_path / "song.wav"
    audio = 0.1 * np.random.default_rng(3).standard_normal((4 * RATE, 2))
    sf.write(path, audio, RATE, subtype="FLOAT")
    return path


def _previewing(qtbot: QtBot, separator: ShareSeparator, path: Path
                ) -> tuple[TrackController, list[str]]:
    """A controller that has opened ``path``'s first seconds, their hearing aid fitted,
    and the notices it gave."""
    controller = TrackController(MixModel(), separator_factory=lambda: separator)  # type: ignore
    notices: list[str] = []
    controller.notice.connect(notices.append)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(path)
    return controller, notices


def test_the_first_seconds_play_and_hand_over_to_the_whole(qtbot: QtBot, song: Path) -> None:
    separator = WindowedSeparator()
    controller = TrackController(MixModel(), separator_factory=lambda: separator)  # type: ignore
    opened: list[OpenedTrack] = []
    controller.track_opened.connect(opened.append)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(song)
    (first,) = opened
    assert not first.complete and first.frames == RATE and "its first 1 s only" in first.source
    assert "open" in controller.jobs.running()  # the rest is still being separated
    preview = controller.player
    assert preview is not None and preview.duration == RATE
    preview.seek(RATE // 2)
    preview.play()
    controller.model.set_gains({"vocals": 6.0})  # remixed meanwhile: kept for the whole
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        separator.go.set()
    whole = opened[-1]
    assert whole.complete and whole.frames == 4 * RATE and len(opened) == 2
    player = controller.player
    assert player is not None and player is not preview and player.duration == 4 * RATE
    assert player.state is PlayState.PLAYING and player.position == RATE // 2
    assert preview.state is not PlayState.PLAYING
    assert player.settings.gains_db["vocals"] == 6.0


def test_the_progress_bar_follows_the_separation_while_the_first_seconds_are_fitted(
        qtbot: QtBot, song: Path) -> None:
    separator = WindowedSeparator()
    controller = TrackController(MixModel(), separator_factory=lambda: separator)  # type: ignore
    reports: list[ProgressReport] = []
    controller.progress.connect(reports.append)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(song)
    assert not any("fitting" in r.message for r in reports)  # the separation's only
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        separator.go.set()
    assert any("fitting" in r.message for r in reports)  # the whole's fitting shows


def test_the_first_seconds_played_to_their_end_play_on_into_the_whole(
        qtbot: QtBot, song: Path) -> None:
    separator = WindowedSeparator()
    controller, _ = _previewing(qtbot, separator, song)
    preview = controller.player
    assert preview is not None
    preview.play()
    block = np.zeros((4096, 2), np.float32)
    while preview.position < RATE:  # the device asking for blocks to the end of the first second
        preview.callback(block, len(block), None, None)
    preview.poll()
    assert preview.state is PlayState.STOPPED and preview.position == RATE
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        separator.go.set()
    player = controller.player
    assert player is not None and player.state is PlayState.PLAYING
    assert player.position == RATE


def test_a_cancelled_separation_leaves_the_first_seconds_and_says_so(
        qtbot: QtBot, song: Path) -> None:
    separator = WindowedSeparator()
    controller, notices = _previewing(qtbot, separator, song)
    controller.cancel_by_user()
    assert controller.track is not None and not controller.track.complete
    assert "only the first seconds of song.wav are open" in notices[-1]
    assert notices.count(notices[-1]) == 1
    assert "open" not in controller.jobs.running()


def test_a_track_separated_in_one_window_opens_whole_at_once(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(track_loader, "PREVIEW_SECONDS", 1.0)
    path = tmp_path / "short.wav"  # 2 s: one window, its first second comes with the rest
    sf.write(path, 0.1 * np.random.default_rng(4).standard_normal((2 * RATE, 2)), RATE)
    separator = WindowedSeparator()
    separator.go.set()
    controller = TrackController(MixModel(), separator_factory=lambda: separator)  # type: ignore
    opened: list[OpenedTrack] = []
    controller.track_opened.connect(opened.append)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.open(path)
    assert [t.complete for t in opened] == [True]


def test_a_stopped_fitting_or_separation_leaves_nothing_pretending_to_be_whole(
        qtbot: QtBot, song: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    separator = WindowedSeparator()
    controller, notices = _previewing(qtbot, separator, song)
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        separator.go.set()
    controller.cancel_by_user()  # the whole's fitting: its first seconds' player goes
    assert controller.track is not None and controller.track.complete
    assert controller.player is None and controller.engine is None
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        controller.fit()  # as Play does
    assert controller.player is not None and controller.player.duration == 4 * RATE
    # A separation that fails after the first seconds: they stay, and it is said.
    failing = WindowedSeparator()

    def fail_after_first(mix: np.ndarray, sink: Any, **_: Any) -> None:
        share = (np.asarray(mix, np.float32) / 4).astype(np.float32)
        sink.write(0, {stem: share[:RATE] for stem in failing.stems})
        while not failing.go.wait(0.05):
            pass
        raise RuntimeError("the model broke")

    monkeypatch.setattr(failing, "separate_into", fail_after_first)
    other = song.with_name("other.wav")
    sf.write(other, 0.1 * np.random.default_rng(5).standard_normal((4 * RATE, 2)), RATE)
    controller2, notices2 = _previewing(qtbot, failing, other)
    with qtbot.waitSignal(controller2.failed, timeout=60000):
        failing.go.set()
    assert controller2.track is not None and not controller2.track.complete
    assert "only the first seconds of other.wav are open" in notices2[-1]


def test_the_window_plays_the_first_seconds_but_exports_only_the_whole(
        qtbot: QtBot, song: Path, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from remixer_app.ui.main_window import MainWindow

    separator = WindowedSeparator()
    controller = TrackController(MixModel(), separator_factory=lambda: separator)  # type: ignore
    window = MainWindow(controller=controller,
                        settings=QSettings(str(tmp_path / "settings.ini"),
                                           QSettings.Format.IniFormat))
    problems: list[str] = []
    window.report_problem = lambda title, message, *_: problems.append(message)  # type: ignore
    qtbot.addWidget(window)
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        window.open_path(song)
    exports = (window.menus.export_aided_action, window.menus.export_remix_action,
               window.menus.export_stems_action)
    assert window.menus.play_action.isEnabled() and not any(a.isEnabled() for a in exports)
    assert "its first 1 s only" in window.track_label.text()
    assert window.track is not None and controller.engine is not None
    assert window.exports.export("aided", tmp_path / "x.flac", controller.engine,
                                 window.track) is None
    assert "still being separated" in problems[-1] and not (tmp_path / "x.flac").exists()
    with qtbot.waitSignal(controller.engine_ready, timeout=60000):
        separator.go.set()
    assert all(a.isEnabled() for a in exports)
    assert "first 1 s" not in window.track_label.text()


def test_play_asked_while_the_first_seconds_are_fitted_goes_on_to_the_whole(
        qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from remixer_app.ui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"),
                                           QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    stems = {s: np.zeros((RATE, 2), np.float32) for s in ("vocals", "drums", "bass", "other")}

    def track(path: str, frames: int, complete: bool) -> OpenedTrack:
        return OpenedTrack(tmp_path / path, np.zeros((frames, 2), np.float32),
                           {s: np.zeros((frames, 2), np.float32) for s in stems}, None,
                           "fake", (), complete=complete)

    window._track_opened(track("a.wav", RATE, False))
    window.play_when_ready = True  # Play pressed while its first second is fitted
    window._track_opened(track("a.wav", 4 * RATE, True))  # the whole came first
    assert window.play_when_ready
    window._track_opened(track("b.wav", 4 * RATE, True))  # another track: forgotten
    assert not window.play_when_ready
