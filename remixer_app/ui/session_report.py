"""A printable report of a listener's saved preferences: audiogram plus a table, PNG or PDF.

The table has a column per stem; preferences for tracks with other stem sets (pop
stems, an ensemble's instruments) get a table each. The page is painted once by
:func:`_paint`, whatever the target: a ``QImage`` for
PNG (its height grows with the table, so a long history is never cut off) or a
``QPdfWriter`` for PDF (A4 pages, the table header repeated on each). The audiogram
is the app's own :class:`~remixer_app.ui.audiogram_chart.AudiogramChart`, rendered
through the painter, so in a PDF it stays vector graphics and looks exactly like the
chart on screen. Everything here needs a ``QApplication`` and the GUI thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPageSize,
    QPaintDevice,
    QPainter,
    QPdfWriter,
)
from PySide6.QtWidgets import QWidget

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import Listener
from remixer_app.core.errors import ExportError
from remixer_app.core.mix_state import MixState
from remixer_app.core.storage import Preference
from remixer_app.ui.audiogram_chart import AudiogramChart

REPORT_SUFFIXES = (".png", ".pdf")
DEFAULT_TITLE = "Listening preferences"
PNG_DPI = 150
PDF_DPI = 300
A4_MM = (210.0, 297.0)
MARGIN_MM = 15.0
CHART_SIZE = (720, 410)  # logical pixels the chart is laid out at before scaling
STEM_WIDTH = 7


def report_columns(stems: Sequence[str] = STEM_NAMES) -> tuple[tuple[str, int], ...]:
    """The table's (heading, relative width): saved, track, the stems' gains,
    compressor, note."""
    return (("Saved", 15), ("Track", 21), *((s.capitalize(), STEM_WIDTH) for s in stems),
            ("Compr.", 8), ("Note", 28))


#: The columns of the table of pop tracks.
COLUMNS = report_columns()
_FLAGS = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)


def local_time(when: datetime) -> str:
    """``when`` in the computer's time zone as ``YYYY-MM-DD HH:MM``."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def format_gain(db: float) -> str:
    """A gain as ``+6``, ``-3.5`` or ``0`` (no sign on zero: it is neither)."""
    return f"{db:+g}" if db else "0"


def compressor_text(state: MixState) -> str:
    """The compressor in a word: ``on``/``off`` (NAL-R), ``multiband`` (Cadenza 2)."""
    if state.hearing_aid == "multiband":
        return "multiband"
    return "on" if state.compressor_on else "off"


def preference_cells(pref: Preference) -> list[str]:
    """The report's table row for ``pref`` (see :func:`report_columns` of its stems)."""
    state = pref.mix_state()
    gains = []
    for stem in state.stems:
        marks = ("M" if stem in state.muted else "") + ("S" if stem in state.soloed else "")
        gains.append(format_gain(state.gains_db[stem]) + (f" ({marks})" if marks else ""))
    return [local_time(pref.created_at), pref.track_name or pref.track_key, *gains,
            compressor_text(state), pref.note]


def stem_groups(prefs: Iterable[Preference]) -> list[tuple[tuple[str, ...], list[Preference]]]:
    """``prefs`` grouped by stem set, in order of first appearance, each keeping its order."""
    groups: dict[tuple[str, ...], list[Preference]] = {}
    for pref in prefs:
        groups.setdefault(pref.mix_state().stems, []).append(pref)
    return list(groups.items())


@dataclass
class _Page:
    """The paint device's geometry in its own pixels."""

    width: float
    height: float  # of one page; unbounded (inf) for a PNG
    dpi: float

    def mm(self, value: float) -> float:
        return value * self.dpi / 25.4


def _font(points: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


class _Painter:
    """Lays the report out top to bottom on one device, starting new pages as needed."""

    def __init__(self, device: QPaintDevice, page: _Page,
                 new_page: Callable[[], None] | None) -> None:
        self.device, self.page, self._new_page = device, page, new_page
        self.painter: QPainter | None = None
        self.left = page.mm(MARGIN_MM)
        self.width = page.width - 2 * self.left
        self.y = self.left

    def metrics(self, font: QFont) -> QFontMetricsF:
        return QFontMetricsF(font, self.device)

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
            chart = AudiogramChart()
            chart.resize(w, h)
            chart.set_listener(listener)
            self.painter.save()
            self.painter.translate(self.left, self.y)
            self.painter.scale(self.width / w, height / h)
            # QWidget's render, not the view's: it lays the unshown chart out first, and
            # through the painter the PDF gets vector graphics rather than a bitmap.
            QWidget.render(chart, self.painter, QPoint(0, 0))
            self.painter.restore()
            chart.deleteLater()
        self.y += height + self.page.mm(4)

    def table(self, columns: Sequence[tuple[str, int]], rows: Sequence[Sequence[str]]) -> None:
        total = sum(weight for _, weight in columns)
        widths = [self.width * weight / total for _, weight in columns]
        pad = self.page.mm(1.0)
        header_font, body_font = _font(8.5, bold=True), _font(8.5)
        header = [name for name, _ in columns]
        self._row(header, widths, header_font, pad, shaded=True)
        for row in rows:
            height = self._row_height(row, widths, body_font, pad)
            if self.ensure(height):
                self._row(header, widths, header_font, pad, shaded=True)
            self._row(row, widths, body_font, pad)

    def _row_height(self, cells: Sequence[str], widths: Sequence[float], font: QFont,
                    pad: float) -> float:
        return 2 * pad + max(self.text_height(c, font, w - 2 * pad)
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
                                 _FLAGS, cell)
                x += w
            painter.setPen(QColor(150, 150, 150))
            bottom = self.y + height
            painter.drawLine(QPointF(self.left, bottom), QPointF(self.left + self.width, bottom))
            painter.setPen(QColor(0, 0, 0))
        self.y += height


def _paint(layout: _Painter, listener: Listener, prefs: Sequence[Preference],
           title: str) -> float:
    """Lay out (and, when ``layout.painter`` is set, draw) the report; returns its height."""
    layout.text(title, _font(16, bold=True), layout.page.mm(2))
    name = listener.display_name
    who = name if name == listener.id else f"{name} ({listener.id})"
    layout.text(f"Listener: {who}", _font(11))
    layout.text(f"Written {datetime.now().astimezone():%Y-%m-%d %H:%M}; "
                f"{len(prefs)} saved preference(s); gains in dB", _font(9), layout.page.mm(3))
    layout.chart(listener)
    groups = stem_groups(prefs)
    marked = False
    for stems, group in groups:
        if len(groups) > 1:
            layout.y += layout.page.mm(2)
            layout.text("Stems: " + ", ".join(s.capitalize() for s in stems),
                        _font(10, bold=True), layout.page.mm(1))
        rows = [preference_cells(p) for p in group]
        layout.table(report_columns(stems), rows)
        marked = marked or any("(" in cell for row in rows for cell in row[2:2 + len(stems)])
    if marked:
        layout.y += layout.page.mm(2)
        layout.text("M: muted, S: soloed", _font(8))
    if not groups:
        layout.text("No preferences saved yet.", _font(10))
    return layout.y + layout.left


def _write_png(tmp: Path, listener: Listener, prefs: Sequence[Preference], title: str) -> None:
    probe = QImage(8, 8, QImage.Format.Format_RGB32)
    dots_per_m = round(PNG_DPI / 0.0254)
    probe.setDotsPerMeterX(dots_per_m)
    probe.setDotsPerMeterY(dots_per_m)
    page = _Page(width=A4_MM[0] * PNG_DPI / 25.4, height=float("inf"), dpi=PNG_DPI)
    # First pass only measures, so the image can be made exactly as tall as the report.
    height = _paint(_Painter(probe, page, None), listener, prefs, title)
    image = QImage(round(page.width), max(round(height), 1), QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(dots_per_m)
    image.setDotsPerMeterY(dots_per_m)
    image.fill(QColor("white"))
    layout = _Painter(image, page, None)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        layout.painter = painter
        _paint(layout, listener, prefs, title)
    finally:
        painter.end()
    # The temporary name ends in ".part", so the format cannot come from the suffix.
    if not image.save(str(tmp), "PNG"):
        raise ExportError(f"cannot encode the report as PNG ({tmp.parent})")


def _write_pdf(tmp: Path, listener: Listener, prefs: Sequence[Preference], title: str) -> None:
    writer = QPdfWriter(str(tmp))
    writer.setTitle(title)
    writer.setCreator("remixer_app")
    writer.setResolution(PDF_DPI)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))  # our own margins, the same as the PNG's
    page = _Page(width=float(writer.width()), height=float(writer.height()), dpi=PDF_DPI)
    painter = QPainter()
    if not painter.begin(writer):
        raise ExportError(f"cannot write a PDF in {tmp.parent}")
    try:
        layout = _Painter(writer, page, lambda: writer.newPage())
        layout.painter = painter
        _paint(layout, listener, prefs, title)
    finally:
        painter.end()


def write_report(path: str | os.PathLike[str], listener: Listener,
                 preferences: Sequence[Preference], *, title: str = DEFAULT_TITLE,
                 overwrite: bool = False) -> Path:
    """Write a report of ``listener``'s preferences as PNG or PDF (by suffix), atomically.

    Parameters
    ----------
    path
        Target file; its suffix (``.png`` or ``.pdf``, any case) picks the format.
    listener
        Whose audiogram is drawn; every preference must belong to them.
    preferences
        The rows of the table, in the order given (the store lists newest first).
    title
        The heading of the report and the PDF's title.
    overwrite
        Replace an existing file (a save dialog has already asked).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ExportError
        Unknown suffix, the file exists and ``overwrite`` is false, or it cannot be
        written.
    ValueError
        A preference belongs to another listener.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ExportError(f"cannot write a report as {target.name!r}: "
                          "name it .png (image) or .pdf (document)")
    strangers = sorted({p.listener_id for p in preferences} - {listener.id})
    if strangers:
        raise ValueError(f"the report is for {listener.id}, but preferences of "
                         f"{', '.join(strangers)} were given")
    write = _write_png if suffix == ".png" else _write_pdf
    return atomic_write(target, lambda tmp: write(tmp, listener, list(preferences), title),
                        overwrite=overwrite)


__all__ = ["DEFAULT_TITLE", "REPORT_SUFFIXES", "compressor_text", "format_gain", "local_time",
           "preference_cells", "report_columns", "stem_groups", "write_report"]
