"""A printable report of a listener's saved preferences: audiogram plus a table, PNG or PDF.

The table has a column per stem; preferences for tracks with other stem sets (pop
stems, an ensemble's instruments) get a table each. The page is painted once by
:func:`_paint`, whatever the target: a ``QImage`` for
PNG (its height grows with the table, so a long history is never cut off) or a
``QPdfWriter`` for PDF (A4 pages, the table header repeated on each). The audiogram
is the app's own :class:`~remixer_app.ui.audiogram_chart.AudiogramChart`, recorded
and replayed through the painter, so in a PDF it stays vector graphics and looks like
the chart on screen. Everything here needs a ``QApplication``. :func:`prepare_report`
does on the GUI thread what only it may (recording the charts, which are widgets) and
returns the rest, the painting and encoding, to run on a worker thread;
:func:`write_report` does both at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import (
    QColor,
    QImage,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPicture,
)

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import Listener
from remixer_app.core.errors import ExportError
from remixer_app.core.mix_state import MixState
from remixer_app.core.storage import Preference, readable_preferences, tell_skipped
from remixer_app.ui.report_layout import (
    ChartKey,
    Page,
    PageLayout,
    chart_key,
    chart_picture,
    report_font,
)

REPORT_SUFFIXES = (".png", ".pdf")
DEFAULT_TITLE = "Listening preferences"
PNG_DPI = 150
PDF_DPI = 300
A4_MM = (210.0, 297.0)
STEM_WIDTH = 7
NOTE_IN_TABLE = 300  # characters of a note in the table; a longer one follows in full


def report_columns(stems: Sequence[str] = STEM_NAMES) -> tuple[tuple[str, int], ...]:
    """The table's (heading, relative width): saved, track, the stems' gains,
    compressor, note."""
    return (("Saved", 15), ("Track", 21), *((s.capitalize(), STEM_WIDTH) for s in stems),
            ("Compr.", 8), ("Note", 28))


#: The columns of the table of pop tracks.
COLUMNS = report_columns()


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


def other_audiograms(listener: Listener, prefs: Iterable[Preference]
                     ) -> tuple[dict[int, str], list[tuple[str, Listener]]]:
    """The audiograms preferences were saved with that are not ``listener``'s (edited
    for the session, or the profile changed since): a label ``"1"``, ``"2"``... per
    distinct one, and the label of each such preference by id."""
    labels: list[tuple[str, Listener]] = []
    marks: dict[int, str] = {}
    for pref in prefs:
        saved = pref.mix_state().listener
        if saved is None or (saved.left, saved.right) == (listener.left, listener.right):
            continue
        label = next((label for label, seen in labels
                      if (seen.left, seen.right) == (saved.left, saved.right)), None)
        if label is None:
            label = str(len(labels) + 1)
            labels.append((label, saved))
        marks[pref.id] = label
    return marks, labels


def _paint(layout: PageLayout, listener: Listener, prefs: Sequence[Preference],
           title: str) -> float:
    """Lay out (and, when ``layout.painter`` is set, draw) the report; returns its height."""
    layout.text(title, report_font(16, bold=True), layout.page.mm(2))
    name = listener.display_name
    who = name if name == listener.id else f"{name} ({listener.id})"
    layout.text(f"Listener: {who}", report_font(11))
    layout.text(f"Written {datetime.now().astimezone():%Y-%m-%d %H:%M}; "
                f"{len(prefs)} saved preference(s); gains in dB", report_font(9), layout.page.mm(3))
    layout.chart(listener)
    groups = stem_groups(prefs)
    audiogram_of, others = other_audiograms(listener, prefs)
    long_notes: list[Preference] = []
    marked = False
    for stems, group in groups:
        if len(groups) > 1:
            layout.y += layout.page.mm(2)
            layout.text("Stems: " + ", ".join(s.capitalize() for s in stems),
                        report_font(10, bold=True), layout.page.mm(1))
        rows = [preference_cells(p) for p in group]
        for row, pref in zip(rows, group, strict=True):
            if pref.id in audiogram_of:
                row[0] += f" [{audiogram_of[pref.id]}]"
            if len(pref.note) > NOTE_IN_TABLE:  # whole, it could be taller than a page
                long_notes.append(pref)
                row[-1] = (pref.note[:NOTE_IN_TABLE].rstrip()
                           + f"... (note {len(long_notes)} below)")
        layout.table(report_columns(stems), rows)
        marked = marked or any("(" in cell for row in rows for cell in row[2:2 + len(stems)])
    if marked:
        layout.y += layout.page.mm(2)
        layout.text("M: muted, S: soloed", report_font(8))
    if not groups:
        layout.text("No preferences saved yet.", report_font(10))
    for number, pref in enumerate(long_notes, start=1):
        layout.y += layout.page.mm(3)
        layout.text(f"Note {number}: {pref.track_name or pref.track_key}, "
                    f"{local_time(pref.created_at)}", report_font(10, bold=True))
        layout.paragraphs(pref.note, report_font(9))
    for label, saved in others:  # the gains marked [n] were chosen hearing through these
        layout.y += layout.page.mm(3)
        layout.text(f"[{label}] The audiogram those preferences were saved with "
                    f"({saved.display_name}), not the profile's above:", report_font(10))
        layout.chart(saved)
    return layout.y + layout.left


def _write_png(tmp: Path, listener: Listener, prefs: Sequence[Preference], title: str,
               charts: Mapping[ChartKey, QPicture]) -> None:
    probe = QImage(8, 8, QImage.Format.Format_RGB32)
    dots_per_m = round(PNG_DPI / 0.0254)
    probe.setDotsPerMeterX(dots_per_m)
    probe.setDotsPerMeterY(dots_per_m)
    page = Page(width=A4_MM[0] * PNG_DPI / 25.4, height=float("inf"), dpi=PNG_DPI)
    # First pass only measures, so the image can be made exactly as tall as the report.
    height = _paint(PageLayout(probe, page, None), listener, prefs, title)
    image = QImage(round(page.width), max(round(height), 1), QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(dots_per_m)
    image.setDotsPerMeterY(dots_per_m)
    image.fill(QColor("white"))
    layout = PageLayout(image, page, None, charts)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        layout.painter = painter
        _paint(layout, listener, prefs, title)
    finally:
        painter.end()
    # The temporary name ends in ".part", so the format cannot come from the suffix.
    # PySide6's stubs type the format as bytes, but the call only accepts a str.
    if not image.save(str(tmp), "PNG"):  # type: ignore[call-overload]
        raise ExportError(f"cannot encode the report as PNG ({tmp.parent})")


def _write_pdf(tmp: Path, listener: Listener, prefs: Sequence[Preference], title: str,
               charts: Mapping[ChartKey, QPicture]) -> None:
    writer = QPdfWriter(str(tmp))
    writer.setTitle(title)
    writer.setCreator("remixer_app")
    writer.setResolution(PDF_DPI)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))  # our own margins, the same as the PNG's
    page = Page(width=float(writer.width()), height=float(writer.height()), dpi=PDF_DPI)
    painter = QPainter()
    if not painter.begin(writer):
        raise ExportError(f"cannot write a PDF in {tmp.parent}")
    try:
        layout = PageLayout(writer, page, lambda: writer.newPage(), charts)
        layout.painter = painter
        _paint(layout, listener, prefs, title)
    finally:
        painter.end()


def write_report(path: str | os.PathLike[str], listener: Listener,
                 preferences: Sequence[Preference], *, title: str = DEFAULT_TITLE,
                 overwrite: bool = False,
                 skipped: Callable[[str], object] | None = None) -> Path:
    """Write a report of ``listener``'s preferences as PNG or PDF (by suffix), atomically.

    On the GUI thread, and all at once: the sessions dialog runs
    :func:`prepare_report` and the writing it returns on a worker instead.

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
    skipped
        Called with a sentence for each preference left out of the report because
        its settings cannot be read (damaged, or saved by a newer version of the app).

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
    return prepare_report(path, listener, preferences, title=title, overwrite=overwrite,
                          skipped=skipped)()


def prepare_report(path: str | os.PathLike[str], listener: Listener,
                   preferences: Sequence[Preference], *, title: str = DEFAULT_TITLE,
                   overwrite: bool = False,
                   skipped: Callable[[str], object] | None = None) -> Callable[[], Path]:
    """Check a report's request and record its charts, for writing it on another thread.

    Only the GUI thread may call this (the charts are drawn by a widget). It takes
    :func:`write_report`'s parameters and raises its errors about them, and has told
    ``skipped`` of every preference left out when it returns.

    Returns
    -------
    Callable[[], Path]
        Paints, encodes and writes the report atomically, on any thread, returning the
        written file; raises :class:`~remixer_app.core.errors.ExportError` when the file
        exists and ``overwrite`` is false, or cannot be written.
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
    readable, unreadable = readable_preferences(preferences)
    tell_skipped(skipped, unreadable)
    _, others = other_audiograms(listener, readable)
    charts = {chart_key(shown): chart_picture(shown)
              for shown in (listener, *(saved for _, saved in others))}
    write = _write_png if suffix == ".png" else _write_pdf
    return lambda: atomic_write(target, lambda tmp: write(tmp, listener, readable, title,
                                                          charts), overwrite=overwrite)


__all__ = ["DEFAULT_TITLE", "REPORT_SUFFIXES", "compressor_text", "format_gain", "local_time",
           "prepare_report", "preference_cells", "report_columns", "stem_groups",
           "write_report"]
