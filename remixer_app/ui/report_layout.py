"""Laying a printable report out top to bottom on a paint device, page by page.

:class:`PageLayout` places text, the audiogram chart and tables, starting a new page
(and repeating a table's header) when the device is paged, as a PDF is; on an
unbounded device (a PNG) it only measures and draws. Run with no painter it only
measures, which is how a PNG's height is found before drawing. It paints on any thread:
the audiogram charts, widgets that only the GUI thread may make, come to it recorded
beforehand by :func:`chart_picture`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPaintDevice, QPainter, QPicture
from PySide6.QtWidgets import QGraphicsView, QWidget

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.ui.audiogram_chart import AudiogramChart

MARGIN_MM = 15.0
CHART_SIZE = (720, 410)  # logical pixels the chart is laid out at before scaling
_FLAGS = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
PIECE_CHARS = 1500  # of a long text placed piece by piece: far less than a page holds
# Word wrap breaks only at spaces: a file name is given other places to break (zero-width
# spaces after _ - . / and every 20 characters of a longer run), or it is cut off.
_BREAK_AFTER_MARK = re.compile(r"([_\-./\\])(?=\S)")
_BREAK_IN_RUN = re.compile("([^\\s\u200b]{20})(?=[^\\s\u200b])")


#: What a chart shows: a listener's (left, right) audiograms.
ChartKey = tuple[Audiogram, Audiogram]


def chart_key(listener: Listener) -> ChartKey:
    """The key of ``listener``'s chart among those given to :class:`PageLayout`."""
    return listener.left, listener.right


def chart_picture(listener: Listener) -> QPicture:
    """The app's audiogram chart of ``listener``, recorded as paint commands.

    Only the GUI thread may call this (the chart is a widget); any thread may replay the
    picture, and replayed through a PDF's painter it stays vector graphics.
    """
    chart = AudiogramChart()
    try:
        chart.resize(*CHART_SIZE)
        chart.set_listener(listener)
        # Recorded without the pixmaps pyqtgraph caches its background and symbols in,
        # which only the GUI thread may use: its exporters' way, symbols as paths.
        chart.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        for item in chart.scene().items():
            if hasattr(item, "setExportMode"):
                item.setExportMode(True, {"antialias": True})
        picture = QPicture()
        painter = QPainter(picture)
        try:
            # QWidget's render, not the view's: it lays the unshown chart out first.
            QWidget.render(chart, painter, QPoint(0, 0))
        finally:
            painter.end()
    finally:
        chart.deleteLater()
    return picture


@dataclass
class Page:
    """The paint device's geometry in its own pixels."""

    width: float
    height: float  # of one page; unbounded (inf) for a PNG
    dpi: float

    def mm(self, value: float) -> float:
        return value * self.dpi / 25.4


def report_font(points: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


class PageLayout:
    """Lays the report out top to bottom on one device, starting new pages as needed.

    ``charts`` holds the recorded chart of every listener :meth:`chart` is to draw (only
    measuring needs none).
    """

    def __init__(self, device: QPaintDevice, page: Page,
                 new_page: Callable[[], object] | None,
                 charts: Mapping[ChartKey, QPicture] | None = None) -> None:
        self.device, self.page, self._new_page = device, page, new_page
        self.charts: Mapping[ChartKey, QPicture] = charts or {}
        self.painter: QPainter | None = None
        self.left = page.mm(MARGIN_MM)
        self.width = page.width - 2 * self.left
        self.y = self.left

    def metrics(self, font: QFont) -> QFontMetricsF:
        return QFontMetricsF(font, self.device)

    def paragraphs(self, text: str, font: QFont, gap: float = 0.0) -> None:
        """``text`` of any length, in pieces of at most :data:`PIECE_CHARS` (cut at a
        space), each placed as :meth:`text` places it: a piece always fits a page,
        where one long paragraph would run off its bottom."""
        while len(text) > PIECE_CHARS:
            cut = text.rfind(" ", 0, PIECE_CHARS)
            cut = cut if cut > 0 else PIECE_CHARS
            self.text(text[:cut], font)
            text = text[cut:].lstrip(" ")
        self.text(text, font, gap)

    def text_height(self, text: str, font: QFont, width: float) -> float:
        rect = self.metrics(font).boundingRect(QRectF(0, 0, width, 1e7), _FLAGS, text or " ")
        return rect.height()

    def ensure(self, height: float) -> bool:
        """Make room for ``height``; returns whether a new page was started."""
        bottom = self.page.height - self.left
        if self.y + height <= bottom or self._new_page is None or self.y <= self.left:
            return False
        self._new_page()
        self.y = self.left
        return True

    def text(self, text: str, font: QFont, gap: float = 0.0) -> None:
        height = self.text_height(text, font, self.width)
        self.ensure(height)
        if self.painter is not None:
            self.painter.setFont(font)
            self.painter.drawText(QRectF(self.left, self.y, self.width, height), _FLAGS, text)
        self.y += height + gap

    def chart(self, listener: Listener) -> None:
        w, h = CHART_SIZE
        height = self.width * h / w
        self.ensure(height)
        if self.painter is not None:
            picture, device = self.charts[chart_key(listener)], self.device
            self.painter.save()
            self.painter.translate(self.left, self.y)
            # Replaying scales a picture from its resolution to the device's: undone, as
            # the chart is scaled to the page's width here.
            self.painter.scale(self.width / w * picture.logicalDpiX() / device.logicalDpiX(),
                               height / h * picture.logicalDpiY() / device.logicalDpiY())
            self.painter.drawPicture(0, 0, picture)
            self.painter.restore()
        self.y += height + self.page.mm(4)

    def table(self, columns: Sequence[tuple[str, int]], rows: Sequence[Sequence[str]]) -> None:
        total = sum(weight for _, weight in columns)
        widths = [self.width * weight / total for _, weight in columns]
        pad = self.page.mm(1.0)
        header_font, body_font = report_font(8.5, bold=True), report_font(8.5)
        header = [name for name, _ in columns]
        self._row(header, widths, header_font, pad, shaded=True)
        for row in rows:
            height = self._row_height(row, widths, body_font, pad)
            if self.ensure(height):
                self._row(header, widths, header_font, pad, shaded=True)
            self._row(row, widths, body_font, pad)

    def _row_height(self, cells: Sequence[str], widths: Sequence[float], font: QFont,
                    pad: float) -> float:
        return 2 * pad + max(self.text_height(breakable(c), font, w - 2 * pad)
                             for c, w in zip(cells, widths, strict=True))

    def _row(self, cells: Sequence[str], widths: Sequence[float], font: QFont, pad: float,
             *, shaded: bool = False) -> None:
        height = self._row_height(cells, widths, font, pad)
        self.ensure(height)
        painter = self.painter
        if painter is not None:
            painter.setFont(font)
            if shaded:
                painter.fillRect(QRectF(self.left, self.y, self.width, height),
                                 QColor(230, 230, 230))
            x = self.left
            for cell, w in zip(cells, widths, strict=True):
                painter.drawText(QRectF(x + pad, self.y + pad, w - 2 * pad, height - 2 * pad),
                                 _FLAGS, breakable(cell))
                x += w
            painter.setPen(QColor(150, 150, 150))
            bottom = self.y + height
            painter.drawLine(QPointF(self.left, bottom), QPointF(self.left + self.width, bottom))
            painter.setPen(QColor(0, 0, 0))
        self.y += height


def breakable(text: str) -> str:
    """``text`` with zero-width spaces where a long word may wrap: after ``_ - . / \\``
    inside it, then every 20 characters of a run still longer."""
    return _BREAK_IN_RUN.sub("\\1\u200b", _BREAK_AFTER_MARK.sub("\\1\u200b", text))
