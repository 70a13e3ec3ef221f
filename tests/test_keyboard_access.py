"""Keys that stay with the focused widget although the window has shortcuts for them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtGui import QKeySequence, QShortcut  # noqa: E402
from PySide6.QtWidgets import QComboBox, QSlider, QVBoxLayout, QWidget  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.ui.focus_keys import FocusedWidgetKeys  # noqa: E402

ITEMS = ("NH - normal", "N1 - very mild", "N2 - mild", "N3 - moderate", "N4 - severe")


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[tuple[QWidget, QComboBox, QSlider, list[str]]]:
    """A window with a combo box, a slider and a window-wide shortcut "1"."""
    widget = QWidget()
    qtbot.addWidget(widget)
    combo, slider = QComboBox(), QSlider()
    combo.addItems(ITEMS)
    layout = QVBoxLayout(widget)
    layout.addWidget(combo)
    layout.addWidget(slider)
    fired: list[str] = []
    QShortcut(QKeySequence("1"), widget).activated.connect(lambda: fired.append("1"))
    keys = FocusedWidgetKeys(widget)
    app = QCoreApplication.instance()
    assert app is not None
    app.installEventFilter(keys)
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()
    yield widget, combo, slider, fired
    app.removeEventFilter(keys)


def test_a_focused_combo_box_keeps_typed_text_for_its_search(
        window: tuple[QWidget, QComboBox, QSlider, list[str]], qtbot: QtBot) -> None:
    _, combo, _, fired = window
    combo.setCurrentIndex(3)
    combo.setFocus()
    qtbot.keyClicks(combo, "N1")  # type-ahead, as in the Listener box
    assert combo.currentText() == "N1 - very mild"
    assert not fired


def test_elsewhere_the_window_shortcut_still_gets_the_key(
        window: tuple[QWidget, QComboBox, QSlider, list[str]], qtbot: QtBot) -> None:
    _, _, slider, fired = window
    slider.setFocus()
    qtbot.keyClick(slider, "1")
    assert fired == ["1"]
