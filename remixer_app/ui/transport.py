"""The transport bar: play/pause/stop, waveform with playhead and loop, A/B/C, device, volume.

The bar never touches the audio thread: a ~30 Hz :class:`QTimer` calls
:meth:`Player.poll` and reads the position and levels the callback published, and
every control calls the player's GUI-thread methods. The same timer watches the output
stream, so that a device unplugged mid-play pauses the player and says so. The waveform
it draws on is a :class:`~remixer_app.ui.waveform.WaveformPlot`; the device drop-down is
an :class:`~remixer_app.ui.output_devices.OutputChooser`; the A/B/C buttons are a
:class:`~remixer_app.ui.source_chooser.SourceChooser` and the volume a
:class:`~remixer_app.ui.volume_control.VolumeControl`.
"""

from __future__ import annotations

import contextlib
import math

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.audio_device import output_devices
from remixer_app.core.player import Player
from remixer_app.core.player_controls import SOURCES, Source
from remixer_app.core.player_transport import PlayState
from remixer_app.ui.output_devices import DEFAULT_DEVICE_TEXT as DEFAULT_DEVICE_TEXT
from remixer_app.ui.output_devices import NO_DEVICE_TEXT as NO_DEVICE_TEXT
from remixer_app.ui.output_devices import OutputChooser
from remixer_app.ui.source_chooser import SourceChooser
from remixer_app.ui.time_format import format_duration
from remixer_app.ui.volume_control import VolumeControl
from remixer_app.ui.waveform import WaveformPlot

REFRESH_MS = 33
METER_FLOOR_DB = -60.0
DEFAULT_LOOP_SECONDS = 5.0


class TransportBar(QWidget):
    """Controls for one :class:`Player`.

    Parameters
    ----------
    player
        The player to control; the bar is disabled until one is set.
    parent
        Optional parent widget.

    Notes
    -----
    The bar owns the player's output stream, through :attr:`devices`: :meth:`set_player`
    opens it on the selected device (closing the previous player's). The space bar
    shortcut for play/pause belongs to the main window, which calls :meth:`toggle_play`
    and shows :meth:`output_status` as :attr:`output_status_changed` tells it.
    """

    #: The output's status sentence (:meth:`output_status`), whenever it changes.
    output_status_changed = Signal(str)

    def __init__(self, player: Player | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Transport")
        self.player: Player | None = None
        style = self.style()
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)

        self.play_button = QPushButton(self._play_icon, "Play")
        self.play_button.setAccessibleName("Play or pause")
        self.play_button.setToolTip("Play or pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop and go back to the start")
        self.stop_button.clicked.connect(self._stop)
        self.time_label = QLabel(f"{format_duration(0)} / {format_duration(0)}")
        self.time_label.setAccessibleName("Position")

        self.plot = WaveformPlot()
        self.plot.seekRequested.connect(self._seek_seconds)
        self.playhead, self.loop_region = self.plot.playhead, self.plot.loop_region
        self.loop_region.sigRegionChangeFinished.connect(self._region_changed)
        self.loop_button = QPushButton("Loop")
        self.loop_button.setCheckable(True)
        self.loop_button.setAccessibleName("Loop")
        self.loop_button.setToolTip("Repeat the marked part of the track; drag its edges")
        self.loop_button.toggled.connect(self._loop_toggled)

        self.sources = SourceChooser(self)
        self.sources.chosen.connect(self._choose_source)
        self.source_buttons, self.source_shortcuts = self.sources.buttons, self.sources.shortcuts
        self.source_label = self.sources.label

        # Looked up at each call: a stand-in list set on this module is used.
        self.devices = OutputChooser(lambda: output_devices(), self._playing, self)
        self.devices.status_changed.connect(self.output_status_changed)
        self.device_combo = self.devices.combo
        self.status_label = self.devices.status_label
        self.volume = VolumeControl(self)
        self.volume.changed.connect(self._volume_changed)
        self.volume_slider, self.volume_label = self.volume.slider, self.volume.label
        self.meters = [QProgressBar() for _ in range(2)]
        for meter, side in zip(self.meters, ("Left", "Right"), strict=True):
            meter.setRange(0, 100)
            meter.setTextVisible(False)
            meter.setMaximumHeight(8)
            meter.setAccessibleName(f"{side} output level")

        self._layout()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.set_player(player)

    # ------------------------------------------------------------------ building

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for widget in (self.play_button, self.stop_button, self.time_label, self.loop_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        for source in SOURCES:
            buttons.addWidget(self.source_buttons[source])
        buttons.addWidget(self.source_label)
        output = QGridLayout()
        for pair, (text, buddy) in enumerate((("Output:", self.device_combo),
                                              ("Volume:", self.volume_slider))):
            label = QLabel(text)
            label.setBuddy(buddy)
            output.addWidget(label, 0, 2 * pair)
            output.addWidget(buddy, 0, 2 * pair + 1)
        output.addWidget(self.volume_label, 0, 4)
        output.addWidget(self.status_label, 1, 0, 1, 2)
        meters = QVBoxLayout()
        for meter in self.meters:
            meters.addWidget(meter)
        output.addLayout(meters, 1, 2, 1, 3)
        column = QVBoxLayout(self)
        column.addWidget(self.plot)
        column.addLayout(buttons)
        column.addLayout(output)

    # ------------------------------------------------------------------ public API

    def set_player(self, player: Player | None) -> None:
        """Control ``player`` (``None``: nothing), opening its stream on the chosen device.

        The player takes the bar's volume and source, so they stay as the user set them.
        """
        self.player = player
        self.devices.set_port(None if player is None else player.output)
        widgets: tuple[QWidget, ...] = (self.play_button, self.stop_button, self.loop_button,
                                        self.plot, self.volume_slider,
                                        *self.source_buttons.values())
        for widget in widgets:
            widget.setEnabled(player is not None)
        if player is None:  # no track yet, or a new one being opened and fitted
            self.timer.stop()
            self.plot.set_overview(None)
            self.playhead.setValue(0.0)
            self.time_label.setText(f"{format_duration(0)} / {format_duration(0)}")
            self._show_playing(False, "Stopped")
            for meter in self.meters:
                meter.setValue(0)
            return
        self.plot.set_overview(player.overview)
        # The user's volume and source carry over to the next player (a new track or
        # fitting): a new player's full volume must not blare at a hearing-aid user.
        player.set_volume(self.volume.gain())
        chosen = self.sources.checked()
        if chosen is not None:
            player.set_source(chosen)
        self.source_buttons[player.source].setChecked(True)
        self.loop_button.setChecked(player.loop is not None)
        self.timer.start()
        self.refresh()

    def device_name(self) -> str:
        """The chosen output device's label (to remember); empty for the default device."""
        return self.devices.device_name()

    def select_device(self, name: str) -> bool:
        """Play on the output device labelled ``name`` (empty: the default); False if absent."""
        return self.devices.select(name)

    def output_status(self) -> str:
        """``"Playback available: <device>"``, or why playback is unavailable or stopped."""
        return self.devices.status()

    def toggle_play(self) -> None:
        """Pause when playing, else play if the output can (Space, the Play button).

        A closed output is opened on the chosen device first (the device list read
        afresh); when that fails the player does not start and the status says why.
        """
        player = self.player
        if player is None:
            return
        if player.state is PlayState.PLAYING:
            player.pause()
        elif self.devices.ensure_open():
            player.play()
        self.refresh()

    def refresh(self) -> None:
        """Follow the player (the timer's slot): playhead, time, button, levels, status."""
        player = self.player
        if player is None:
            return
        # The device went away mid-play, or the one chosen while playing cannot open:
        # playing on no stream would only pretend.
        if self.devices.watch() or (player.state is PlayState.PLAYING
                                    and not player.output.available):
            player.pause()
        player.poll()
        seconds = player.position / player.rate
        if not self.playhead.moving:  # never fight the user's drag
            self.playhead.setValue(seconds)
        self.time_label.setText(f"{format_duration(seconds)} / "
                                f"{format_duration(player.duration / player.rate)}")
        self._show_playing(player.state is PlayState.PLAYING, player.state.value.capitalize())
        self.sources.say(player.source)
        for meter, peak in zip(self.meters, player.levels().peak, strict=True):
            db = 20.0 * math.log10(max(peak, 1e-9))
            meter.setValue(round(100 * max(0.0, 1.0 - db / METER_FLOOR_DB)))

    def _playing(self) -> bool:
        return self.player is not None and self.player.state is PlayState.PLAYING

    def _show_playing(self, playing: bool, state: str) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)
        self.play_button.setAccessibleDescription(
            f"{state}; press to {'pause' if playing else 'play'}")

    # ------------------------------------------------------------------ slots

    def _stop(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.refresh()

    def _seek_seconds(self, seconds: float) -> None:
        if self.player is not None:
            self.player.seek(round(seconds * self.player.rate))
            self.refresh()

    def _loop_toggled(self, on: bool) -> None:
        player = self.player
        if player is None:
            return
        if on and player.loop is None:
            start = player.position / player.rate
            end = min(start + DEFAULT_LOOP_SECONDS, self.plot.duration_s)
            start = max(0.0, min(start, end - DEFAULT_LOOP_SECONDS))
            self.plot.show_region(start, end)
        elif on and player.loop is not None:
            self.plot.show_region(*(x / player.rate for x in player.loop))
        self.loop_region.setVisible(on)
        self._region_changed()

    def _region_changed(self) -> None:
        player = self.player
        if player is None:
            return
        if not self.loop_button.isChecked():
            player.set_loop(None)
            return
        start, end = (round(x * player.rate) for x in self.loop_region.getRegion())
        with contextlib.suppress(ValueError):  # too short a drag: the previous loop stays
            player.set_loop((start, end))
        # Show the loop played: the previous one, or this one as the player kept it (an
        # end at the track's end is kept short of it, to crossfade at the wrap).
        if player.loop is not None and player.loop != (start, end):
            self.plot.show_region(*(x / player.rate for x in player.loop))

    def _choose_source(self, source: Source) -> None:
        if self.player is not None:
            self.player.set_source(source)
            self.refresh()

    def _volume_changed(self, gain: float) -> None:
        if self.player is not None:
            self.player.set_volume(gain)
