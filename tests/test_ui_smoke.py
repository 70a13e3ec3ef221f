"""Smoke tests of the main window and the ``remixer-app`` entry point (pytest-qt)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# Before pytest-qt creates the QApplication: there is no display on CI machines.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QMenu,
    QMenuBar,
    QMessageBox,
    QWidget,
)
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core import playback_probe  # noqa: E402
from remixer_app.core.audio_io import STEM_NAMES  # noqa: E402
from remixer_app.core.audiogram import presets  # noqa: E402
from remixer_app.ui import app as app_module  # noqa: E402
from remixer_app.ui import main_window  # noqa: E402
from remixer_app.ui.main_window import NO_TRACK_TEXT, MainWindow, format_duration  # noqa: E402

RATE = 44100
INTERACTIVE = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QMenu,
               QMenuBar)


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    win = MainWindow()
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


def inside_combo_box(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox):
            return True
        parent = parent.parentWidget()
    return False


@pytest.fixture
def captured_errors(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Replace the blocking error dialog with a recorder of (title, text)."""
    calls: list[tuple[str, str]] = []

    def critical(parent: QWidget | None, title: str, text: str, *args: object) -> int:
        calls.append((title, text))
        return int(QMessageBox.StandardButton.Ok.value)

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(critical))
    return calls


# ---------------------------------------------------------------------------- the window


def test_window_builds(window: MainWindow) -> None:
    assert window.windowTitle() == "remixer_app"
    assert window.isVisible()
    assert window.track_label.text() == NO_TRACK_TEXT
    assert window.stems is None


def test_presets_fill_listener_box(window: MainWindow) -> None:
    combo = window.listener_combo
    expected = presets()
    assert combo.count() == len(expected)
    assert [combo.itemData(i) for i in range(combo.count())] == list(expected)
    assert [combo.itemText(i) for i in range(combo.count())] == [
        p.display_name for p in expected.values()]
    combo.setCurrentIndex(combo.findData("N3"))
    assert window.selected_listener() == expected["N3"]


def test_every_control_has_an_accessible_name(window: MainWindow) -> None:
    # Skipped as Qt's own internals: widgets named qt_* (e.g. the menu bar's overflow
    # button) and the parts of a combo box's popup list.
    controls = [w for w in window.findChildren(QWidget)
                if isinstance(w, INTERACTIVE) and not w.objectName().startswith("qt_")
                and not inside_combo_box(w)]
    controls += [window.track_label, window.playback_label]
    assert len(controls) >= 5
    unnamed = [f"{type(w).__name__} {w.objectName()!r}" for w in controls
               if not w.accessibleName().strip()]
    assert unnamed == []
    for action in (window.open_action, window.quit_action):
        assert action.text().replace("&", "").strip()


def test_file_menu(window: MainWindow) -> None:
    menu = window.menuBar().actions()[0].menu()
    assert isinstance(menu, QMenu)
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Open stems folder...", "Quit"]
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")


def test_quit_closes_the_window(window: MainWindow) -> None:
    window.quit_action.trigger()
    assert not window.isVisible()


def test_status_bar_reports_playback(window: MainWindow) -> None:
    text = window.playback_label.text()
    assert text.startswith(("Playback available: ", "Playback unavailable: "))
    assert len(text.split(": ", 1)[1]) > 0
    assert text.startswith("Playback available") == window.playback_available


def test_status_bar_shows_the_reason(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main_window, "playback_status",
                        lambda: (False, "Playback unavailable: no output device"))
    win = MainWindow()
    qtbot.addWidget(win)
    assert not win.playback_available
    assert win.playback_label.text() == "Playback unavailable: no output device"


# ---------------------------------------------------------------------------- opening stems


def test_open_stems_folder_shows_name_and_duration(
        window: MainWindow, tmp_path: Path, captured_errors: list[tuple[str, str]]) -> None:
    folder = write_stems(tmp_path / "My Song")
    assert window.open_stems_folder(folder)
    assert captured_errors == []
    assert window.track_label.text() == "My Song (0:01)"
    assert window.stems is not None and tuple(window.stems) == STEM_NAMES
    assert all(s.shape == (RATE, 2) for s in window.stems.values())


def test_missing_stem_shows_an_error_dialog(
        window: MainWindow, tmp_path: Path, captured_errors: list[tuple[str, str]]) -> None:
    folder = write_stems(tmp_path / "incomplete", names=("vocals", "drums", "bass"))
    assert not window.open_stems_folder(folder)
    assert len(captured_errors) == 1
    title, text = captured_errors[0]
    assert title == "Cannot open stems folder"
    assert "other" in text and "incomplete" in text
    assert window.track_label.text() == NO_TRACK_TEXT
    assert window.stems is None


def test_failed_open_keeps_the_loaded_track(
        window: MainWindow, tmp_path: Path, captured_errors: list[tuple[str, str]]) -> None:
    assert window.open_stems_folder(write_stems(tmp_path / "good"))
    assert not window.open_stems_folder(tmp_path / "does not exist")
    assert len(captured_errors) == 1
    assert window.track_label.text() == "good (0:01)"


def test_open_action_uses_the_folder_dialog(
        window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        captured_errors: list[tuple[str, str]]) -> None:
    folder = write_stems(tmp_path / "picked")
    answers = iter(["", str(folder)])  # first the user cancels, then picks the folder
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *args, **kwargs: next(answers)))
    window.open_action.trigger()
    assert window.track_label.text() == NO_TRACK_TEXT
    window.open_action.trigger()
    assert window.track_label.text() == "picked (0:01)"
    assert captured_errors == []


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "0:00"), (1.0, "0:01"), (59.6, "1:00"), (754.0, "12:34"), (3723.0, "1:02:03")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# ---------------------------------------------------------------------------- entry point


def test_main_smoke_test_exits_zero(qapp: QWidget, capsys: pytest.CaptureFixture[str]) -> None:
    assert app_module.main(["--smoke-test"]) == 0
    assert "smoke test passed" in capsys.readouterr().out


# pytest-qt would otherwise swallow the exception itself and fail the test.
@pytest.mark.qt_no_exception_capture
def test_main_smoke_test_fails_on_uncaught_exception(
        qapp: QWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QTimer

    def broken_slot() -> None:
        raise RuntimeError("broken slot")

    original_init = MainWindow.__init__

    def init(self: MainWindow, parent: QWidget | None = None) -> None:
        original_init(self, parent)
        QTimer.singleShot(0, broken_slot)

    monkeypatch.setattr(MainWindow, "__init__", init)
    assert app_module.main(["--smoke-test"]) != 0


def test_main_reports_a_window_that_cannot_be_built(
        qapp: QWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("cannot build")

    monkeypatch.setattr(app_module, "MainWindow", broken)
    assert app_module.main(["--smoke-test"]) == 1


# ---------------------------------------------------------------------------- playback probe


def fake_sounddevice(monkeypatch: pytest.MonkeyPatch, query: object) -> None:
    module = types.ModuleType("sounddevice")

    def query_devices(kind: str | None = None) -> object:
        assert kind == "output"
        if isinstance(query, Exception):
            raise query
        return query

    module.query_devices = query_devices  # type: ignore[attr-defined]
    monkeypatch.setattr(playback_probe, "_import_sounddevice", lambda: module)


def test_probe_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> types.ModuleType:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(playback_probe, "_import_sounddevice", missing)
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
