"""The plots read at the user's font size and keep out of the Tab order."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QFont, QFontMetrics  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import MixState  # noqa: E402
from remixer_app.ui.audiogram_chart import AudiogramChart  # noqa: E402
from remixer_app.ui.spectra_panel import SpectraPanel  # noqa: E402

LARGE_PT = 18.0


@pytest.fixture
def large_font(qapp: QApplication) -> Iterator[QFontMetrics]:
    """An 18 pt application font while the test runs; its metrics."""
    default = QFont(qapp.font())
    font = QFont(default)
    font.setPointSizeF(LARGE_PT)
    qapp.setFont(font)
    yield QFontMetrics(font)
    qapp.setFont(default)


@pytest.fixture
def panel(qtbot: QtBot) -> SpectraPanel:
    widget = SpectraPanel(MixModel(MixState(listener=get_preset("N3"))))
    qtbot.addWidget(widget)
    return widget


def plots(panel: SpectraPanel) -> tuple[pg.PlotWidget, ...]:
    return panel.level_plot, panel.hearing.gain_plot, panel.hearing.audiogram_plot


def legend_labels(item: pg.PlotItem) -> list[pg.LabelItem]:
    return [label for _, label in item.legend.items]


def test_spectra_text_follows_a_large_application_font(large_font: QFontMetrics,
                                                       panel: SpectraPanel) -> None:
    for plot in plots(panel):
        item = plot.getPlotItem()
        labels = legend_labels(item)
        assert labels
        for label in labels:  # pyqtgraph's default is 9 pt, half of it
            assert label.item.boundingRect().height() >= large_font.height()
        axis = item.getAxis("left")
        # tick labels and the title beside them fit in the (common) axis width
        assert axis.width() >= large_font.horizontalAdvance("-100") + large_font.height()
        # the y-axis title is not cut off, nor runs into the next plot
        assert plot.minimumHeight() >= large_font.horizontalAdvance(axis.labelText)


def test_spectra_minimum_heights_grow_with_the_font(qapp: QApplication, qtbot: QtBot) -> None:
    def lowest() -> list[int]:
        widget = SpectraPanel(MixModel(MixState(listener=get_preset("N3"))))
        qtbot.addWidget(widget)
        return [plot.minimumHeight() for plot in plots(widget)]

    default = lowest()
    font = QFont(qapp.font())
    small_pt = font.pointSizeF()
    font.setPointSizeF(2 * small_pt)
    qapp.setFont(font)
    try:
        doubled = lowest()
    finally:
        font.setPointSizeF(small_pt)
        qapp.setFont(font)
    assert all(big > 1.5 * small for big, small in zip(doubled, default, strict=True))


def test_the_audiogram_chart_follows_a_large_application_font(large_font: QFontMetrics,
                                                              qtbot: QtBot) -> None:
    chart = AudiogramChart()
    qtbot.addWidget(chart)
    chart.set_listener(get_preset("N3"))
    for label in legend_labels(chart.getPlotItem()):
        assert label.item.boundingRect().height() >= large_font.height()
    hint = chart.minimumSizeHint()
    assert hint.width() >= 20 * large_font.height() and hint.height() >= 17 * large_font.height()


def test_read_only_plots_are_no_tab_stops(qtbot: QtBot, panel: SpectraPanel) -> None:
    chart = AudiogramChart()
    host = QWidget()
    qtbot.addWidget(host)
    before, after = QPushButton("Before"), QPushButton("After")
    layout = QVBoxLayout(host)
    for widget in (before, *plots(panel), chart, after):
        layout.addWidget(widget)
    with qtbot.waitActive(host):
        host.show()
        host.activateWindow()
    for plot in (*plots(panel), chart):
        assert plot.focusPolicy() == Qt.FocusPolicy.NoFocus
    before.setFocus()
    qtbot.keyClick(before, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is after, QApplication.focusWidget()
