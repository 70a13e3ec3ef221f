"""What a main window restores (geometry, dock layout, output device) and its first-run layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QSize, Qt  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audio_device import OutputDevice
from remixer_app.ui import transport  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402
from remixer_app.ui.scroll_area import MAX_HEIGHT_SHARE, MAX_WIDTH_SHARE  # noqa: E402
from remixer_app.ui.window_settings import (  # noqa: E402
    DEVICE_KEY,
    GEOMETRY_KEY,
    SPLITTER_ROOM,
    STATE_KEY,
    spectra_placement,
)

DEVICES = [(0, "Speakers"), (3, "USB DAC")]


def make_window(qtbot: QtBot, path: Path) -> MainWindow:
    window = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    return window


def close(window: MainWindow) -> None:
    window.close()
    window.settings.sync()


def test_closing_in_booth_mode_remembers_the_normal_layout(qtbot: QtBot,
                                                           tmp_path: Path) -> None:
    first = make_window(qtbot, tmp_path / "settings.ini")
    first.workspace.dock.setVisible(True)  # a first run on this small screen hides it
    first.workspace.set_booth_mode(True)  # which hides both docks
    assert not first.workspace.haaqi_dock.isVisible()
    close(first)
    assert first.centralWidget() is first.main_controls
    second = make_window(qtbot, tmp_path / "settings.ini")
    assert second.workspace.dock.toggleViewAction().isChecked()
    assert second.workspace.haaqi_dock.toggleViewAction().isChecked()


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """The output devices the transport lists (a list the test may change)."""
    listed = list(DEVICES)
    monkeypatch.setattr(transport, "output_devices",
                        lambda: [OutputDevice(i, name, name, "") for i, name in listed])
    return listed


def test_geometry_and_dock_layout_are_restored(qtbot: QtBot, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_window(qtbot, tmp_path / "settings.ini")
    first.move(50, 40)
    first.workspace.dock.setVisible(True)  # a first run on this small screen hides it
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, first.workspace.haaqi_dock)
    assert first.dockWidgetArea(first.workspace.haaqi_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    close(first)
    saved = first.settings.value(GEOMETRY_KEY)
    assert saved is not None and first.settings.value(STATE_KEY) is not None

    # The offscreen screen (800 x 800) is smaller than the window's minimum size, so
    # Qt moves any restored geometry; what matters here is that it gets the saved one.
    restored = []
    original = MainWindow.restoreGeometry
    monkeypatch.setattr(MainWindow, "restoreGeometry",
                        lambda self, data: restored.append(bytes(data)) or original(self, data))
    second = make_window(qtbot, tmp_path / "settings.ini")
    assert restored == [bytes(saved)]
    assert second.workspace.dock.toggleViewAction().isChecked()
    assert second.dockWidgetArea(second.workspace.haaqi_dock) == \
        Qt.DockWidgetArea.LeftDockWidgetArea


@pytest.mark.parametrize("junk", ["", "not a layout", 7, ["a", "b"], b"\x00garbage"])
def test_damaged_stored_layouts_give_a_first_run_layout(qtbot: QtBot, tmp_path: Path,
                                                       junk: object) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(GEOMETRY_KEY, junk)
    settings.setValue(STATE_KEY, junk)
    settings.sync()
    window = make_window(qtbot, tmp_path / "settings.ini")  # used to raise TypeError
    fresh = make_window(qtbot, tmp_path / "fresh.ini")
    assert window.size() == fresh.size()  # the first run's layout


def test_a_first_run_fits_the_screen_and_gives_the_controls_their_room(
        qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path / "settings.ini")
    screen = window.screen().availableGeometry()
    # All of it, frame and all: the screen's share is below the window's minimum width.
    assert screen.contains(window.frameGeometry())
    # The offscreen screen (800 x 800) leaves no room for the spectra: hidden, and said.
    assert not window.workspace.dock.toggleViewAction().isChecked()
    assert "View > Spectra" in window.statusBar().currentMessage()
    assert window.dockWidgetArea(window.workspace.haaqi_dock) == \
        Qt.DockWidgetArea.RightDockWidgetArea
    panels = window.controls_area
    needed = panels.widget().minimumSizeHint()
    assert panels.height() >= min(needed.height(), int(screen.height() * MAX_HEIGHT_SHARE))
    assert panels.width() >= min(needed.width(), int(screen.width() * MAX_WIDTH_SHARE))


@pytest.mark.parametrize(("inside", "controls", "expected"), [
    ((1728, 920), (1068, 598), ("beside", 1728 - 1068 - SPLITTER_ROOM)),  # 1920 x 1080
    ((1100, 1300), (1068, 598), ("below", 1300 - 598)),  # a portrait screen
    ((1229, 640), (1068, 598), ("hidden", 0)),  # 1366 x 768
])
def test_the_first_run_spectra_go_where_there_is_room(
        inside: tuple[int, int], controls: tuple[int, int], expected: tuple[str, int]) -> None:
    assert spectra_placement(QSize(*inside), QSize(*controls)) == expected


def test_the_chosen_output_device_is_restored(qtbot: QtBot, tmp_path: Path,
                                              devices: list[tuple[int, str]]) -> None:
    first = make_window(qtbot, tmp_path / "settings.ini")
    combo = first.transport.device_combo
    assert combo.currentText() == transport.DEFAULT_DEVICE_TEXT
    row = combo.findText("USB DAC")
    combo.setCurrentIndex(row)
    combo.activated.emit(row)  # as when the user picks it
    assert first.settings.value(DEVICE_KEY) == "USB DAC"
    close(first)

    second = make_window(qtbot, tmp_path / "settings.ini")
    assert second.transport.device_combo.currentText() == "USB DAC"
    assert second.transport.device_combo.currentData() == 3
    assert second.transport.device_name() == "USB DAC"
    assert "not available" not in second.statusBar().currentMessage()


def test_back_to_the_default_device_is_remembered(qtbot: QtBot, tmp_path: Path,
                                                  devices: list[tuple[int, str]]) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(DEVICE_KEY, "Speakers")
    settings.sync()
    window = make_window(qtbot, tmp_path / "settings.ini")
    assert window.transport.device_name() == "Speakers"
    window.transport.device_combo.setCurrentIndex(0)
    window.transport.device_combo.activated.emit(0)
    assert window.settings.value(DEVICE_KEY) == ""


def test_a_missing_device_falls_back_to_the_default_with_a_notice(
        qtbot: QtBot, tmp_path: Path, devices: list[tuple[int, str]]) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(DEVICE_KEY, "USB DAC")
    settings.sync()
    devices.remove((3, "USB DAC"))  # unplugged since
    window = make_window(qtbot, tmp_path / "settings.ini")
    assert window.transport.device_combo.currentText() == transport.DEFAULT_DEVICE_TEXT
    assert window.transport.device_name() == ""
    assert "'USB DAC' is not available" in window.statusBar().currentMessage()
    close(window)
    # Not forgotten: plugged in again, it is used again.
    assert window.settings.value(DEVICE_KEY) == "USB DAC"


def test_a_dock_without_room_floats_on_the_screen(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path / "settings.ini")
    screen = window.screen().availableGeometry()
    spectra, haaqi = window.workspace.dock, window.workspace.haaqi_dock
    # Below the controls the offscreen screen (800 x 800) leaves the spectra a strip.
    spectra.toggleViewAction().trigger()  # View > Spectra, as the first run's notice says
    assert spectra.isVisible() and spectra.isFloating()
    assert screen.contains(spectra.frameGeometry())
    assert spectra.widget().verticalScrollBar().maximum() == 0  # all of the plots show
    spectra.setFloating(False)  # dragged back into the window: no more room there
    qtbot.waitUntil(spectra.isFloating)
    assert spectra.isVisible()
    # Controls as wide as the screen (a large font, say): the HAAQI dock beside them
    # would push the window past the screen.
    haaqi.setVisible(False)
    window.main_controls.setMinimumWidth(screen.width() - 60)
    haaqi.toggleViewAction().trigger()
    assert haaqi.isVisible() and haaqi.isFloating()
    for shown in (window, haaqi):
        frame = shown.frameGeometry()
        assert screen.contains(frame), (shown, frame)
