"""pytest-qt tests of the transport bar, driving a headless player (no sound card)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRect, Qt  # noqa: E402
from PySide6.QtGui import QAccessible, QKeySequence, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402
from test_output_device import HEADSET, SPEAKERS, FakeSounddevice, device, install  # noqa: E402

from remixer_app.core import audio_device, playback_probe  # noqa: E402
from remixer_app.core.audiogram import get_preset  # noqa: E402
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.player import Player, PlayState  # noqa: E402
from remixer_app.ui.transport import NO_DEVICE_TEXT, TransportBar  # noqa: E402
from remixer_app.ui.waveform import MIN_HEIGHT, PREFERRED_HEIGHT  # noqa: E402

RATE = ENGINE_RATE
BLOCK = 1024


@pytest.fixture(scope="module")
def track() -> tuple[HearingAidEngine, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    n = int(2.5 * RATE)
    stems = {name: 0.05 * rng.standard_normal((n, 2))
             for name in ("vocals", "drums", "bass", "other")}
    return HearingAidEngine(stems, get_preset("N3")), stems


@pytest.fixture
def no_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """sounddevice as on a machine without a sound card, wherever the tests run."""
    def query_devices(device: Any = None, kind: str | None = None) -> Any:
        if kind is None and device is None:
            return []
        raise OSError("Error querying device -1")

    def output_stream(**kwargs: Any) -> Any:
        raise OSError("Error querying device -1")

    fake = SimpleNamespace(query_devices=query_devices, OutputStream=output_stream)
    monkeypatch.setattr(playback_probe, "import_sounddevice", lambda: fake)


@pytest.fixture
def bar(qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray]],
        no_device: None) -> TransportBar:
    engine, stems = track
    widget = TransportBar(Player(engine, stems, settings=ChainSettings(clip="none")))
    qtbot.addWidget(widget)
    widget.resize(900, 250)
    widget.show()
    return widget


@pytest.fixture
def sound(monkeypatch: pytest.MonkeyPatch) -> FakeSounddevice:
    """A sound card with speakers (the default) and a USB headset."""
    # Its streams run only when a test pumps them: never taken for dead meanwhile.
    monkeypatch.setattr(audio_device, "STALL_SECONDS", math.inf)
    return install(monkeypatch, FakeSounddevice([SPEAKERS, HEADSET]))


@pytest.fixture
def sound_bar(qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray]],
              sound: FakeSounddevice) -> Iterator[TransportBar]:
    engine, stems = track
    widget = TransportBar(Player(engine, stems, settings=ChainSettings(clip="none")))
    qtbot.addWidget(widget)
    yield widget
    widget.set_player(None)  # closes its stream: the next test's PortAudio starts afresh


def listed(bar: TransportBar) -> list[str]:
    return [bar.device_combo.itemText(row) for row in range(bar.device_combo.count())]


def drive(player: Player, blocks: int) -> None:
    out = np.empty((BLOCK, 2), dtype=np.float32)
    for _ in range(blocks):
        player.callback(out, BLOCK, None, None)


def test_play_pause_button(sound_bar: TransportBar, qtbot: QtBot) -> None:
    bar = sound_bar
    player = bar.player
    assert player is not None
    button = bar.play_button
    assert button.accessibleName() and button.toolTip()
    assert button.text() == "Play"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert player.state is PlayState.PLAYING
    assert button.text() == "Pause"
    assert "Playing" in button.accessibleDescription()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert player.state is PlayState.PAUSED
    assert button.text() == "Play" and "Paused" in button.accessibleDescription()
    qtbot.mouseClick(bar.stop_button, Qt.MouseButton.LeftButton)
    assert player.state is PlayState.STOPPED and player.position == 0


def test_without_a_player_the_bar_shows_nothing_of_the_last_one(sound_bar: TransportBar,
                                                               qtbot: QtBot) -> None:
    bar = sound_bar
    player = bar.player
    assert player is not None
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    drive(player, 40)
    bar.refresh()
    assert bar.play_button.text() == "Pause" and bar.time_label.text() != "0:00 / 0:00"
    bar.set_player(None)  # a new track opening: its hearing aid is being fitted
    assert bar.play_button.text() == "Play" and "Stopped" in bar.play_button.accessibleDescription()
    assert bar.time_label.text() == "0:00 / 0:00" and bar.playhead.value() == 0.0
    assert [m.value() for m in bar.meters] == [0, 0]
    assert bar.status_label.text() == "Nothing to play yet"
    player.stop()


def test_dragging_the_playhead_seeks(bar: TransportBar) -> None:
    bar.playhead.setValue(1.25)
    bar.playhead.sigPositionChangeFinished.emit(bar.playhead)  # what a drag ends with
    assert bar.player is not None and bar.player.position == round(1.25 * RATE)
    assert bar.time_label.text() == "0:01 / 0:02"


def test_clicking_the_waveform_seeks(bar: TransportBar, qtbot: QtBot) -> None:
    view_box = bar.plot.getPlotItem().vb
    scene_point = view_box.mapViewToScene(QPointF(2.0, 0.5))
    pixel = bar.plot.mapFromScene(scene_point)
    qtbot.mouseClick(bar.plot.viewport(), Qt.MouseButton.LeftButton, pos=pixel)
    assert bar.player is not None
    assert abs(bar.player.position / RATE - 2.0) < 0.05


def test_loop_button_and_region_set_the_loop(bar: TransportBar, qtbot: QtBot) -> None:
    player = bar.player
    assert player is not None
    qtbot.mouseClick(bar.loop_button, Qt.MouseButton.LeftButton)
    assert bar.loop_region.isVisible()
    start, end = bar.loop_region.getRegion()
    assert player.loop == (round(start * RATE), round(end * RATE))
    bar.loop_region.setRegion((0.5, 1.0))  # as a drag of its edges ends
    assert player.loop == (RATE // 2, RATE)
    bar.loop_region.setRegion((0.5, 0.52))  # too short: the previous loop stays
    assert player.loop == (RATE // 2, RATE)
    assert bar.loop_region.getRegion() == (0.5, 1.0)
    qtbot.mouseClick(bar.loop_button, Qt.MouseButton.LeftButton)
    assert player.loop is None and not bar.loop_region.isVisible()


def test_source_buttons_switch_the_source(bar: TransportBar, qtbot: QtBot) -> None:
    player = bar.player
    assert player is not None
    buttons = bar.source_buttons
    assert [b.text() for b in buttons.values()] == ["Original", "Remix", "Hearing aid"]
    assert [k.key() for k in bar.source_shortcuts.values()] == [QKeySequence(k) for k in "123"]
    assert all(b.accessibleName() for b in buttons.values())
    assert buttons[player.source].isChecked()
    for source in ("remix", "original", "aided"):
        qtbot.mouseClick(buttons[source], Qt.MouseButton.LeftButton)  # type: ignore[index]
        assert player.source == source
        assert buttons[source].isChecked()  # type: ignore[index]
        assert sum(b.isChecked() for b in buttons.values()) == 1
    qtbot.mouseClick(buttons["remix"], Qt.MouseButton.LeftButton)
    assert bar.source_label.text() == "Listening to: Remix"  # in words, not only colour


def test_source_keys_switch_the_source_and_leave_the_focus(bar: TransportBar,
                                                          qtbot: QtBot) -> None:
    player = bar.player
    assert player is not None
    bar.activateWindow()
    qtbot.waitUntil(bar.isActiveWindow)
    slider = bar.volume_slider
    slider.setFocus()
    for key, source in zip("132", ("original", "aided", "remix"), strict=True):
        qtbot.keyClick(slider, key)
        assert player.source == source and bar.source_buttons[source].isChecked()
        # An A/B switch must not take a keyboard user away from the control they were on.
        assert QApplication.focusWidget() is slider
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert slider.value() == 99
    bar.set_player(None)  # the keys do nothing while there is nothing to play
    qtbot.keyClick(slider, "1")
    assert player.source == "remix"


def test_the_volume_is_shown_and_said_in_percent(bar: TransportBar) -> None:
    bar.volume_slider.setValue(40)
    assert bar.volume_label.text() == "40 %"
    interface = QAccessible.queryAccessibleInterface(bar.volume_slider)
    assert "40 %" in interface.text(QAccessible.Text.Description)


def test_keys_on_the_waveform_seek(bar: TransportBar, qtbot: QtBot) -> None:
    player = bar.player
    assert player is not None
    plot = bar.plot
    assert plot.focusPolicy() & Qt.FocusPolicy.TabFocus
    plot.setFocus()
    for key, seconds in ((Qt.Key.Key_Right, 5.0), (Qt.Key.Key_End, 2.5),
                         (Qt.Key.Key_Left, 0.0), (Qt.Key.Key_PageDown, 2.5),
                         (Qt.Key.Key_Home, 0.0)):
        qtbot.keyClick(plot, key)
        assert player.position / RATE == pytest.approx(min(seconds, 2.5), abs=1e-3), key
        bar.refresh()
    qtbot.keyClick(plot, Qt.Key.Key_Right)
    assert player.position / RATE == pytest.approx(2.5)  # clamped to the track


def test_the_focused_waveform_is_framed(bar: TransportBar, qtbot: QtBot) -> None:
    plot = bar.plot
    bar.activateWindow()
    qtbot.waitUntil(bar.isActiveWindow)
    bar.play_button.setFocus()
    plain = plot.grab().toImage()
    plot.setFocus()
    qtbot.waitUntil(plot.hasFocus)
    framed = plot.grab().toImage()
    highlight = plot.palette().color(QPalette.ColorRole.Highlight)
    assert plain.pixelColor(1, plain.height() // 2) != highlight
    assert framed.pixelColor(1, framed.height() // 2) == highlight


@pytest.mark.parametrize(("screen_height", "low", "high"),
                         [(600, MIN_HEIGHT, 90), (1080, 140, PREFERRED_HEIGHT)])
def test_the_waveform_gives_way_on_a_small_screen(bar: TransportBar,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  screen_height: int, low: int,
                                                  high: int) -> None:
    # At 1024x600 the panels above need all but ~90 px of the plot's 160 px to show
    # their Solo buttons; a large screen still gets a tall plot.
    screen = SimpleNamespace(availableGeometry=lambda: QRect(0, 0, 1920, screen_height))
    monkeypatch.setattr(bar.plot, "screen", lambda: screen)
    assert low <= bar.plot.sizeHint().height() <= high


def test_device_box_and_status_without_a_device(bar: TransportBar) -> None:
    assert bar.device_combo.count() == 1
    assert bar.device_combo.currentText() == NO_DEVICE_TEXT
    assert bar.device_combo.isEnabled()  # opening it looks for devices again
    assert bar.player is not None and not bar.player.output.available
    assert bar.status_label.text() == bar.player.output.status_message
    assert "no output device" in bar.status_label.text()


def test_timer_moves_the_playhead_after_the_callback(bar: TransportBar, qtbot: QtBot) -> None:
    player = bar.player
    assert player is not None
    player.play()
    drive(player, 60)
    expected = 60 * BLOCK / RATE
    assert bar.timer.isActive()
    qtbot.waitUntil(lambda: abs(bar.playhead.value() - expected) < 1e-9, timeout=2000)
    assert bar.time_label.text() == "0:01 / 0:02"
    assert bar.meters[0].value() > 0  # the levels of the last block


def test_the_next_player_keeps_the_users_volume_and_source(
        bar: TransportBar, track: tuple[HearingAidEngine, dict[str, np.ndarray]]) -> None:
    # A refit or a new track brings a new player; it must not start at full volume.
    bar.volume_slider.setValue(30)
    bar.source_buttons["remix"].click()
    engine, stems = track
    new = Player(engine, stems)
    assert new.volume == 1.0 and new.source == "aided"
    bar.set_player(new)
    assert bar.volume_slider.value() == 30 and new.volume == pytest.approx(0.09)
    assert new.source == "remix" and bar.source_buttons["remix"].isChecked()


def test_volume_slider(bar: TransportBar) -> None:
    bar.volume_slider.setValue(50)
    assert bar.player is not None and bar.player.volume == pytest.approx(0.25)


def test_the_waveform_draws_the_player_s_overview(bar: TransportBar) -> None:
    player = bar.player
    assert player is not None
    drawn = bar.plot.getPlotItem().listDataItems()[1]  # the column maxima
    np.testing.assert_array_equal(drawn.yData, player.overview.high)
    assert bar.plot.duration_s == pytest.approx(2.5)


def test_without_a_player_the_bar_is_disabled(bar: TransportBar) -> None:
    bar.set_player(None)
    assert not bar.play_button.isEnabled() and not bar.timer.isActive()
    cleared = bar.plot.getPlotItem().listDataItems()[1].yData
    assert cleared is None or len(cleared) == 0
    bar.refresh()  # harmless


# ---------------------------------------------------------------- the output device


def test_play_without_an_output_does_not_pretend_to_play(bar: TransportBar,
                                                         qtbot: QtBot) -> None:
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert bar.player is not None and bar.player.state is PlayState.STOPPED
    assert bar.play_button.text() == "Play"
    assert bar.status_label.text() == "Playback unavailable: no output device"


def test_toggle_play_is_what_the_window_s_space_calls(sound_bar: TransportBar,
                                                      qtbot: QtBot) -> None:
    player = sound_bar.player
    assert player is not None
    sound_bar.toggle_play()
    assert player.state is PlayState.PLAYING and sound_bar.play_button.text() == "Pause"
    sound_bar.toggle_play()
    assert player.state is PlayState.PAUSED
    empty = TransportBar()
    qtbot.addWidget(empty)
    empty.toggle_play()  # no player: nothing to do


def test_an_unplugged_device_pauses_the_player_and_says_so(sound_bar: TransportBar,
                                                           sound: FakeSounddevice,
                                                           qtbot: QtBot) -> None:
    bar, player = sound_bar, sound_bar.player
    assert player is not None
    assert bar.select_device("USB Headset")
    assert bar.output_status() == "Playback available: USB Headset"
    bar.toggle_play()
    sound.streams[-1].pump(20)
    bar.refresh()
    assert player.state is PlayState.PLAYING and player.position == 20 * BLOCK
    stopped = ('Playback stopped: the output device "USB Headset" was disconnected. '
               "Choose another output device.")
    with qtbot.waitSignal(bar.output_status_changed) as said:
        sound.unplug(4)
        bar.refresh()  # the timer's
    assert said.args == [stopped] and bar.output_status() == stopped
    assert player.state is PlayState.PAUSED and bar.play_button.text() == "Play"
    assert bar.status_label.text() == stopped
    assert listed(bar) == ["Default output device", "Speakers"]
    assert player.position == 20 * BLOCK  # Play goes on from there, on what is left
    bar.toggle_play()
    assert player.state is PlayState.PLAYING
    assert bar.output_status() == "Playback available: Speakers"


def test_opening_the_list_shows_devices_plugged_in_since(sound_bar: TransportBar,
                                                         sound: FakeSounddevice) -> None:
    bar, player = sound_bar, sound_bar.player
    assert player is not None
    sound.plug(device(7, "Bluetooth Headphones"))
    bar.refresh()
    assert "Bluetooth Headphones" not in listed(bar)
    bar.device_combo.showPopup()  # not playing: the idle stream closes for PortAudio
    bar.device_combo.hidePopup()
    assert listed(bar)[-1] == "Bluetooth Headphones" and sound.restarts == 1
    first, again = sound.streams
    assert first.calls == ["start", "stop", "close"] and again.active  # and opens again
    assert bar.status_label.text() == "Playback available: Speakers"
    bar.toggle_play()
    sound.plug(device(9, "HDMI"))
    bar.device_combo.showPopup()  # playing: the music is not cut to look for devices
    bar.device_combo.hidePopup()
    assert "HDMI" not in listed(bar) and sound.restarts == 1 and again.active
    assert player.state is PlayState.PLAYING


def test_the_choice_is_kept_by_label_when_indices_change(sound_bar: TransportBar,
                                                         sound: FakeSounddevice) -> None:
    assert sound_bar.select_device("USB Headset")
    sound.connected = [SPEAKERS, device(2, "Mic"), dict(HEADSET, index=6)]
    sound_bar.device_combo.showPopup()
    sound_bar.device_combo.hidePopup()
    assert sound_bar.device_combo.currentText() == "USB Headset"
    assert sound_bar.device_combo.currentData() == 6
    assert sound.streams[-1].info["index"] == 6 and sound.streams[-1].active


def test_play_finds_a_device_plugged_in_after_the_start(
        qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sound = install(monkeypatch, FakeSounddevice([], default=None))
    engine, stems = track
    bar = TransportBar(Player(engine, stems))
    qtbot.addWidget(bar)
    assert listed(bar) == [NO_DEVICE_TEXT] and bar.device_combo.isEnabled()
    assert bar.output_status() == "Playback unavailable: no output device"
    sound.plug(HEADSET, default=True)
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert bar.player is not None and bar.player.state is PlayState.PLAYING
    assert listed(bar) == ["Default output device", "USB Headset"]
    assert bar.output_status() == "Playback available: USB Headset"
    bar.set_player(None)


def test_same_named_devices_are_each_chosen_and_remembered_apart(
        qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = "Speakers (Realtek(R) Audio)"
    sound = install(monkeypatch, FakeSounddevice([device(3, name, hostapi=0),
                                                  device(8, name, hostapi=1),
                                                  device(12, name, hostapi=2)], 3))
    engine, stems = track
    bar = TransportBar(Player(engine, stems))
    qtbot.addWidget(bar)
    label = f"{name} (Windows DirectSound)"
    assert bar.select_device(label)
    assert bar.device_name() == label  # what the window remembers
    assert sound.streams[-1].info["index"] == 8
    assert bar.output_status() == f"Playback available: {label}"
    bar.set_player(None)


def test_a_remembered_label_finds_its_device_when_labels_change(
        qtbot: QtBot, track: tuple[HearingAidEngine, dict[str, np.ndarray]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = "Headphones (USB Audio)"
    sound = install(monkeypatch, FakeSounddevice([SPEAKERS, device(3, name, hostapi=0),
                                                  device(8, name, hostapi=2)], 0))
    engine, stems = track
    bar = TransportBar(Player(engine, stems))
    qtbot.addWidget(bar)
    # The bare name an earlier version remembered: the device, not "not available".
    assert bar.select_device(name)
    assert sound.streams[-1].info["index"] == 3
    # The label a second device of the name gave: that one gone, it keeps its device.
    assert bar.select_device(f"{name} (Windows WASAPI)")
    assert sound.streams[-1].info["index"] == 8
    bar.set_player(None)
    sound.unplug(3)
    bar.devices.refresh()
    assert listed(bar) == ["Default output device", "Speakers", name]
    assert bar.device_name() == name and bar.devices.device() == 8
    assert not bar.select_device("Headphones")  # another name: not taken for it


def test_a_missing_device_notice_promises_no_default_without_a_device(
        bar: TransportBar) -> None:
    assert not bar.select_device("USB DAC")
    assert bar.devices.missing_notice("USB DAC") == (
        "Output device 'USB DAC' is not available, and no other output device was found.")


def test_a_missing_device_notice_names_the_default_used_instead(
        sound_bar: TransportBar) -> None:
    assert not sound_bar.select_device("USB DAC")
    assert sound_bar.devices.missing_notice("USB DAC") == (
        "Output device 'USB DAC' is not available; using the default output device.")
