"""The listener's plots under the spectra: the hearing aid's gain per ear and the
audiogram, on the spectra's log-frequency axis.

The gain is NAL-R's insertion gain, or the multiband aid's make-up gain per band; the
thresholds are in dB HL on an inverted axis, as audiograms are drawn (O right, X left).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from remixer_app.core.audiogram import Listener
from remixer_app.core.band_levels import nalr_gain_db
from remixer_app.core.dsp.multiband_fitting import makeup_gain_db, multiband_params
from remixer_app.core.dsp.nalr import fir_response_db
from remixer_app.core.engine import HearingAidEngine
from remixer_app.ui.spectra_styles import EAR_STYLE, F_MAX, F_MIN, make_plot, pen


class HearingPlots:
    """The gain plot and the audiogram plot, their x axis linked to ``x_link``'s.

    Attributes
    ----------
    gain_plot, audiogram_plot
        The two plots, for the panel to lay out.
    gain_curves, threshold_curves
        Each ear's curve (0 left, 1 right) in them.
    """

    def __init__(self, x_link: pg.PlotItem) -> None:
        self.gain_plot = make_plot("Hearing-aid gain plot", "Gain (dB)", (-5, 45))
        # drawn inverted; below the 120 dB HL limit of an audiogram is room for the legend
        self.audiogram_plot = make_plot("Audiogram plot", "dB HL", (-10, 155),
                                         legend_at_top=False)
        self.audiogram_plot.getPlotItem().invertY(True)
        self.audiogram_plot.getPlotItem().setLabel("bottom", "Frequency (Hz)")
        for plot in (self.gain_plot, self.audiogram_plot):
            plot.getPlotItem().setXLink(x_link)
        self.gain_curves: dict[int, pg.PlotDataItem] = {}
        self.threshold_curves: dict[int, pg.PlotDataItem] = {}
        for ear, (colour, style, symbol, name) in EAR_STYLE.items():
            self.gain_curves[ear] = self.gain_plot.getPlotItem().plot(
                pen=pen(colour, style, 2.0), name=name)
            self.threshold_curves[ear] = self.audiogram_plot.getPlotItem().plot(
                pen=pen(colour, style), symbol=symbol, symbolSize=11, symbolPen=colour,
                symbolBrush=None, name=name)

    def show(self, listener: Listener | None, engine: HearingAidEngine | None) -> None:
        """Thresholds and hearing-aid gains of ``listener`` (nothing for ``None``), with
        ``engine``'s aid; its own filters where it was fitted for ``listener``."""
        freqs = np.geomspace(F_MIN, F_MAX, 200)
        for ear in (0, 1):
            if listener is None:
                self.threshold_curves[ear].setData([], [])
                self.gain_curves[ear].setData([], [])
                continue
            audiogram = (listener.left, listener.right)[ear]
            self.threshold_curves[ear].setData(audiogram.frequencies, audiogram.levels)
            # pyclarity (which designs NAL-R) is loaded once an engine exists; importing it
            # takes seconds, so without an engine the gains wait for one.
            if engine is None:
                self.gain_curves[ear].setData([], [])
            elif engine.hearing_aid == "multiband":  # make-up gain per band of this ear
                params = (engine.multiband[ear] if listener == engine.listener
                          else multiband_params(audiogram, engine.rate))
                self.gain_curves[ear].setData(freqs, makeup_gain_db(params, freqs))
            elif listener == engine.listener:
                self.gain_curves[ear].setData(freqs, fir_response_db(engine.firs[ear], freqs,
                                                                     engine.rate))
            else:
                self.gain_curves[ear].setData(freqs, nalr_gain_db(audiogram, freqs, engine.rate))
        gains = [c.yData for c in self.gain_curves.values() if c.yData is not None]
        top = max((float(np.max(g)) for g in gains), default=30.0)
        # headroom for the legend across the top
        self.gain_plot.getPlotItem().setYRange(-5.0, 10 * math.ceil(top / 10) + 15, padding=0)
