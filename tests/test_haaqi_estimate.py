"""The app's HAAQI estimate: what it compares, and its background panel."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core import haaqi_estimate  # noqa: E402
from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.chain_settings import ChainSettings  # noqa: E402
from remixer_app.core.dsp.compressor import CompressorParams  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.errors import Cancelled  # noqa: E402
from remixer_app.core.evaluation.haaqi import (  # noqa: E402
    make_task,
    processed_signal,
    reference_signals,
    score,
)
from remixer_app.core.haaqi_estimate import HaaqiEstimate, estimate, excerpt_bounds  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.track_loader import OpenedTrack  # noqa: E402
from remixer_app.ui import haaqi_panel  # noqa: E402
from remixer_app.ui.haaqi_panel import COMPUTING_TEXT, HaaqiPanel  # noqa: E402

RATE = 44100


@pytest.fixture(scope="module")
def stems() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    t = np.arange(3 * RATE) / RATE
    tone = 0.02 * np.sin(2 * np.pi * 220 * t)[:, None] * np.ones((1, 2))
    return {"vocals": tone, "drums": 0.01 * rng.standard_normal((3 * RATE, 2)),
            "bass": 0.5 * tone, "other": 0.005 * rng.standard_normal((3 * RATE, 2))}


def panel_and_track(qtbot: QtBot, stems: dict, model: MixModel | None = None,
                    ) -> tuple[HaaqiPanel, HearingAidEngine, OpenedTrack]:
    """A panel, an engine fitted for N3 and the track of ``stems``, not yet connected."""
    panel = HaaqiPanel(model or MixModel())
    qtbot.addWidget(panel)
    engine = HearingAidEngine(stems, get_preset("N3"))
    track = OpenedTrack(Path("song.wav"), sum(stems.values()).astype(np.float32), stems, None,
                        "test", ())
    return panel, engine, track


def test_excerpt_fits_the_track() -> None:
    assert excerpt_bounds(0, 10 * RATE, 8.0) == (0, 8 * RATE)
    assert excerpt_bounds(9 * RATE, 10 * RATE, 8.0) == (2 * RATE, 10 * RATE)
    assert excerpt_bounds(RATE, 3 * RATE, 8.0) == (0, 3 * RATE)


def test_chain_only_scores_the_processing_and_true_stems_the_separation(stems: dict) -> None:
    engine = HearingAidEngine(stems, get_preset("N2"))
    clean = estimate(engine, ChainSettings(clip="none"), 0, reference_stems=stems, seconds=2.0)
    assert clean.comparison == "chain only" and clean.left > 0.98 and clean.right > 0.98
    squeezed = ChainSettings(compressor=CompressorParams(threshold=0.01, attenuation=0.05),
                             clip="hard")
    assert estimate(engine, squeezed, 0, reference_stems=stems, seconds=2.0).mean < clean.mean
    leaky = {**stems, "vocals": stems["vocals"] + 0.5 * stems["drums"]}
    separated = HearingAidEngine(leaky, get_preset("N2"))
    cadenza = estimate(separated, ChainSettings(gains_db={"vocals": 6.0}, clip="none"), 0,
                       reference_stems=stems, true_engine=engine, seconds=2.0)
    assert cadenza.comparison == "true stems" and cadenza.mean < clean.mean


def test_the_cadenza_estimate_is_the_evaluations_score(stems: dict) -> None:
    """The whole track as the excerpt: the score ``remixer evaluate`` gives the scene
    (its level from the remix before NAL-R, the output clipped after resampling)."""
    listener = get_preset("N4")
    mixture = sum(stems.values())
    settings = ChainSettings(gains_db={"vocals": 12.0, "bass": 9.0}, clip="soft")
    leaky = {**stems, "vocals": stems["vocals"] + 0.3 * stems["drums"]}
    truth = HearingAidEngine(stems, listener, mixture=mixture)
    separated = HearingAidEngine(leaky, listener, mixture=mixture)
    ours = estimate(separated, settings, 0, reference_stems=stems, true_engine=truth,
                    seconds=3.0)
    task = make_task("scene", haaqi_estimate.SEED, processed_signal(separated, settings),
                     reference_signals(stems, mixture, listener, settings.gains_db), listener)
    left, right = score(task)
    assert ours.left == pytest.approx(left, abs=2e-3)
    assert ours.right == pytest.approx(right, abs=2e-3)
    with pytest.raises(ValueError, match="reference stems lack bass, drums, other"):
        estimate(separated, settings, 0, reference_stems={"vocals": stems["vocals"]})


def test_the_multiband_aids_own_estimate_says_it_measures_clipping(stems: dict) -> None:
    engine = HearingAidEngine(stems, get_preset("N3"), hearing_aid="multiband")
    result = estimate(engine, ChainSettings(clip="hard"), 0, reference_stems=stems,
                      seconds=1.0)
    assert result.comparison == "clipping only"
    assert "clipping" in haaqi_panel.COMPARISONS[result.comparison]


def test_a_cancelled_estimate_stops_before_scoring(stems: dict,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    scored: list[int] = []
    built: list[int] = []

    class CountingReference(haaqi_estimate.HaaqiReference):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            built.append(1)

        def score(self, *args: object, **kwargs: object) -> float:
            scored.append(1)
            return super().score(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(haaqi_estimate, "HaaqiReference", CountingReference)
    engine = HearingAidEngine(stems, get_preset("N2"))
    # The user changes a slider while the first ear's reference model is being built.
    with pytest.raises(Cancelled):
        estimate(engine, ChainSettings(), 0, reference_stems=stems, seconds=1.0,
                 cancelled=lambda: bool(built))
    assert built == [1] and scored == []
    estimate(engine, ChainSettings(), 0, reference_stems=stems, seconds=1.0)  # both ears
    assert scored == [1, 1]


def test_panel_computes_in_the_background_and_says_what_it_compares(qtbot: QtBot,
                                                                    stems: dict) -> None:
    model = MixModel()
    panel, engine, track = panel_and_track(qtbot, stems, model)
    with qtbot.waitSignal(panel.timer.timeout, timeout=5000):
        panel.set_engine(engine, track)
    worker = panel._worker
    assert worker is not None and "Computing" in panel.status.text()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    assert "Left" in panel.scores.text() and "compressor" in panel.explanation.text()
    assert "Up to date" in panel.status.text()
    model.set_gain("vocals", 6.0)
    assert panel.timer.isActive()  # waits for the change to settle before recomputing
    assert panel.scores.focusPolicy() & Qt.FocusPolicy.TabFocus  # keyboard users reach it


def test_panel_says_it_is_computing_and_on_how_much_of_a_short_track(
        qtbot: QtBot, stems: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(haaqi_panel, "estimate", lambda *args, **kwargs: HaaqiEstimate(
        0.5, 0.6, "chain only", 0.0, 3.0))
    panel, engine, track = panel_and_track(qtbot, stems)
    panel.set_engine(engine, track)
    assert panel.scores.text() == COMPUTING_TEXT  # a track is there: not "No track yet"
    panel.timer.stop()
    assert panel.compute() is not None
    assert panel.scores.text() == COMPUTING_TEXT
    assert panel.status.text() == "Computing on 3 s from 0 s..."  # the track is 3 s, not 8 s
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10000)
    assert panel.scores.text().startswith("Left 0.500")
    assert panel.status.text() == "Up to date (3 s from 0 s)"


def test_a_replaced_estimate_is_told_to_stop_while_it_scores(
        qtbot: QtBot, stems: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    scoring, go_on = threading.Event(), threading.Event()
    polled: list[bool] = []

    def scoring_estimate(*args: object, cancelled: object, **kwargs: object) -> HaaqiEstimate:
        scoring.set()
        go_on.wait(10)
        polled.append(cancelled())  # type: ignore[operator]
        raise Cancelled("cancelled")

    monkeypatch.setattr(haaqi_panel, "estimate", scoring_estimate)
    panel, engine, track = panel_and_track(qtbot, stems)
    panel.set_engine(engine, track)
    panel.timer.stop()
    first = panel.compute()
    assert first is not None and scoring.wait(10)
    monkeypatch.setattr(haaqi_panel, "estimate", lambda *args, **kwargs: HaaqiEstimate(
        0.5, 0.6, "chain only", 0.0, 3.0))
    assert panel.compute() is not None  # the settings changed: a new estimate replaces it
    go_on.set()
    qtbot.waitUntil(lambda: bool(polled) and panel.result is not None, timeout=10000)
    assert polled == [True] and panel.scores.text().startswith("Left 0.500")


def test_panel_waits_for_a_refit_and_drops_the_old_fits_estimate(
        qtbot: QtBot, stems: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def slow_estimate(engine: HearingAidEngine, *args: object, **kwargs: object) -> HaaqiEstimate:
        calls.append(engine.listener.id)
        return HaaqiEstimate(0.5, 0.6, "chain only", 0.0, 3.0)

    monkeypatch.setattr(haaqi_panel, "estimate", slow_estimate)
    model = MixModel()
    model.set_listener(get_preset("N3"))
    panel, engine, track = panel_and_track(qtbot, stems, model)
    model.set_listener(engine.listener)
    panel.set_engine(engine, track)
    panel.timer.stop()
    worker = panel.compute()
    assert worker is not None
    model.set_listener(get_preset("S2"))  # the app starts a refit
    assert worker.is_cancelled and not panel.timer.isActive()
    assert panel.status.text() == haaqi_panel.WAITING_TEXT
    qtbot.wait(300)
    assert panel.result is None and panel.status.text() == haaqi_panel.WAITING_TEXT
    model.set_listener(engine.listener)  # back to the fitted listener: no refit comes
    assert panel.timer.isActive()


def test_a_new_track_or_new_settings_mark_the_scores_stale(
        qtbot: QtBot, stems: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [HaaqiEstimate(0.5, 0.6, "chain only", 0.0, 3.0)]
    monkeypatch.setattr(haaqi_panel, "estimate", lambda *args, **kwargs: answers[-1])
    model = MixModel()
    panel, engine, track = panel_and_track(qtbot, stems, model)
    panel.set_engine(engine, track)
    panel.timer.stop()
    assert panel.compute() is not None
    qtbot.waitUntil(lambda: panel.status.text().startswith("Up to date"), timeout=10000)
    model.set_gain("vocals", 6.0)
    assert panel.status.text() == haaqi_panel.STALE_TEXT  # not "Up to date" while it waits
    request = panel._request
    panel._finished(request - 1, (answers[0], None))  # an estimate of the old settings lands
    assert panel.status.text() == haaqi_panel.STALE_TEXT
    panel.forget_track()  # another track opens
    assert panel.engine is None and panel.result is None and not panel.timer.isActive()
    assert panel.scores.text() == haaqi_panel.FAILED_TEXT
    assert panel.status.text() == haaqi_panel.WAITING_TEXT
    assert panel.compute() is None  # nothing to score until the new engine comes


def test_no_nan_scores_for_muted_or_silent_audio(qtbot: QtBot, stems: dict,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    silent = HaaqiEstimate(float("nan"), float("nan"), "chain only", 0.0, 3.0)
    monkeypatch.setattr(haaqi_panel, "estimate", lambda *args, **kwargs: silent)
    model = MixModel()
    panel, engine, track = panel_and_track(qtbot, stems, model)
    panel.set_engine(engine, track)
    panel.timer.stop()
    assert panel.compute() is not None
    qtbot.waitUntil(lambda: panel.scores.text() == haaqi_panel.SILENT_TEXT, timeout=10000)
    assert panel.result is None and "nan" not in panel.status.text()
    for name in engine.stem_names:
        model.set_muted(name)
    panel.timer.stop()
    assert panel.compute() is None  # nothing audible: nothing to score
    assert panel.scores.text() == haaqi_panel.MUTED_TEXT
