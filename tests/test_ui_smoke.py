"""Smoke tests of the main window and the ``remixer-app`` entry point (pytest-qt)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# Before pytest-qt creates the QApplication: there is no display on CI machines.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QMenu,
    QMenuBar,
    QMessageBox,
    QScrollBar,
    QWidget,
)
from pytestqt.qtbot import QtBot  # noqa: E402
from test_output_device import SPEAKERS, FakeSounddevice, install  # noqa: E402

from remixer_app.core import audio_device, playback_probe  # noqa: E402
from remixer_app.core.audio_io import STEM_NAMES  # noqa: E402
from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.ui import app as app_module  # noqa: E402
from remixer_app.ui import main_window, output_devices  # noqa: E402
from remixer_app.ui.listener_files import PROFILES  # noqa: E402
from remixer_app.ui.main_menus import AUDIO_FILTER  # noqa: E402
from remixer_app.ui.main_window import NO_TRACK_TEXT, MainWindow  # noqa: E402
from remixer_app.ui.track_exports import with_suffix  # noqa: E402

RATE = 44100
INTERACTIVE = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QMenu,
               QMenuBar)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    win.show_error = lambda parent, title, text: win.errors.append((title, text))
    win.errors = []  # type: ignore[attr-defined]
    qtbot.addWidget(win)
    win.show()
    return win


def write_stems(folder: Path, names: tuple[str, ...] = STEM_NAMES, seconds: float = 1.0) -> Path:
    """Write short stereo 44.1 kHz WAV stems into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        audio = rng.uniform(-0.1, 0.1, (int(seconds * RATE), 2)).astype(np.float32)
        sf.write(folder / f"{name}.wav", audio, RATE)
    return folder


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        window.open_path(path)


def qt_internal(widget: QWidget) -> bool:
    """Parts Qt builds inside other controls and names through them: a combo box's popup,
    the scroll bars of scroll areas, a line edit's clear button, the menu bar's overflow
    menu (untitled)."""
    parent = widget.parentWidget()
    if isinstance(widget, QScrollBar) or isinstance(parent, QLineEdit):
        return True
    if isinstance(widget, QMenu) and not widget.title():
        return True
    while parent is not None:
        if isinstance(parent, QComboBox):
            return True
        parent = parent.parentWidget()
    return False


# ---------------------------------------------------------------------------- the window


def test_window_builds(window: MainWindow) -> None:
    assert window.windowTitle() == "remixer_app"
    assert window.isVisible()
    assert window.track_label.text() == NO_TRACK_TEXT
    assert window.track is None and window.model.listener is not None
    assert not window.menus.export_aided_action.isEnabled()


def test_every_control_has_an_accessible_name(window: MainWindow) -> None:
    # Skipped as Qt's own internals: widgets named qt_* (e.g. the menu bar's overflow
    # button) and the parts of a combo box's popup list.
    controls = [w for w in window.findChildren(QWidget)
                if isinstance(w, INTERACTIVE) and not w.objectName().startswith("qt_")
                and not qt_internal(w)]
    controls += [window.track_label, window.playback_label]
    assert len(controls) >= 20
    unnamed = [f"{type(w).__name__} {w.objectName()!r}" for w in controls
               if not w.accessibleName().strip()]
    assert unnamed == []
    for action in (window.menus.open_action, window.menus.quit_action, window.menus.undo_action):
        assert action.text().replace("&", "").strip()


def test_menus(window: MainWindow) -> None:
    menu = window.menuBar().actions()[0].menu()
    assert isinstance(menu, QMenu)
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert texts[:3] == ["Open track...", "Open stems folder...", "Open recent"]
    assert "Export hearing-aid output..." in texts and texts[-1] == "Quit"
    assert window.menus.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.menus.undo_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    # Nothing to play, undo or redo yet: the actions say so instead of doing nothing.
    assert not window.menus.play_action.isEnabled()
    assert not window.menus.undo_action.isEnabled() and not window.menus.redo_action.isEnabled()
    window.model.set_gain("vocals", 2.0)
    assert window.menus.undo_action.isEnabled() and not window.menus.redo_action.isEnabled()
    window.menus.undo_action.trigger()
    assert not window.menus.undo_action.isEnabled() and window.menus.redo_action.isEnabled()


def test_access_keys_are_unique_in_every_menu(window: MainWindow) -> None:
    def keys(actions: list) -> list[str]:
        texts = [a.text() for a in actions if not a.isSeparator()]
        return [t[t.index("&") + 1].lower() for t in texts if "&" in t]

    bar = window.menuBar().actions()
    for group in (bar, *(a.menu().actions() for a in bar)):
        letters = keys(group)
        assert len(letters) == len(set(letters)), letters
    assert len(keys(bar)) == len(bar)  # every menu has one


def test_quit_closes_the_window(window: MainWindow) -> None:
    window.menus.quit_action.trigger()
    assert not window.isVisible()


def test_status_bar_reports_playback(window: MainWindow) -> None:
    text = window.playback_label.text()
    assert text.startswith(("Playback available: ", "Playback unavailable: "))
    assert len(text.split(": ", 1)[1]) > 0
    assert text == window.transport.output_status()


def test_status_bar_shows_the_reason(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output_devices, "playback_status",
                        lambda: (False, "Playback unavailable: no output device"))
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.playback_label.text() == "Playback unavailable: no output device"
    win.transport.output_status_changed.emit("Playback stopped: the output device was "
                                             "disconnected")  # as the transport says it
    assert win.playback_label.text().startswith("Playback stopped")


# ---------------------------------------------------------------------------- opening


def test_open_stems_folder_in_the_background(qtbot: QtBot, window: MainWindow,
                                             tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "My Song"))
    assert window.errors == []  # type: ignore[attr-defined]
    assert window.track_label.text().startswith("My Song (0:01)")
    assert window.track is not None and window.menus.export_aided_action.isEnabled()
    assert window.settings.value("recent/files") in (str(tmp_path / "My Song"),
                                                     [str(tmp_path / "My Song")])
    assert [a.text() for a in window.menus.recent_menu.actions()] == [str(tmp_path / "My Song")]


def test_track_label_and_transport_agree_on_the_duration(qtbot: QtBot, window: MainWindow,
                                                         tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "short", seconds=1.6))
    assert window.track_label.text().startswith("short (0:01)")
    assert window.transport.time_label.text() == "0:00 / 0:01"


def test_the_window_fits_a_1366x768_screen_with_a_track_open(qtbot: QtBot, window: MainWindow,
                                                            tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    layout = window.layout()
    layout.invalidate()  # take in what the open track changed (labels, waveform)
    layout.activate()
    for size in (window.minimumSizeHint(), window.minimumSize()):
        assert size.width() <= 1366 and size.height() <= 768, size


def test_a_failed_open_reports_once_and_keeps_the_track(qtbot: QtBot, window: MainWindow,
                                                        tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "good"))
    with qtbot.waitSignal(window.controller.failed, timeout=30000):
        window.open_path(write_stems(tmp_path / "incomplete", names=("vocals", "drums")))
    errors = window.errors  # type: ignore[attr-defined]
    assert len(errors) == 1 and "other" in errors[0][1] and "incomplete" in errors[0][1]
    assert window.track_label.text().startswith("good (0:01)")


def test_open_action_uses_the_file_dialog(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    opened = []
    monkeypatch.setattr(window.controller, "open", opened.append)
    answers = iter([("", ""), (str(tmp_path / "x.wav"), "")])  # cancel, then a file
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: next(answers)))
    window.menus.open_action.trigger()
    window.menus.open_action.trigger()
    assert opened == [tmp_path / "x.wav"]


def test_dropping_a_folder_opens_it(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    opened = []
    monkeypatch.setattr(window.controller, "open", opened.append)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert opened == [tmp_path]


def test_export_the_hearing_aid_output(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    window.model.set_gain("vocals", 6.0)
    worker = window.exports.export("aided", tmp_path / "out.flac", window.controller.engine,
                                   window.track)
    assert worker is not None
    with qtbot.waitSignal(worker.signals.finished, timeout=30000):
        pass
    info = sf.info(tmp_path / "out.flac")
    assert (info.samplerate, info.subtype) == (32000, "PCM_16")


def test_no_hearing_aid_export_while_the_new_listener_is_being_fitted(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args: (asked.append("aided"), (str(tmp_path / "a.flac"), ""))[1])
    window.model.set_listener(get_preset("S2"))  # the refit starts; the old engine stays
    assert window.controller.engine is not None
    assert window.controller.engine.listener.id == "N3"
    window.exports.ask("aided")
    assert asked == [] and "Wait until the hearing aid is fitted" in (
        window.statusBar().currentMessage())
    window.controller.wait()
    qtbot.waitUntil(lambda: window.controller.engine.listener.id == "S2", timeout=30000)
    window.exports.ask("aided")
    assert asked == ["aided"]
    with qtbot.waitSignal(window.exports.worker.signals.finished, timeout=30000):
        pass


def test_play_fits_a_track_whose_fitting_was_cancelled(qtbot: QtBot, window: MainWindow,
                                                      tmp_path: Path) -> None:
    controller = window.controller
    with qtbot.waitSignal(controller.track_opened, timeout=60000):
        window.open_path(write_stems(tmp_path / "song"))
    window.cancel_button.click()
    assert controller.engine is None and window.transport.player is None
    with qtbot.waitSignal(controller.player_ready, timeout=60000):
        window.menus.play_action.trigger()
    assert window.transport.player is not None


def test_an_export_name_without_extension_gets_the_chosen_formats(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert with_suffix(Path("a/mix"), "WAV (*.wav)") == Path("a/mix.wav")
    assert with_suffix(Path("a/mix.flac"), "WAV (*.wav)") == Path("a/mix.flac")
    assert with_suffix(Path("a/Mix.WAV"), "FLAC (*.flac)") == Path("a/Mix.WAV")
    # a dot inside the name is no extension: it is kept, and one is added
    assert with_suffix(Path("a/Session 2.1 remix"), "FLAC (*.flac)") == Path(
        "a/Session 2.1 remix.flac")
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args: (str(tmp_path / "remix"), "WAV (*.wav)"))
    window.exports.ask("remix")
    with qtbot.waitSignal(window.exports.worker.signals.finished, timeout=30000):
        pass
    assert sf.info(tmp_path / "remix.wav").format == "WAV"
    # The same name again: remix.wav exists, and the dialog never asked about it.
    asked: list[list[str]] = []
    monkeypatch.setattr(window.exports, "confirm_replace",
                        lambda folder, names: (asked.append(names), True)[1])
    first = window.exports.worker
    window.exports.ask("remix")
    assert asked == [["remix.wav"]] and window.exports.worker is not first
    with qtbot.waitSignal(window.exports.worker.signals.finished, timeout=30000):
        pass
    assert not window.errors


def test_stems_are_not_exported_over_the_open_track_or_unasked(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    song = write_stems(tmp_path / "song")
    open_and_wait(qtbot, window, song)
    engine, track = window.controller.engine, window.track
    before = (song / "vocals.wav").read_bytes()
    assert window.exports.export_stems_to(song, engine, track) is None
    assert window.errors and "open track's own stems" in window.errors[-1][1]
    assert (song / "vocals.wav").read_bytes() == before
    other = write_stems(tmp_path / "other")
    answers = [False, True]
    asked: list[list[str]] = []

    def confirm(folder: Path, names: list[str]) -> bool:
        asked.append(names)
        return answers.pop(0)

    window.exports.confirm_replace = confirm  # type: ignore[method-assign]
    kept = (other / "bass.wav").read_bytes()
    assert window.exports.export_stems_to(other, engine, track) is None  # declined
    assert (other / "bass.wav").read_bytes() == kept
    worker = window.exports.export_stems_to(other, engine, track)
    assert worker is not None
    with qtbot.waitSignal(worker.signals.finished, timeout=30000):
        pass
    assert asked[0] == ["vocals.wav", "drums.wav", "bass.wav", "other.wav"]
    assert sf.info(other / "bass.wav").subtype == "FLOAT"  # replaced by the export
    flacs = tmp_path / "flacs"  # vocals.wav beside vocals.flac would open no more
    flacs.mkdir()
    sf.write(flacs / "vocals.flac", np.zeros((4410, 2)), 44100)
    assert window.exports.export_stems_to(flacs, engine, track) is None
    assert "one file per stem" in window.errors[-1][1]
    assert [p.name for p in flacs.iterdir()] == ["vocals.flac"]
    trio = tmp_path / "trio"  # an instrument beside pop stems: neither would open
    trio.mkdir()
    sf.write(trio / "violin.wav", np.zeros((4410, 2)), 44100)
    assert window.exports.export_stems_to(trio, engine, track) is None
    assert f"{trio} already has violin.wav" in window.errors[-1][1]
    assert [p.name for p in trio.iterdir()] == ["violin.wav"]


def test_no_export_over_the_open_tracks_own_files(qtbot: QtBot, window: MainWindow,
                                                 tmp_path: Path) -> None:
    song = write_stems(tmp_path / "song")
    open_and_wait(qtbot, window, song)
    before = (song / "vocals.wav").read_bytes()
    for what in ("remix", "aided"):
        assert window.exports.export(what, song / "vocals.wav", window.controller.engine,
                                     window.track, overwrite=True) is None
        assert "it is the input file" in window.errors[-1][1]
    assert (song / "vocals.wav").read_bytes() == before


# ---------------------------------------------------------------------------- entry point


def test_main_smoke_test_exits_zero(qapp: QWidget, capsys: pytest.CaptureFixture[str]) -> None:
    assert app_module.main(["--smoke-test"]) == 0
    assert "smoke test passed" in capsys.readouterr().out


def test_main_returns_only_when_background_jobs_have_ended(
        qapp: QWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from remixer_app.ui.workers import Worker, start

    written: list[bool] = []

    def quit_while_writing(_app: object) -> int:
        # A report still being painted when the event loop ends, as when the user quits.
        start(Worker(lambda _progress, _cancelled: (time.sleep(0.3), written.append(True))))
        return 0

    monkeypatch.setattr(app_module, "_smoke_test", quit_while_writing)
    assert app_module.main(["--smoke-test"]) == 0
    assert written == [True]


# pytest-qt would otherwise swallow the exception itself and fail the test.
@pytest.mark.qt_no_exception_capture
def test_main_smoke_test_fails_on_uncaught_exception(
        qapp: QWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QTimer

    def broken_slot() -> None:
        raise RuntimeError("broken slot")

    original_init = MainWindow.__init__

    def init(self: MainWindow, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        QTimer.singleShot(0, broken_slot)

    monkeypatch.setattr(MainWindow, "__init__", init)
    assert app_module.main(["--smoke-test"]) != 0


def test_main_reports_a_window_that_cannot_be_built(
        qapp: QWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("cannot build")

    monkeypatch.setattr(main_window, "MainWindow", broken)
    assert app_module.main(["--smoke-test"]) == 1


def test_the_entry_point_shows_a_splash_before_the_slow_imports(qapp: QWidget) -> None:
    code = ("import sys, remixer_app.ui.app; "
            "print(sorted(m for m in ('scipy', 'numba', 'pyqtgraph', 'torch', "
            "'remixer_app.ui.main_window') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    splash = app_module._splash()
    try:
        assert splash.isVisible()
        assert "starting" in splash.message()
    finally:
        splash.close()


# ---------------------------------------------------------------------------- playback probe


def fake_sounddevice(monkeypatch: pytest.MonkeyPatch, query: object) -> None:
    module = types.ModuleType("sounddevice")

    def query_devices(kind: str | None = None) -> object:
        assert kind == "output"
        if isinstance(query, Exception):
            raise query
        return query

    module.query_devices = query_devices  # type: ignore[attr-defined]
    monkeypatch.setattr(playback_probe, "import_sounddevice", lambda: module)


def test_probe_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> types.ModuleType:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(playback_probe, "import_sounddevice", missing)
    assert playback_probe.playback_status() == (
        False, "Playback unavailable: PortAudio library not found")


def test_probe_without_output_device(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sounddevice(monkeypatch, RuntimeError("Error querying device -1"))
    assert playback_probe.playback_status() == (False, "Playback unavailable: no output device")
    fake_sounddevice(monkeypatch, {"name": "input only", "max_output_channels": 0})
    assert playback_probe.playback_status() == (False, "Playback unavailable: no output device")


def test_probe_with_output_device(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sounddevice(monkeypatch, {"name": "Speakers", "max_output_channels": 2})
    assert playback_probe.playback_status() == (True, "Playback available: Speakers")


def test_probe_never_raises() -> None:
    available, message = playback_probe.playback_status()
    assert message.startswith("Playback available" if available else "Playback unavailable")
    if "sounddevice" not in sys.modules:
        # Importing sounddevice failed here, so the message must say why.
        assert not available and "unavailable" in message


@pytest.fixture
def sound_card(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sound card to play on (Play plays only where the output can); its stream runs
    only when a test pumps it, so it is never taken for dead meanwhile."""
    monkeypatch.setattr(audio_device, "STALL_SECONDS", math.inf)
    install(monkeypatch, FakeSounddevice([SPEAKERS]))


def test_a_track_gets_a_player_that_follows_the_sliders(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, sound_card: None) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    player = window.transport.player
    assert player is not None and window.transport.play_button.isEnabled()
    window.menus.play_action.trigger()
    assert player.state.name == "PLAYING"
    window.stem_panel.sliders["vocals"].setValue(12)  # +6 dB
    assert player.settings.gains_db["vocals"] == 6.0
    window.menus.play_action.trigger()
    assert player.state.name == "PAUSED"
    window.close()
    assert window.transport.player is None


def test_play_without_an_output_says_why_and_does_not_pretend(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))  # no sound card here
    player = window.transport.player
    assert player is not None
    window.menus.play_action.trigger()
    assert player.state.name != "PLAYING"
    assert window.playback_label.text().startswith("Playback unavailable")
    window.workspace.booth.toggle_play()  # the booth's Play goes the same way
    assert player.state.name != "PLAYING"
    player.play()  # as a device chosen while playing that fails to open leaves it
    window.transport.refresh()
    assert player.state.name == "PAUSED"


def test_sessions_booth_and_spectra(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = window.workspace
    assert workspace.dock.widget().widget() is workspace.spectra  # in a scroll area
    assert workspace.haaqi_dock.widget() is workspace.haaqi
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    qtbot.waitUntil(lambda: workspace.haaqi.result is not None, timeout=60000)
    assert workspace.haaqi.result.comparison == "true stems"  # a stems folder is the truth
    window.model.set_gain("vocals", 6.0)
    monkeypatch.setattr(workspace, "ask_note", lambda: ("likes vocals up", True))
    assert workspace.save_current() is not None
    dialog = workspace.show_sessions()
    assert dialog is not None and len(dialog.preferences()) == 1
    assert dialog.preferences()[0].note == "likes vocals up"
    workspace.dock.setVisible(True)  # the offscreen screen is too small to start with it
    operator = get_preset("S2")
    window.model.set_listener(operator)
    workspace.set_booth_mode(True)
    assert window.centralWidget() is workspace.booth and not window.menuBar().isVisible()
    assert not workspace.dock.isVisible() and not workspace.haaqi_dock.isVisible()
    assert not dialog.isVisible() and workspace.show_sessions() is None  # the operator's
    window.model.set_listener(get_preset("N5"))  # a visitor's choice...
    workspace.booth.start_over()
    assert window.model.listener is operator  # ...undone to the operator's set-up
    workspace.booth.exitRequested.emit()
    assert window.centralWidget() is not workspace.booth and window.menuBar().isVisible()
    assert workspace.dock.isVisible() and workspace.haaqi_dock.isVisible()
    assert dialog.isVisible()  # back as the operator left it
    dialog.close()


def test_the_sessions_dialog_follows_the_track_and_every_save(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = window.workspace
    monkeypatch.setattr(workspace, "ask_note", lambda: ("", True))
    open_and_wait(qtbot, window, write_stems(tmp_path / "first"))
    dialog = workspace.show_sessions()
    assert dialog is not None and dialog.track_name == "first"
    assert dialog.may_replace_listener == window.listener_panel.may_close  # asks about edits
    # Another track opens; its fitting is still running (or was cancelled).
    monkeypatch.setattr(window.controller, "_prepare_engine", lambda: None)
    with qtbot.waitSignal(window.controller.track_opened, timeout=60000):
        window.open_path(write_stems(tmp_path / "second"))
    assert dialog.track_name == "second"  # "Save current" files it under the right track
    haaqi = workspace.haaqi  # shows nothing of the first track while the second is fitted
    assert haaqi.track is None and haaqi.result is None
    assert haaqi.status.text() == "Waiting for the hearing aid to be fitted..."
    spectra = workspace.spectra  # nor do the spectra
    assert spectra.engine is None
    assert all(c.xData is None or len(c.xData) == 0 for c in spectra.curves.values())
    assert spectra.summary.text() == "Waiting for the hearing aid to be fitted..."
    assert workspace.save_current() is not None  # from the main window, dialog open
    assert [p.track_name for p in dialog.preferences()] == ["second"]
    window.model.set_listener(get_preset("N4"))
    assert window.listener_panel.save_profile()  # a profile saved in the panel...
    assert "N4" in [dialog.listener_combo.itemData(i)
                    for i in range(dialog.listener_combo.count())]  # ...is in the dialog
    assert workspace.show_sessions() is dialog and dialog.isVisible()


def test_booth_and_transport_agree_on_the_source(qtbot: QtBot, window: MainWindow,
                                                 tmp_path: Path, sound_card: None) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "song"))
    player, transport = window.transport.player, window.transport
    booth = window.workspace.booth
    assert player is not None
    qtbot.waitUntil(transport.source_buttons["remix"].isEnabled, timeout=30_000)
    transport.source_buttons["remix"].click()
    window.workspace.set_booth_mode(True)
    booth.play_button.click()
    assert player.source == "remix"  # entering the booth changes nothing heard...
    assert booth.now_label.text() == "Now playing: remix, no hearing aid"  # ...and says so
    assert not booth.aid_button.isChecked()
    booth.aid_button.click()
    assert player.source == "aided" and transport.source_buttons["aided"].isChecked()
    booth.aid_button.click()
    assert player.source == "original"
    window.workspace.set_booth_mode(False)
    assert transport.source_buttons["original"].isChecked()


def test_closing_asks_about_an_edited_audiogram(window: MainWindow,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    buttons = QMessageBox.StandardButton
    answers: list[QMessageBox.StandardButton] = []
    asked: list[str] = []

    def ask(name: str) -> QMessageBox.StandardButton:
        asked.append(name)
        return answers.pop(0) if answers else buttons.Discard

    monkeypatch.setattr(window.listener_panel, "ask_unsaved_listener", ask)
    panel = window.listener_panel
    panel.select_listener("N3")
    window.close()
    assert not asked  # nothing edited: nothing to ask
    window.show()
    panel.editor.table.item(0, 0).setText("50")
    edited = window.model.listener
    assert edited is not None and edited.name.endswith("(edited)")
    answers.append(buttons.Cancel)
    window.close()
    assert asked == [edited.display_name] and window.isVisible()  # Cancel: still open
    answers.append(buttons.Save)
    window.close()
    assert not window.isVisible() and len(asked) == 2
    assert window.workspace.store().listener("N3") == edited  # saved as the profile
    window.show()
    panel.editor.table.item(1, 0).setText("60")
    answers.append(buttons.Discard)
    window.close()
    assert not window.isVisible() and len(asked) == 3
    assert window.workspace.store().listener("N3") == edited  # the later edit was not


def test_space_presses_the_focused_button_and_plays_elsewhere(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, sound_card: None) -> None:
    open_and_wait(qtbot, window, write_stems(tmp_path / "stems"))
    player = window.transport.player
    assert player is not None
    window.activateWindow()
    mute = window.stem_panel.mutes["vocals"]
    mute.setFocus()
    qtbot.keyClick(mute, Qt.Key.Key_Space)
    assert window.model.state.muted == frozenset({"vocals"})
    assert player.state.value == "stopped"
    box = window.hearing_aid_panel.enabled
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert window.model.state.compressor_on and player.state.value == "stopped"
    slider = window.stem_panel.sliders["vocals"]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Space)  # a slider has no use for Space: it plays
    assert player.state.value == "playing"


def test_the_audiogram_editor_keeps_digits_and_undo(qtbot: QtBot, window: MainWindow,
                                                   tmp_path: Path) -> None:
    # The source shortcuts 1/2/3 and the window's Ctrl+Z must not take the keys of a
    # user typing into the audiogram table or undoing an audiogram edit.
    open_and_wait(qtbot, window, write_stems(tmp_path / "stems"))
    player = window.transport.player
    assert player is not None and player.source == "aided"
    window.activateWindow()
    window.listener_panel.edit_button.setChecked(True)
    editor = window.listener_panel.editor
    table = editor.table
    table.setFocus()
    table.setCurrentCell(4, 1)
    qtbot.keyClick(table, Qt.Key.Key_2)  # starts editing the cell with "2"
    qtbot.wait(300)  # a shortcut would click its button after 100 ms
    assert player.source == "aided"
    assert table.state() is QAbstractItemView.State.EditingState
    cell_editor = QApplication.focusWidget()
    with qtbot.waitSignal(editor.listenerEdited):
        qtbot.keyClicks(cell_editor, "5")
        qtbot.keyClick(cell_editor, Qt.Key.Key_Return)
    assert window.model.listener.left.levels[4] == 25
    window.model.set_gain("vocals", 3.0)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.model.listener.left.levels[4] != 25  # the audiogram edit is undone ...
    assert window.model.state.gains_db["vocals"] == 3.0  # ... not the mix
    qtbot.keyClick(table, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.model.listener.left.levels[4] == 25  # redone there too ...
    assert window.model.state.gains_db["vocals"] == 3.0  # ... not the mix
    qtbot.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    slider = window.stem_panel.sliders["vocals"]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.model.state.gains_db.get("vocals", 0.0) == 0.0  # elsewhere: the mix
    qtbot.keyClick(slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # every platform binding of Redo
    assert window.model.state.gains_db["vocals"] == 3.0
    remix = window.transport.source_buttons["remix"]
    qtbot.waitUntil(remix.isEnabled, timeout=30_000)  # the refit for the audiogram is done
    qtbot.keyClick(window.stem_panel.sliders["vocals"], Qt.Key.Key_2)
    qtbot.waitUntil(remix.isChecked)  # elsewhere the shortcut (an animated click) works


def test_the_windows_listener_panel_keeps_profiles(window: MainWindow) -> None:
    panel = window.listener_panel
    sources = [panel.source_combo.itemData(i) for i in range(panel.source_combo.count())]
    assert PROFILES in sources and panel.profile_button.isVisibleTo(window)
    window.model.set_listener(get_preset("S1"))
    assert panel.save_profile()
    panel.source_combo.setCurrentIndex(sources.index(PROFILES))
    assert "S1" in panel.listeners()
    assert window.workspace.store().listeners()[0].id == "S1"  # the sessions' database


def test_the_open_dialog_lists_every_format_the_decoder_reads() -> None:
    listed = AUDIO_FILTER.split(";;")[0]
    for suffix in (".aiff", ".opus", ".flac", ".mp4", ".wav"):  # AIFF once hid under "All"
        assert f"*{suffix} " in listed or f"*{suffix})" in listed


def test_closing_the_window_stops_the_estimate_and_the_spectra(qtbot: QtBot,
                                                                tmp_path: Path) -> None:
    """Quitting waits for running jobs (a report being written must end whole), so the
    window stops the work nobody will see: the HAAQI estimate and the spectra."""
    from test_classical_mode import make_window, open_and_wait, write_instruments

    window = make_window(qtbot, tmp_path)
    window.show()
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Track", STEM_NAMES))
    estimate = window.workspace.haaqi.compute()
    assert estimate is not None
    spectra = window.workspace.spectra
    window.close()
    assert estimate.is_cancelled
    assert spectra.engine is None
