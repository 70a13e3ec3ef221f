"""Tests of the audiogram chart, table and editor (pytest-qt, offscreen)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableWidget  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import MAX_LEVEL, MIN_LEVEL, Audiogram, Listener  # noqa: E402
from remixer_app.ui.audiogram_chart import AudiogramChart  # noqa: E402
from remixer_app.ui.audiogram_editor import AudiogramEditor  # noqa: E402
from remixer_app.ui.audiogram_points import LEFT, RIGHT, parse_level, snap_level  # noqa: E402
from remixer_app.ui.audiogram_table import AudiogramTable  # noqa: E402

FREQS = [250, 500, 1000, 2000, 4000, 8000]


def make_listener(right: list[float] | None = None, left: list[float] | None = None,
                  lid: str = "L0001") -> Listener:
    right = right or [10, 15, 20, 40, 55, 70]
    left = left or [20, 25, 30, 50, 65, 80]
    return Listener(lid, left=Audiogram(FREQS, left), right=Audiogram(FREQS, right), name=lid)


@pytest.fixture
def chart(qtbot: QtBot) -> AudiogramChart:
    widget = AudiogramChart()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.set_listener(make_listener())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def editor(qtbot: QtBot) -> AudiogramEditor:
    widget = AudiogramEditor()
    qtbot.addWidget(widget)
    widget.set_listener(make_listener())
    return widget


def test_snap_and_parse() -> None:
    assert snap_level(42.4) == 40 and snap_level(42.6) == 45
    assert snap_level(-40) == MIN_LEVEL and snap_level(500) == MAX_LEVEL
    assert parse_level(" 35.5 ") == 35.5
    for bad in ("abc", "", "nan", "inf", "121", "-15"):
        with pytest.raises(ValueError):
            parse_level(bad)


def test_chart_axes_are_clinical(chart: AudiogramChart) -> None:
    item = chart.getPlotItem()
    assert item.getAxis("bottom").logMode
    assert chart.getViewBox().yInverted()
    (x0, x1), (y0, y1) = chart.getViewBox().viewRange()
    assert x0 <= math.log10(125) and x1 >= math.log10(8000)
    assert y0 <= MIN_LEVEL and y1 >= MAX_LEVEL
    labels = [label for _, label in item.getAxis("bottom")._tickLevels[0]]
    assert labels == ["250", "500", "1k", "2k", "4k", "8k"]
    legend = [label.text for _, label in chart.legend.items]
    assert legend == ["Right (O)", "Left (X)"]
    assert chart.curves[RIGHT].opts["symbol"] == "o"
    assert chart.curves[LEFT].opts["symbol"] == "x"


def test_chart_plots_points_at_their_coordinates(chart: AudiogramChart) -> None:
    listener = make_listener()
    for ear, gram in ((RIGHT, listener.right), (LEFT, listener.left)):
        x, y = chart.curves[ear].getData()
        assert np.allclose(x, np.log10(gram.frequencies))  # log axis: view x is log10(Hz)
        assert np.array_equal(y, gram.levels)
    # Drawn downwards: a worse threshold is lower on screen.
    view = chart.getViewBox()
    top = view.mapViewToScene(QPointF(3.0, 10.0)).y()
    bottom = view.mapViewToScene(QPointF(3.0, 80.0)).y()
    assert bottom > top


def test_finish_drag_snaps_clamps_and_emits_once(chart: AudiogramChart, qtbot: QtBot) -> None:
    seen: list[Listener] = []
    chart.audiogramChanged.connect(seen.append)
    chart._preview_drag(RIGHT, 2, 33.0)  # moving only redraws
    assert seen == [] and chart.curves[RIGHT].getData()[1][2] == 35
    chart._finish_drag(RIGHT, 2, 33.0)
    assert len(seen) == 1
    assert seen[0].right.levels[2] == 35 and chart.listener() is seen[0]
    assert np.array_equal(seen[0].left.levels, make_listener().left.levels)
    chart._finish_drag(LEFT, 5, 999.0)
    assert len(seen) == 2 and seen[1].left.levels[5] == MAX_LEVEL
    chart._finish_drag(LEFT, 5, 118.0)  # snaps to the same level: no change, no signal
    assert len(seen) == 2


def test_mouse_drag_moves_a_point(chart: AudiogramChart, qtbot: QtBot) -> None:
    view, viewport = chart.getViewBox(), chart.viewport()

    def widget_pos(freq: float, level: float) -> QPoint:
        return chart.mapFromScene(view.mapViewToScene(QPointF(math.log10(freq), level)))

    start, end = widget_pos(1000, 20), widget_pos(1000, 47)
    with qtbot.waitSignal(chart.audiogramChanged, timeout=2000) as blocker:
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         start)
        for k in range(1, 6):
            QTest.mouseMove(viewport, start + (end - start) * (k / 5))
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier, end)
    assert blocker.args[0].right.levels[2] == 45  # 47 snapped to 5 dB steps


def test_chart_hit_test(chart: AudiogramChart) -> None:
    view = chart.getViewBox()
    assert chart._point_at(view.mapViewToScene(QPointF(math.log10(2000), 50))) == (LEFT, 3)
    assert chart._point_at(view.mapViewToScene(QPointF(math.log10(2000), 40))) == (RIGHT, 3)
    assert chart._point_at(view.mapViewToScene(QPointF(math.log10(2000), 100))) is None


def test_table_edit_updates_and_emits(qtbot: QtBot) -> None:
    table = AudiogramTable()
    qtbot.addWidget(table)
    table.set_listener(make_listener())
    assert table.rowCount() == len(FREQS)
    assert table.verticalHeaderItem(2).text() == "1000 Hz"
    assert [table.item(2, c).text() for c in range(2)] == ["20", "30"]
    with qtbot.waitSignal(table.audiogramChanged) as blocker:
        table.item(2, 1).setText(" 42.5 ")
    assert blocker.args[0].left.levels[2] == 42.5
    assert table.item(2, 1).text() == "42.5"


@pytest.mark.parametrize("text", ["loud", "130", ""])
def test_table_rejects_invalid_entry(qtbot: QtBot, text: str) -> None:
    table = AudiogramTable()
    qtbot.addWidget(table)
    table.set_listener(make_listener())
    changed: list[Listener] = []
    table.audiogramChanged.connect(changed.append)
    with qtbot.waitSignal(table.entryRejected) as blocker:
        table.item(0, 0).setText(text)
    assert table.item(0, 0).text() == "10" and changed == []
    assert "250 Hz" in blocker.args[0]


def test_table_marks_frequencies_missing_in_one_ear(qtbot: QtBot) -> None:
    table = AudiogramTable()
    qtbot.addWidget(table)
    listener = Listener("x", left=Audiogram([500, 1000], [10, 20]),
                        right=Audiogram([500, 1000, 3000], [15, 25, 35]))
    table.set_listener(listener)
    assert table.rowCount() == 3
    missing = table.item(2, 1)
    assert missing.text() == "-" and not missing.flags() & Qt.ItemFlag.ItemIsEditable


def test_editor_binds_table_and_chart(editor: AudiogramEditor, qtbot: QtBot) -> None:
    with qtbot.waitSignal(editor.listenerEdited) as blocker:
        editor.table.item(3, 0).setText("60")
    assert blocker.args[0].right.levels[3] == 60
    assert editor.chart.curves[RIGHT].getData()[1][3] == 60
    assert "Right ear, 2000 Hz: 60 dB HL" in editor.status_label.text()
    with qtbot.waitSignal(editor.listenerEdited):
        editor.chart._finish_drag(LEFT, 0, 51)
    assert editor.table.item(0, 1).text() == "50"
    assert editor.listener().left.levels[0] == 50


def test_editor_shows_rejections(editor: AudiogramEditor) -> None:
    editor.table.item(1, 1).setText("x")
    assert "Not changed" in editor.status_label.text()
    assert editor.table.item(1, 1).text() == "25"


def test_set_listener_does_not_emit(editor: AudiogramEditor, qtbot: QtBot) -> None:
    with qtbot.assertNotEmitted(editor.listenerEdited):
        editor.set_listener(make_listener(lid="other"))
    assert editor.table.item(0, 0).text() == "10"


def test_copy_ears(editor: AudiogramEditor, qtbot: QtBot) -> None:
    original = make_listener()
    with qtbot.waitSignal(editor.listenerEdited):
        qtbot.mouseClick(editor.copy_right_button, Qt.MouseButton.LeftButton)
    assert editor.listener().left == original.right
    assert editor.listener().right == original.right
    assert editor.table.item(0, 1).text() == "10"
    with qtbot.assertNotEmitted(editor.listenerEdited):
        assert not editor.copy_ear(RIGHT)  # already equal
    editor.set_listener(original)
    qtbot.mouseClick(editor.copy_left_button, Qt.MouseButton.LeftButton)
    assert editor.listener().right == original.left


def test_undo(editor: AudiogramEditor, qtbot: QtBot) -> None:
    original = make_listener()
    assert not editor.undo_button.isEnabled()
    editor.table.item(0, 0).setText("30")
    editor.copy_ear(RIGHT)
    assert editor.undo_button.isEnabled()
    with qtbot.waitSignal(editor.listenerEdited):
        assert editor.undo()
    assert editor.listener().right.levels[0] == 30
    assert editor.listener().left == original.left
    with qtbot.waitActive(editor):  # shortcuts only fire in the active window
        editor.show()
        editor.activateWindow()
    editor.table.setFocus()
    qtbot.keySequence(editor.table, QKeySequence.StandardKey.Undo)  # Ctrl+Z in the editor
    assert editor.listener() == original
    assert editor.table.item(0, 0).text() == "10"
    assert not editor.undo() and not editor.undo_button.isEnabled()


def test_set_listener_resets_history(editor: AudiogramEditor) -> None:
    editor.copy_ear(RIGHT)
    editor.set_listener(make_listener(lid="L0002"))
    assert not editor.undo()
    editor.copy_ear(RIGHT)
    editor.set_listener(editor.listener(), reset_history=False)
    assert editor.undo()


def test_controls_have_accessible_names(editor: AudiogramEditor) -> None:
    for widget in (editor.chart, editor.table, editor.copy_right_button,
                   editor.copy_left_button, editor.undo_button, editor.redo_button,
                   editor.status_label):
        assert widget.accessibleName()


def test_empty_editor(qtbot: QtBot) -> None:
    widget = AudiogramEditor()
    qtbot.addWidget(widget)
    assert widget.listener() is None and not widget.copy_right_button.isEnabled()
    assert not widget.copy_ear(RIGHT)
    widget.chart._finish_drag(RIGHT, 0, 10)  # nothing shown: ignored, no crash
    assert widget.table.rowCount() == 0


def _focus_cell(editor: AudiogramEditor, qtbot: QtBot, row: int, column: int) -> QTableWidget:
    """Show the editor as the active window with the keyboard in the table's cell."""
    with qtbot.waitActive(editor):
        editor.show()
        editor.activateWindow()
    table = editor.table
    table.setFocus()
    table.setCurrentCell(row, column)
    return table


def test_keyboard_editing(editor: AudiogramEditor, qtbot: QtBot) -> None:
    table = _focus_cell(editor, qtbot, 4, 1)
    qtbot.keyClick(table, Qt.Key.Key_F2)  # opens the cell editor, its text selected
    cell_editor = QApplication.focusWidget()
    assert cell_editor is not table
    with qtbot.waitSignal(editor.listenerEdited) as blocker:
        qtbot.keyClicks(cell_editor, "70")
        qtbot.keyClick(cell_editor, Qt.Key.Key_Return)
    assert blocker.args[0].left.levels[4] == 70
    assert table.item(4, 1).text() == "70"
    assert editor.chart.curves[LEFT].getData()[1][4] == 70


def test_tab_leaves_the_table_and_arrows_move_between_cells(editor: AudiogramEditor,
                                                           qtbot: QtBot) -> None:
    table = _focus_cell(editor, qtbot, 2, 0)
    qtbot.keyClick(table, Qt.Key.Key_Right)
    assert (table.currentRow(), table.currentColumn()) == (2, 1)
    qtbot.keyClick(table, Qt.Key.Key_Tab)  # not a trap: the buttons after it are reached
    assert QApplication.focusWidget() is editor.copy_right_button
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is not table


def test_squeezed_editor_keeps_headings_and_chart_readable(editor: AudiogramEditor,
                                                           qtbot: QtBot) -> None:
    editor.resize(1, 1)  # as small as its layout allows
    editor.show()
    qtbot.waitExposed(editor)
    table = editor.table
    metrics = table.horizontalHeader().fontMetrics()
    for col in range(table.columnCount()):
        heading = table.horizontalHeaderItem(col).text()
        assert table.columnWidth(col) >= metrics.horizontalAdvance(heading), heading
    least = editor.chart.minimumSizeHint()  # lines of its font: octave labels stay apart
    assert editor.chart.width() >= least.width() and editor.chart.height() >= least.height()
    assert least.width() >= 200 and least.height() >= 170


def test_returning_to_an_audiogram_put_back_keeps_the_edits_a_step_away(
        editor: AudiogramEditor, qtbot: QtBot) -> None:
    original = make_listener()
    editor.table.item(0, 0).setText("30")
    first = editor.listener()
    editor.table.item(1, 0).setText("35")
    second = editor.listener()
    editor.table.item(2, 0).setText("45")
    assert editor.undo() and editor.redo_button.isEnabled()
    with qtbot.assertNotEmitted(editor.listenerEdited):  # put back from outside
        assert editor.return_to(first, "Put back")
    assert editor.listener() == first and editor.status_label.text() == "Put back"
    assert editor.table.item(0, 0).text() == "30" and editor.redo_button.isEnabled()
    assert editor.redo() and editor.listener() == second
    qtbot.mouseClick(editor.redo_button, Qt.MouseButton.LeftButton)  # the one undone before
    assert editor.listener().right.levels[2] == 45 and not editor.redo_button.isEnabled()
    assert editor.undo() and editor.undo() and editor.undo() and editor.listener() == original
    # Not in the history: the whole of it becomes redoable.
    elsewhere = make_listener(right=[0, 0, 0, 0, 0, 0])
    assert not editor.return_to(elsewhere, "Put back") and not editor.undo()
    assert editor.redo() and editor.listener() == original
    # Put back a newer audiogram than the one shown (an undo whose refit was
    # cancelled): forward, with the way back kept.
    assert editor.redo() and editor.redo() and editor.undo() and editor.undo()
    assert editor.return_to(second, "Put back") and editor.listener() == second
    assert editor.undo() and editor.listener() == first
    assert editor.undo() and editor.listener() == original
