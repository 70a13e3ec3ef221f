"""How the spectra dock draws: each curve's colour, line style, width, symbol and legend
name, and the log-frequency plots they are drawn in.

Okabe-Ito colours (colour-blind safe), and every curve also differs from the others in
line style or symbol, so none is told apart by colour alone. The plots' text follows
the application font, so a large font enlarges the legends and axes too.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from remixer_app.core.band_levels import third_octave
from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.spectra import MIXTURE_KEY, OUTPUT_KEY

F_MIN, F_MAX = 125.0, 16000.0
OCTAVES = (125, 250, 500, 1000, 2000, 4000, 8000, 16000)
#: The left axis' width at the default font; wider where the font needs it.
AXIS_WIDTH = 60
SYMBOL_SIZE = 7


class Style(NamedTuple):
    """How one curve is drawn, and its legend name."""

    colour: tuple[int, int, int]
    line: Qt.PenStyle
    width: float
    name: str
    symbol: str | None = None  #: a pyqtgraph symbol drawn at every band


_D, _S = Qt.PenStyle.DashLine, Qt.PenStyle.SolidLine
_LINES = (_S, _D, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
STYLES: dict[str, Style] = {
    "vocals": Style((230, 159, 0), _S, 1.5, "Vocals"),
    "drums": Style((86, 180, 233), _D, 1.5, "Drums"),
    "bass": Style((0, 158, 115), Qt.PenStyle.DotLine, 2.0, "Bass"),
    "other": Style((204, 121, 167), Qt.PenStyle.DashDotLine, 1.5, "Other"),
    MIXTURE_KEY: Style((170, 170, 170), Qt.PenStyle.DashDotDotLine, 2.0, "Mixture"),
    OUTPUT_KEY: Style((240, 228, 66), _S, 3.0, "Hearing-aid output"),
}
# Instruments (classical tracks): four line styles, and the second four instruments add
# a symbol, so that no two of the eight look alike but for their colour (bassoon and
# oboe, orange and vermilion, are one colour to deuteranopes).
INSTRUMENT_STYLES = {
    name: Style(colour, line, 1.5, name.capitalize(), symbol) for name, colour, line, symbol in zip(
        INSTRUMENTS,
        ((230, 159, 0), (86, 180, 233), (0, 158, 115), (204, 121, 167), (213, 94, 0),
         (0, 114, 178), (240, 160, 200), (150, 220, 110)),
        _LINES * 2, (None,) * 4 + ("t", "s", "d", "star"), strict=True)}
EAR_STYLE = {0: ((86, 140, 255), _D, "x", "Left ear (X)"),
             1: ((230, 60, 60), _S, "o", "Right ear (O)")}


def pen(colour: tuple[int, int, int], style: Qt.PenStyle, width: float = 1.5) -> object:
    return pg.mkPen(colour, width=width, style=style)


def curve_style(key: str) -> Style:
    """The style of a stem, instrument, the mixture or the output (grey for others)."""
    return STYLES.get(key) or INSTRUMENT_STYLES.get(key) or Style((200, 200, 200), _D, 1.0, key)


def plot_curve(item: pg.PlotItem, key: str) -> pg.PlotDataItem:
    """A new curve in ``item`` for ``key``, drawn in its :func:`curve_style`."""
    style = curve_style(key)
    return item.plot(pen=pen(style.colour, style.line, style.width), name=style.name,
                     symbol=style.symbol, symbolSize=SYMBOL_SIZE, symbolPen=style.colour,
                     symbolBrush=style.colour)


def shown_bands(freqs: np.ndarray, level_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``level_db`` in 1/3-octave bands (centres, levels), those the plots show."""
    centres, bands = third_octave(freqs, level_db)
    shown = (centres >= F_MIN / 1.2) & (centres <= F_MAX * 1.2)
    return centres[shown], bands[shown]


def text_size() -> str:
    """The application font's size, as pyqtgraph's legends take it (they default to 9 pt)."""
    font = QGuiApplication.font()
    return f"{font.pointSizeF()}pt" if font.pointSizeF() > 0 else f"{font.pixelSize()}px"


def plot_min_height(widget: pg.PlotWidget, lines: int) -> int:
    """The least height of ``widget`` that shows ``lines`` lines of its text (legend rows,
    tick labels, room for the curves) and its whole left-axis title, in its font."""
    metrics = widget.fontMetrics()
    item = widget.getPlotItem()
    title = metrics.horizontalAdvance(item.getAxis("left").labelText)
    below = (3 if item.getAxis("bottom").label.isVisible() else 2) * metrics.height()
    return max(lines * metrics.height(), title + below)


def make_plot(name: str, label: str, y_range: tuple[float, float], legend_columns: int = 2,
              legend_at_top: bool = True) -> pg.PlotWidget:
    """A log-frequency plot over the audiogram octaves, with a legend; no mouse or keyboard
    interaction (so Tab passes it by).

    Every plot's left axis has the same width, so plots stacked with linked x axes line up.
    """
    widget = pg.PlotWidget()
    widget.setAccessibleName(name)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    item = widget.getPlotItem()
    item.setLogMode(x=True, y=False)
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setMouseEnabled(x=False, y=False)
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setLabel("left", label)
    # equal widths keep the linked x axes aligned; room for "-100" and the title beside it
    metrics = widget.fontMetrics()
    item.getAxis("left").setWidth(max(AXIS_WIDTH, metrics.horizontalAdvance("-100")
                                      + 2 * metrics.height() + 10))
    # a little beyond the edge octaves, so that their tick labels fit
    item.setXRange(math.log10(F_MIN / 1.15), math.log10(F_MAX * 1.15), padding=0)
    item.setYRange(*y_range, padding=0)
    # audiogram octaves as ticks: log mode's default labels read "2·10³"
    item.getAxis("bottom").setTicks([[(math.log10(f), f"{f // 1000}k" if f >= 1000
                                       else str(f)) for f in OCTAVES], []])
    item.addLegend(offset=(-10, 5 if legend_at_top else -5), colCount=legend_columns,
                   brush=pg.mkBrush(0, 0, 0, 190), labelTextSize=text_size())
    return widget
