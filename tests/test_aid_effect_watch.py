"""pytest-qt tests of the watch that re-measures the aid's compressor and clipper."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.chain_settings import ENGINE_RATE  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import MixState  # noqa: E402
from remixer_app.core.player import Player  # noqa: E402
from remixer_app.core.spectra import OUTPUT_KEY, TrackSpectra  # noqa: E402
from remixer_app.ui.aid_effect_watch import AidEffectWatch  # noqa: E402
from remixer_app.ui.spectra_panel import SpectraPanel  # noqa: E402

NAMES = ("vocals", "drums", "bass", "other")


@pytest.fixture(scope="module")
def track() -> tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]:
    rng = np.random.default_rng(5)
    frames = 2 * ENGINE_RATE
    stems = {name: 0.05 * rng.standard_normal((frames, 2)) for name in NAMES}
    engine = HearingAidEngine(stems, get_preset("N3"))
    return engine, stems, TrackSpectra.compute(engine, stems, nfft=1024)


def test_a_settled_change_is_measured_for_the_player_and_redrawn(
        qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]
) -> None:
    engine, stems, spectra = track
    model = MixModel(MixState(listener=get_preset("N3")))
    player = Player(engine, stems, settings=model.chain_settings())
    player.attach(model)
    panel = SpectraPanel(model)
    qtbot.addWidget(panel)
    panel.set_track(engine, stems, spectra=spectra)
    panel.set_player(player)
    panel.show()
    watch = AidEffectWatch(model)
    watch.measured.connect(lambda _player: panel.aid_effect_changed())
    watch.set_player(player)
    clipped_output = np.array(panel.curves[OUTPUT_KEY].yData)
    clipped_gain = player.level_gains["aided"]
    clipped = player.aid_effect
    assert clipped.gain_db < -1.0 and clipped.power_gain is not None  # NAL-R's output clips

    model.set_clip("none")
    with qtbot.waitSignal(watch.measured, timeout=20_000):
        pass
    effect = player.aid_effect
    assert effect.settings is player.settings and effect.settings.clip == "none"
    assert effect.gain_db == 0.0 and effect.power_gain is None
    qtbot.waitUntil(lambda: not panel._stale, timeout=5_000)
    unclipped_output = np.array(panel.curves[OUTPUT_KEY].yData)
    assert unclipped_output.max() > clipped_output.max() + 1.0  # the curve followed
    assert player.level_gains["aided"] < 0.8 * clipped_gain


def test_a_replaced_player_gets_no_stale_measure(
        qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]
) -> None:
    engine, stems, _ = track
    model = MixModel(MixState(listener=get_preset("N3")))
    first = Player(engine, stems, settings=model.chain_settings())
    watch = AidEffectWatch(model)
    watch.set_player(first)
    model.set_gains({"drums": 20.0})
    before = first.aid_effect
    watch.set_player(None)  # e.g. a new track opens before the change settles
    qtbot.wait(2 * watch.timer.interval())
    assert first.aid_effect is before and watch.measure() is None


def test_a_player_whose_settings_moved_on_while_built_is_measured_again(
        qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray], TrackSpectra]
) -> None:
    engine, stems, _ = track
    model = MixModel(MixState(listener=get_preset("N3")))
    player = Player(engine, stems, settings=model.chain_settings())  # built at 0 dB...
    model.set_gains({"drums": 12.0, "vocals": -12.0})  # ...moved before it was handed over
    watch = AidEffectWatch(model)
    with qtbot.waitSignal(watch.measured, timeout=20_000):
        watch.set_player(player)
        player.attach(model)  # as the window does, after the watch has it
    assert player.aid_effect.settings == player.settings
    assert watch.measure() is None  # measured at these settings: nothing to do
