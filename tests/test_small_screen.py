"""The main window on a 1024 px wide screen (a booth laptop, a clinic's small monitor).

Its controls must fit beside the HAAQI dock without a horizontal scroll bar, with the
pop stems and with five instruments, also while stems are silent (their value labels
then say so) and while the audiogram editor is open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402
from test_classical_mode import make_window, open_and_wait, write_instruments  # noqa: E402

from remixer_app.core.audio_io import STEM_NAMES  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402

SMALL_SCREEN = (1024, 600)
FIVE_INSTRUMENTS = ("bassoon", "cello", "clarinet", "flute", "saxophone")


def assert_no_sideways_scrolling(window: MainWindow) -> None:
    QApplication.processEvents()  # the scroll bars follow the layout
    area = window.controls_area
    needed = area.widget().minimumSizeHint().width()
    assert needed <= area.viewport().width(), (needed, area.viewport().width())
    assert not area.horizontalScrollBar().isVisible()


@pytest.mark.parametrize("stems", [STEM_NAMES, FIVE_INSTRUMENTS], ids=["pop", "classical"])
def test_the_controls_fit_a_1024_px_screen(qtbot: QtBot, tmp_path: Path,
                                           stems: tuple[str, ...]) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(*SMALL_SCREEN)
    window.show()
    qtbot.waitExposed(window)
    open_and_wait(qtbot, window, write_instruments(tmp_path / "Track", stems))
    assert set(window.stem_panel.stems) == set(stems)
    assert window.workspace.haaqi_dock.isVisible()  # it takes its share of the width
    assert window.width() == SMALL_SCREEN[0]
    assert_no_sideways_scrolling(window)
    # Silent stems say so, on a line of its own rather than in a wider column.
    window.stem_panel.solos[stems[0]].click()
    window.stem_panel.mutes[stems[1]].click()
    assert "silent" in window.stem_panel.values[stems[2]].text()
    assert_no_sideways_scrolling(window)
    window.listener_panel.edit_button.setChecked(True)
    assert window.listener_panel.editor.isVisible()
    assert_no_sideways_scrolling(window)
    # Boxes narrower than their text show it shortened, and in full as their tooltip.
    aid = window.hearing_aid_panel
    assert aid.kind.currentText() in aid.kind.toolTip()
    assert aid.clip.toolTip() == aid.clip.currentText()


WIDE_SCREEN_SCRIPT = """
import json, sys
from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtWidgets import QApplication
app = QApplication([])
from fake_separators import FakeLoader
from remixer_app.core.mix_model import MixModel
from remixer_app.ui.main_window import MainWindow
from remixer_app.ui.track_controller import TrackController
settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
window = MainWindow(controller=TrackController(MixModel(), separator_loader=FakeLoader()),
                    settings=settings)
window.resize(1920, 1080)
window.show()
window.listener_panel.edit_button.setChecked(True)
for _ in range(30):
    app.processEvents()
editor, aid = window.listener_panel.editor, window.hearing_aid_panel.kind
print(json.dumps({"spectra": window.workspace.dock.isVisible(),
                  "side_by_side": editor.chart.geometry().right()
                  < editor.table.geometry().left(),
                  "aid_text_shown": aid.width() >= aid.sizeHint().width()}))
window.close()
QThreadPool.globalInstance().waitForDone()
"""


def test_a_wide_screen_keeps_the_audiogram_beside_its_table(tmp_path: Path) -> None:
    """On a 1920 px screen (the spectra beside the controls, as a first run has them)
    the listener's column takes the most: the editor's chart stays beside its table
    (with equal shares it went above it, its rows cut off), and the hearing aid's box
    shows its whole text."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{
        "name": "wide", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96,
        "logicalBaseDpi": 96, "dpr": 1}]}), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screen}",
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                          os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", WIDE_SCREEN_SCRIPT,
                          str(tmp_path / "settings.ini")],
                         env=env, capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {
        "spectra": True, "side_by_side": True, "aid_text_shown": True}, run.stderr

