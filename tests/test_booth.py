"""Tests of the demo-booth panel (pytest-qt, offscreen) with a real, stream-less player."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QFont, QKeySequence  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.chain_settings import ENGINE_RATE  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import SCENARIOS  # noqa: E402
from remixer_app.core.player import Player, PlayState  # noqa: E402
from remixer_app.ui.booth import EXIT_SHORTCUT, BoothPanel, scaled_font  # noqa: E402
from remixer_app.ui.track_controller import DEFAULT_LISTENER  # noqa: E402


@pytest.fixture(scope="module")
def engine_and_stems() -> tuple[HearingAidEngine, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    n = 2 * ENGINE_RATE
    stems = {s: 0.03 * rng.standard_normal((n, 2)) for s in ("vocals", "drums", "bass", "other")}
    return HearingAidEngine(stems, get_preset("N3")), stems


@pytest.fixture
def player(engine_and_stems: tuple[HearingAidEngine, dict[str, np.ndarray]]) -> Player:
    engine, stems = engine_and_stems
    return Player(engine, stems)  # no stream is opened: states change all the same


@pytest.fixture
def model() -> MixModel:
    return MixModel()


@pytest.fixture
def booth(qtbot: QtBot, model: MixModel, player: Player) -> BoothPanel:
    panel = BoothPanel(model, player)
    qtbot.addWidget(panel)
    return panel


def test_scenario_buttons_change_gains(booth: BoothPanel, model: MixModel) -> None:
    assert list(booth.scenario_buttons) == list(SCENARIOS)
    assert booth.scenario_buttons["clearer vocals"].text() == "Clearer vocals"
    booth.scenario_buttons["clearer vocals"].click()
    assert booth.scenario_buttons["clearer vocals"].text() == "\N{CHECK MARK} Clearer vocals"
    assert model.state.gains_db["vocals"] == 6.0 and model.state.gains_db["drums"] == -3.0
    assert booth.scenario_buttons["clearer vocals"].isChecked()
    assert "Clearer vocals" in booth.mix_label.text()
    booth.scenario_buttons["less drums"].click()
    assert model.state.gains_db["drums"] == -10.0 and model.state.gains_db["vocals"] == 0.0
    # A change made elsewhere (the main window's sliders) is shown too.
    model.set_gain("bass", 2.0)
    assert not any(b.isChecked() for b in booth.scenario_buttons.values())
    assert "Your own balance" in booth.mix_label.text()


def test_start_over_resets_everything(booth: BoothPanel, model: MixModel,
                                      player: Player) -> None:
    model.set_listener(get_preset("S1"))
    booth.choose_scenario("more bass")
    model.set_muted("drums")
    model.set_soloed("vocals")
    booth.aid_button.click()
    booth.play_button.click()
    assert player.state is PlayState.PLAYING and player.source == "original"

    booth.start_over_button.click()
    state = model.state
    assert all(g == 0.0 for g in state.gains_db.values())
    assert not state.muted and not state.soloed
    assert model.listener == get_preset(DEFAULT_LISTENER)
    assert player.state is PlayState.STOPPED and player.position == 0
    assert player.source == "aided" and booth.aid_button.isChecked()
    assert booth.scenario_buttons["original balance"].isChecked()
    assert "Stopped" in booth.now_label.text()


def test_play_and_hearing_aid_toggle_with_feedback(booth: BoothPanel, player: Player) -> None:
    assert player.source == "aided" and "ON" in booth.aid_button.text()
    booth.play_button.click()
    assert player.state is PlayState.PLAYING
    assert booth.now_label.text() == "Now playing: hearing aid"
    assert booth.play_button.text() == "Pause"
    booth.aid_button.click()
    assert player.source == "original" and "OFF" in booth.aid_button.text()
    assert "no hearing aid" in booth.now_label.text()
    booth.play_button.click()
    assert player.state is PlayState.PAUSED and booth.now_label.text() == "Paused"


def test_the_booth_says_what_the_player_plays(qtbot: QtBot, model: MixModel,
                                              player: Player) -> None:
    player.set_source("remix")  # chosen in the transport before booth mode
    panel = BoothPanel(model, player)
    qtbot.addWidget(panel)
    panel.set_active(True)
    assert player.source == "remix"  # the booth does not override the transport
    panel.play_button.click()
    assert panel.now_label.text() == "Now playing: remix, no hearing aid"
    assert not panel.aid_button.isChecked() and "OFF" in panel.aid_button.text()
    player.set_source("aided")  # changed elsewhere: the booth follows the player
    panel.refresh()
    assert panel.now_label.text() == "Now playing: hearing aid"
    assert panel.aid_button.isChecked()


def test_the_booth_chooses_a_new_players_source_only_in_booth_mode(
        booth: BoothPanel, engine_and_stems: tuple[HearingAidEngine, dict[str, np.ndarray]]
) -> None:
    engine, stems = engine_and_stems
    chosen = []
    booth.sourceChosen.connect(chosen.append)
    booth.set_active(True)
    booth.aid_button.click()  # a visitor turns the hearing aid off
    assert chosen == ["original"]
    in_booth = Player(engine, stems)
    booth.set_player(in_booth)  # a track that opened during booth mode
    assert in_booth.source == "original"
    booth.set_active(False)
    after = Player(engine, stems)
    after.set_source("remix")
    booth.set_player(after)  # back in normal mode the transport's choice stands
    assert after.source == "remix" and not booth.aid_button.isChecked()


def test_without_player(qtbot: QtBot, model: MixModel, player: Player) -> None:
    panel = BoothPanel(model)
    qtbot.addWidget(panel)
    assert not panel.play_button.isEnabled() and not panel.aid_button.isEnabled()
    assert "No music" in panel.now_label.text()
    panel.start_over()  # must not fail with no track
    panel.set_player(player)
    assert panel.play_button.isEnabled() and "Stopped" in panel.now_label.text()


def test_exit_shortcut_emits(qtbot: QtBot, booth: BoothPanel) -> None:
    with qtbot.waitActive(booth):  # shortcuts only fire in the active window
        booth.show()
        booth.activateWindow()
    with qtbot.waitSignal(booth.exitRequested, timeout=1000):
        qtbot.keySequence(booth.play_button, QKeySequence(EXIT_SHORTCUT))


def test_fonts_are_large_and_follow_the_system_font(booth: BoothPanel) -> None:
    system = QApplication.font()
    for button in (booth.play_button, booth.start_over_button,
                   *booth.scenario_buttons.values()):
        assert button.font().pointSizeF() >= 1.5 * system.pointSizeF()
        assert button.minimumHeight() > 2 * button.fontMetrics().height()
    assert booth.now_label.font().pointSizeF() > booth.play_button.font().pointSizeF()
    pixel_font = QFont(system)
    pixel_font.setPixelSize(10)
    assert scaled_font(pixel_font, 2.0).pixelSize() == 20


def test_accessible_and_safe(booth: BoothPanel) -> None:
    buttons = booth.findChildren(QPushButton)
    assert buttons and all(b.accessibleName() for b in buttons)
    # Only the booth's own controls: nothing that opens files or deletes.
    names = {b.accessibleName() for b in buttons}
    assert names == {"Original balance", "Clearer vocals", "Less drums", "More bass",
                     "Hearing aid", "Play or pause", "Start over"}


def test_a_classical_track_gets_a_scenario_per_instrument(booth: BoothPanel,
                                                          model: MixModel) -> None:
    model.set_stems(("cello", "violin"))
    assert list(booth.scenario_buttons) == ["original balance", "more cello", "more violin"]
    booth.scenario_buttons["more violin"].click()
    assert model.state.gains_db["violin"] > 0 and booth.mix_label.text() == "Balance: More violin"
    model.set_stems(("vocals", "drums", "bass", "other"))
    assert list(booth.scenario_buttons) == list(SCENARIOS)
