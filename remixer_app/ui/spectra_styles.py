"""How the spectra dock draws: each curve's colour, line style, width and legend name,
and the log-frequency plots they are drawn in.

Okabe-Ito colours (colour-blind safe), and every curve also differs from the others in
line style, so none is told apart by colour alone.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt

from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.spectra import MIXTURE_KEY, OUTPUT_KEY

F_MIN, F_MAX = 125.0, 16000.0
OCTAVES = (125, 250, 500, 1000, 2000, 4000, 8000, 16000)

Style = tuple[tuple[int, int, int], Qt.PenStyle, float, str]

_D, _S = Qt.PenStyle.DashLine, Qt.PenStyle.SolidLine
STYLES: dict[str, Style] = {
    "vocals": ((230, 159, 0), _S, 1.5, "Vocals"),
    "drums": ((86, 180, 233), _D, 1.5, "Drums"),
    "bass": ((0, 158, 115), Qt.PenStyle.DotLine, 2.0, "Bass"),
    "other": ((204, 121, 167), Qt.PenStyle.DashDotLine, 1.5, "Other"),
    MIXTURE_KEY: ((170, 170, 170), Qt.PenStyle.DashDotDotLine, 2.0, "Mixture"),
    OUTPUT_KEY: ((240, 228, 66), _S, 3.0, "Hearing-aid output"),
}
# Instruments (classical tracks): a track has at most five, and the line style cycles
# every four instruments, so instruments that share a style differ in colour too.
INSTRUMENT_STYLES = {
    name: (colour, style, 1.5, name.capitalize()) for name, colour, style in zip(
        INSTRUMENTS,
        ((230, 159, 0), (86, 180, 233), (0, 158, 115), (204, 121, 167), (213, 94, 0),
         (0, 114, 178), (240, 160, 200), (150, 220, 110)),
        (_S, _D, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine) * 2, strict=True)}
EAR_STYLE = {0: ((86, 140, 255), _D, "x", "Left ear (X)"),
             1: ((230, 60, 60), _S, "o", "Right ear (O)")}


def pen(colour: tuple[int, int, int], style: Qt.PenStyle, width: float = 1.5) -> object:
    return pg.mkPen(colour, width=width, style=style)


def curve_style(key: str) -> Style:
    """The style of a stem, instrument, the mixture or the output (grey for others)."""
    return STYLES.get(key) or INSTRUMENT_STYLES.get(key) or ((200, 200, 200), _D, 1.0, key)


def make_plot(name: str, label: str, y_range: tuple[float, float], legend_columns: int = 2,
              legend_at_top: bool = True) -> pg.PlotWidget:
    """A log-frequency plot over the audiogram octaves, with a legend; no mouse interaction.

    Every plot's left axis has the same width, so plots stacked with linked x axes line up.
    """
    widget = pg.PlotWidget()
    widget.setAccessibleName(name)
    item = widget.getPlotItem()
    item.setLogMode(x=True, y=False)
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setMouseEnabled(x=False, y=False)
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setLabel("left", label)
    item.getAxis("left").setWidth(60)  # equal widths keep the linked x axes aligned
    # a little beyond the edge octaves, so that their tick labels fit
    item.setXRange(math.log10(F_MIN / 1.15), math.log10(F_MAX * 1.15), padding=0)
    item.setYRange(*y_range, padding=0)
    # audiogram octaves as ticks: log mode's default labels read "2·10³"
    item.getAxis("bottom").setTicks([[(math.log10(f), f"{f // 1000}k" if f >= 1000
                                       else str(f)) for f in OCTAVES], []])
    item.addLegend(offset=(-10, 5 if legend_at_top else -5), colCount=legend_columns,
                   brush=pg.mkBrush(0, 0, 0, 190))
    return widget
