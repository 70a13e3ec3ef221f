"""Two instances of the app share one settings file: neither loses what the other saved
(remembered instruments, Open recent) by writing back the copy it read at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fake_separators import FakeLoader  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.separator_choice import track_key  # noqa: E402
from remixer_app.ui.instruments_dialog import INSTRUMENTS_KEY  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402
from remixer_app.ui.track_controller import TrackController  # noqa: E402

RATE = 44100


def other_instance(ini: Path, code: str) -> str:
    """Run ``code`` in another process, as another instance of the app would, with
    ``s`` a QSettings on ``ini`` (a process's own QSettings share one copy of a file,
    so only another process shows the problem); its output."""
    script = ("import json\nfrom PySide6.QtCore import QSettings\n"
              f"s = QSettings({str(ini)!r}, QSettings.Format.IniFormat)\n{code}\ns.sync()\n")
    return subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def make_window(qtbot: QtBot, ini: Path) -> MainWindow:
    controller = TrackController(MixModel(), separator_loader=FakeLoader())
    window = MainWindow(controller=controller,
                        settings=QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    return window


def write_song(path: Path) -> Path:
    sf.write(path, 0.05 * np.random.default_rng(3).standard_normal((RATE, 2)), RATE)
    return path


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        window.open_path(path)


def test_instruments_another_instance_remembered_meanwhile_are_kept_and_used(
        qtbot: QtBot, tmp_path: Path) -> None:
    ini = tmp_path / "settings.ini"
    window = make_window(qtbot, ini)  # reads the remembered choices at start-up
    trio, quartet = tmp_path / "trio.wav", write_song(tmp_path / "quartet.wav")
    other_instance(ini, f"s.setValue({INSTRUMENTS_KEY!r}, json.dumps("
                        f"{{{track_key(trio)!r}: ['cello', 'flute', 'violin']}}))")
    open_and_wait(qtbot, window, quartet)
    menu = window.separation_menu
    menu.ask_instruments = lambda name, current: ("cello", "viola", "violin")  # type: ignore[method-assign]
    with qtbot.waitSignal(window.controller.engine_ready, timeout=60000):
        assert menu.choose_instruments()
    saved = json.loads(other_instance(ini, f"print(s.value({INSTRUMENTS_KEY!r}))"))
    assert saved == {track_key(trio): ["cello", "flute", "violin"],
                     track_key(quartet): ["cello", "viola", "violin"]}
    # The other instance's choice applies here too, without a restart.
    write_song(trio)
    open_and_wait(qtbot, window, trio)
    assert window.stem_panel.stems == ("cello", "flute", "violin")


def test_a_track_another_instance_turned_back_to_pop_opens_as_pop(
        qtbot: QtBot, tmp_path: Path) -> None:
    ini = tmp_path / "settings.ini"
    trio = write_song(tmp_path / "trio.wav")
    other_instance(ini, f"s.setValue({INSTRUMENTS_KEY!r}, json.dumps("
                        f"{{{track_key(trio)!r}: ['cello', 'flute', 'violin']}}))")
    window = make_window(qtbot, ini)  # starts knowing the trio as classical
    other_instance(ini, f"s.setValue({INSTRUMENTS_KEY!r}, json.dumps({{}}))")  # pop there
    open_and_wait(qtbot, window, trio)
    assert window.stem_panel.stems == ("vocals", "drums", "bass", "other")


def test_recent_files_another_instance_added_meanwhile_are_kept(qtbot: QtBot,
                                                                tmp_path: Path) -> None:
    ini = tmp_path / "settings.ini"
    window = make_window(qtbot, ini)  # fills Open recent at start-up
    elsewhere = str(tmp_path / "c.wav")
    other_instance(ini, f"s.setValue('recent/files', [{elsewhere!r}])")
    song = write_song(tmp_path / "d.wav")
    open_and_wait(qtbot, window, song)
    saved = other_instance(ini, "print(json.dumps(s.value('recent/files')))")
    assert json.loads(saved) == [str(song), elsewhere]
    assert [a.text() for a in window.menus.recent_menu.actions()] == [str(song), elsewhere]
