"""The main window on a 1024 px wide screen (a booth laptop, a clinic's small monitor).

Its controls must fit beside the HAAQI dock without a horizontal scroll bar, with the
pop stems and with five instruments, also while stems are silent (their value labels
then say so) and while the audiogram editor is open.
"""

from __future__ import annotations

import os
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
