"""pytest-qt tests of the spectra panel, with a small synthetic track and a headless player."""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np
import pyqtgraph as pg
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QComboBox, QWidget  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.chain_settings import ENGINE_RATE  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.instruments import INSTRUMENTS  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import MixState  # noqa: E402
from remixer_app.core.player import Player  # noqa: E402
from remixer_app.core.spectra import OUTPUT_KEY, TrackSpectra  # noqa: E402
from remixer_app.ui.spectra_panel import SpectraPanel  # noqa: E402
from remixer_app.ui.spectra_styles import STYLES, curve_style  # noqa: E402

RATE = ENGINE_RATE
NAMES = ("vocals", "drums", "bass", "other")
BLOCK = 1024


def empty(curve: object) -> bool:
    x = curve.xData  # type: ignore[attr-defined]
    return x is None or len(x) == 0


@pytest.fixture(scope="module")
def track() -> tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]:
    rng = np.random.default_rng(5)
    frames = 3 * RATE
    stems = {name: 0.05 * rng.standard_normal((frames, 2)) for name in NAMES}
    engine = HearingAidEngine(stems, get_preset("N3"))
    return engine, stems, TrackSpectra.compute(engine, stems, nfft=1024)


@pytest.fixture
def model() -> MixModel:
    return MixModel(MixState(listener=get_preset("N3")))


@pytest.fixture
def panel(qtbot: QtBot, model: MixModel,
          track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]) -> SpectraPanel:
    engine, stems, spectra = track
    widget = SpectraPanel(model)
    qtbot.addWidget(widget)
    widget.set_track(engine, stems, spectra=spectra)
    widget.resize(800, 700)
    widget.show()
    return widget


def test_curves_with_legend_names_and_distinct_styles(panel: SpectraPanel) -> None:
    assert set(panel.curves) == {*NAMES, "mixture", OUTPUT_KEY}
    legend = panel.level_plot.getPlotItem().legend
    names = {label.text for _, label in legend.items}
    assert {STYLES[k][3] for k in panel.curves} <= names
    assert "Live (now playing)" in names
    pens = [(c.opts["pen"].style(), c.opts["pen"].color().name()) for c in panel.curves.values()]
    assert len({style for style, _ in pens}) >= 5  # not colour alone
    for curve in panel.curves.values():
        x, y = curve.xData, curve.yData
        assert x is not None and len(x) > 10 and np.all(np.isfinite(y))
        assert x.min() < 150 and x.max() > 12000
    assert "output against the mixture" in panel.summary.text()


def look(curve: pg.PlotDataItem) -> tuple[object, ...]:
    """What tells a curve apart but its colour: line style, dashes, width and symbol."""
    line = curve.opts["pen"]
    return line.style(), tuple(line.dashPattern()), line.widthF(), curve.opts["symbol"]


def test_no_two_instruments_differ_by_colour_alone(qtbot: QtBot, model: MixModel) -> None:
    # Bassoon and oboe (orange and vermilion) look alike to deuteranopes.
    for a, b in combinations(INSTRUMENTS, 2):
        style_a, style_b = curve_style(a), curve_style(b)
        assert (style_a.line, style_a.symbol) != (style_b.line, style_b.symbol), (a, b)
    rng = np.random.default_rng(6)
    stems = {name: 0.05 * rng.standard_normal((RATE, 2)) for name in ("bassoon", "oboe")}
    engine = HearingAidEngine(stems, get_preset("N3"))
    panel = SpectraPanel(model)
    qtbot.addWidget(panel)
    panel.set_track(engine, stems, spectra=TrackSpectra.compute(engine, stems, nfft=1024))
    assert look(panel.curves["bassoon"]) != look(panel.curves["oboe"])


def test_another_tracks_stems_leave_the_plot_and_its_legend(
        panel: SpectraPanel, track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]
) -> None:
    engine, stems, _ = track
    duo = {"violin": stems["vocals"], "cello": stems["bass"]}
    classical = HearingAidEngine(duo, get_preset("N3"))
    panel.set_track(classical, duo, spectra=TrackSpectra.compute(classical, duo, nfft=1024))
    assert set(panel.curves) == {"violin", "cello", "mixture", OUTPUT_KEY}
    legend = panel.level_plot.getPlotItem().legend
    names = {label.text for _, label in legend.items}
    assert not names & {STYLES[k][3] for k in NAMES}  # no Vocals, Drums... left over
    panel.set_track(engine, stems, spectra=TrackSpectra.compute(engine, stems, nfft=1024))
    assert len(legend.items) == len(panel.curves) + 1  # and the live curve: no growth


def test_gain_change_moves_output_curve(panel: SpectraPanel, model: MixModel,
                                        qtbot: QtBot) -> None:
    before = panel.curves[OUTPUT_KEY].yData.copy()
    def vocals_over_drums() -> np.ndarray:
        return panel.curves["vocals"].yData - panel.curves["drums"].yData

    balance = vocals_over_drums()
    model.set_gain("vocals", 10.0)
    qtbot.waitUntil(lambda: not np.allclose(panel.curves[OUTPUT_KEY].yData, before))
    # the loudness match moves every stem alike; the balance moves by the gain
    np.testing.assert_allclose(vocals_over_drums() - balance, 10.0, atol=1e-6)
    model.set_muted("drums")
    qtbot.waitUntil(lambda: bool(np.all(panel.curves["drums"].yData < -100)))  # the floor


def test_mix_changes_redraw_gathered_and_not_while_hidden(
        panel: SpectraPanel, model: MixModel, qtbot: QtBot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    redraws: list[int] = []
    redraw = panel.redraw
    monkeypatch.setattr(panel, "redraw", lambda: (redraws.append(1), redraw())[1])
    for step in range(60):  # a slider drag: a redraw each would take the GUI thread ~0.6 s
        model.set_gain("vocals", step / 10)
    qtbot.waitUntil(lambda: len(redraws) == 1)
    qtbot.wait(100)
    assert len(redraws) == 1
    panel.hide()
    model.set_gain("vocals", -3.0)
    qtbot.wait(100)
    assert len(redraws) == 1  # hidden (the Spectra dock closed): nothing drawn
    panel.show()
    qtbot.waitUntil(lambda: len(redraws) == 2)


def test_thresholds_at_audiogram_frequencies(panel: SpectraPanel, model: MixModel,
                                             qtbot: QtBot) -> None:
    listener = get_preset("N3")
    for ear, audiogram in ((0, listener.left), (1, listener.right)):
        curve = panel.hearing.threshold_curves[ear]
        np.testing.assert_array_equal(curve.xData, audiogram.frequencies)
        np.testing.assert_array_equal(curve.yData, audiogram.levels)
        assert curve.opts["symbol"] == ("x" if ear == 0 else "o")
        assert np.max(panel.hearing.gain_curves[ear].yData) > 10  # N3 gets real NAL-R gain
    assert panel.hearing.audiogram_plot.getPlotItem().getViewBox().yInverted()
    model.set_listener(get_preset("NH"))
    assert np.all(panel.hearing.threshold_curves[0].yData == 0)
    assert np.max(np.abs(panel.hearing.gain_curves[0].yData)) < 1
    qtbot.waitUntil(lambda: "still fitted for" in panel.summary.text())


def test_live_curve_follows_a_playing_player(
        panel: SpectraPanel, qtbot: QtBot,
        track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]) -> None:
    engine, stems, _ = track
    player = Player(engine, stems)
    panel.set_player(player)
    panel.refresh_live()
    assert empty(panel.live_curve)  # stopped: nothing is computed
    player.play()
    out = np.empty((BLOCK, 2), dtype=np.float32)
    for _ in range(4):
        player.callback(out, BLOCK, None, None)
    qtbot.waitUntil(lambda: not empty(panel.live_curve), timeout=2000)  # the timer ran
    assert len(panel.live_curve.xData) > 10
    assert panel.timer.interval() < 100
    levels = {}
    for source in ("original", "remix", "aided"):
        player.set_source(source)  # type: ignore[arg-type]
        panel.refresh_live()
        levels[source] = panel.live_curve.yData.copy()
    # NAL-R for N3 lifts the high bands well above the unaided remix
    assert np.mean(levels["aided"][-5:]) > np.mean(levels["remix"][-5:]) + 10
    for _ in range(40):  # later in the track: another block, another spectrum
        player.callback(out, BLOCK, None, None)
    panel.refresh_live()
    assert not np.allclose(panel.live_curve.yData, levels["aided"])
    player.pause()
    panel.refresh_live()
    assert empty(panel.live_curve)
    panel.set_player(None)
    assert not panel.timer.isActive()


def test_worker_computes_spectra_when_not_given(
        qtbot: QtBot, model: MixModel,
        track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]) -> None:
    engine, stems, _ = track
    widget = SpectraPanel(model)
    qtbot.addWidget(widget)
    widget.set_track(engine, stems)
    assert widget.spectra is None and "Measuring" in widget.summary.text()
    qtbot.waitUntil(lambda: widget.spectra is not None, timeout=20000)
    assert len(widget.curves[OUTPUT_KEY].xData) > 10
    widget.set_track(None)
    assert "No track" in widget.summary.text()


def test_accessible_names_and_ear_choice(panel: SpectraPanel) -> None:
    plots = (panel.level_plot, panel.hearing.gain_plot, panel.hearing.audiogram_plot)
    for widget in panel.findChildren(QWidget):
        if isinstance(widget, QComboBox) or widget in (*plots, panel.summary):
            assert widget.accessibleName(), widget
    assert panel.accessibleName() == "Spectra"
    both = panel.curves[OUTPUT_KEY].yData.copy()
    panel.ear_combo.setCurrentIndex(2)  # right ear
    assert panel.ear == 1
    assert not np.allclose(panel.curves[OUTPUT_KEY].yData, both)
    assert panel.summary.text().startswith("Right ear")


def test_the_plots_share_the_height_they_get(qtbot: QtBot, panel: SpectraPanel) -> None:
    # pyqtgraph's own size hints would ask for ~1500 px, squeezing the main controls
    # when the panel sits in a dock.
    assert panel.sizeHint().height() < 600
    plots = (panel.level_plot, panel.hearing.gain_plot, panel.hearing.audiogram_plot)
    for height in (300, 900):
        panel.resize(800, height)
        panel.show()
        qtbot.wait(10)
        heights = [plot.height() for plot in plots]
        assert all(h >= plot.minimumHeight() for h, plot in zip(heights, plots, strict=True))
        assert sum(heights) <= max(height, panel.minimumSizeHint().height())
    assert heights[0] > heights[1]  # the spectra get the most
