"""Booth mode: a few big, safe controls for visitors at a demo stand.

A stranger gets one button per preset of the track's stems
(:func:`~remixer_app.core.mix_state.scenarios_for`),
a hearing-aid on/off switch, Play/Pause and "Start over", and nothing else: no
file dialogs, no deletions, no sliders to lose. Everything heard is also said in
words on screen (what is playing, with or without the hearing aid, which balance),
for visitors who cannot hear the difference or cannot hear the booth at all.

Text is the system font scaled up, not a fixed size, so the booth still follows the
system's font size setting. The way out (:data:`EXIT_SHORTCUT`) is deliberately
not shown; the main window connects :attr:`BoothPanel.exitRequested`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.audiogram import Listener, get_preset
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange, scenario_of, scenarios_for
from remixer_app.core.player import Player
from remixer_app.core.player_controls import Source
from remixer_app.core.player_transport import PlayState
from remixer_app.ui.track_controller import DEFAULT_LISTENER

EXIT_SHORTCUT = "Ctrl+Shift+B"
FONT_SCALE = 2.0      # controls and labels, relative to the system font
HEADLINE_SCALE = 2.6  # the "Now playing" line
REFRESH_MS = 200      # playback can end on its own; the label follows within this
#: What the "Now playing" line says is heard, per player source.
HEARD: dict[Source, str] = {"aided": "hearing aid", "remix": "remix, no hearing aid",
                            "original": "original, no hearing aid"}


def scaled_font(base: QFont, factor: float, *, bold: bool = False) -> QFont:
    """``base`` enlarged by ``factor``, whether it is sized in points or in pixels."""
    font = QFont(base)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    else:
        font.setPixelSize(round(font.pixelSize() * factor))
    font.setBold(bold)
    return font


def scenario_label(name: str) -> str:
    """The button text of a scenario, e.g. ``"Clearer vocals"``."""
    return name[:1].upper() + name[1:]


class BoothPanel(QWidget):
    """Big scenario buttons, a hearing-aid A/B switch, Play/Pause and Start over.

    Parameters
    ----------
    model
        The settings model the scenarios change.
    player
        The player to control, if a track is ready (see :meth:`set_player`).
    default_listener
        Whose hearing "Start over" goes back to; the app's default listener when
        ``None``.
    toggle_play
        What Play/Pause does (the window's transport, which opens the output device
        first and never pretends to play without one); the player's own toggle when
        ``None``.
    parent
        Optional parent widget.

    Signals
    -------
    exitRequested()
        The hidden :data:`EXIT_SHORTCUT` was pressed: the owner leaves booth mode.
    sourceChosen(str)
        The hearing-aid switch set the player's source (``"aided"`` or ``"original"``),
        so that other controls of the player can show it.

    Notes
    -----
    The panel always shows what the player plays, whoever chose it, but it chooses
    the source of a new player only while :attr:`active` (booth mode is on): out of
    booth mode the transport's choice stands.
    """

    exitRequested = Signal()
    sourceChosen = Signal(str)

    def __init__(self, model: MixModel, player: Player | None = None, *,
                 default_listener: Listener | None = None,
                 toggle_play: Callable[[], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Demo booth")
        self._toggle_play = toggle_play
        self.model = model
        self.player: Player | None = None
        self.active = False  # booth mode is on; see set_active
        self.default_listener = default_listener or get_preset(DEFAULT_LISTENER)
        self._build()
        self._apply_fonts()
        self.exit_shortcut = QShortcut(QKeySequence(EXIT_SHORTCUT), self)
        self.exit_shortcut.activated.connect(self.exitRequested.emit)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        unsubscribe = model.subscribe(self._on_change)
        # A lambda, not a method: the panel is gone when ``destroyed`` arrives.
        self.destroyed.connect(lambda *_: unsubscribe())
        self._show_mix()
        self.set_player(player)

    # ------------------------------------------------------------------ building

    def _big_button(self, text: str, name: str, description: str) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        return button

    def _build(self) -> None:
        self.now_label = QLabel()
        self.now_label.setAccessibleName("Now playing")
        self.now_label.setWordWrap(True)
        self.mix_label = QLabel()
        self.mix_label.setAccessibleName("Music balance")
        self.mix_label.setWordWrap(True)

        self.scenario_group = QButtonGroup(self)
        self.scenario_buttons: dict[str, QPushButton] = {}
        self.scenario_grid = QGridLayout()
        self._build_scenarios()

        self.aid_button = self._big_button("", "Hearing aid",
                                           "Switch between the hearing aid and the original")
        self.aid_button.setCheckable(True)
        self.aid_button.setChecked(True)
        self.aid_button.toggled.connect(self.set_hearing_aid)
        self.play_button = self._big_button("Play", "Play or pause", "Start or pause the music")
        self.play_button.clicked.connect(self.toggle_play)
        self.start_over_button = self._big_button(
            "Start over", "Start over", "Back to the start: original balance, hearing aid on, "
            "music stopped")
        self.start_over_button.clicked.connect(self.start_over)

        controls = QHBoxLayout()
        for button in (self.play_button, self.aid_button, self.start_over_button):
            controls.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.now_label)
        layout.addWidget(self.mix_label)
        layout.addLayout(self.scenario_grid, 2)
        layout.addLayout(controls, 1)

    def _build_scenarios(self) -> None:
        """One button per scenario of the model's stems, replacing any there were."""
        for button in self.scenario_buttons.values():
            self.scenario_group.removeButton(button)
            self.scenario_grid.removeWidget(button)
            button.deleteLater()
        self.scenario_buttons = {}
        for i, name in enumerate(scenarios_for(self.model.state.stems)):
            text = scenario_label(name)
            button = self._big_button(text, text, f"Play the music with {name}")
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, n=name: self.choose_scenario(n))
            self.scenario_group.addButton(button)
            self.scenario_buttons[name] = button
            self.scenario_grid.addWidget(button, i // 2, i % 2)

    def _apply_fonts(self) -> None:
        base = QGuiApplication.font()
        self.setFont(scaled_font(base, FONT_SCALE))
        self.now_label.setFont(scaled_font(base, HEADLINE_SCALE, bold=True))
        # Heights follow the font, so big text never overflows a fixed-size button.
        height = round(2.2 * self.fontMetrics().height())
        for button in (*self.scenario_buttons.values(), self.aid_button, self.play_button,
                       self.start_over_button):
            button.setMinimumHeight(height)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        """Rescale when the system font changes while the booth is up."""
        if event.type() == QEvent.Type.ApplicationFontChange:
            self._apply_fonts()
        super().changeEvent(event)

    # ------------------------------------------------------------------ public API

    def set_player(self, player: Player | None) -> None:
        """Control ``player`` (``None``: no track yet); the booth does not own its stream."""
        self.player = player
        for button in (self.play_button, self.aid_button):
            button.setEnabled(player is not None)
        if player is not None:
            if self.active:  # a track opened in the booth keeps the visitor's choice
                player.set_source("aided" if self.aid_button.isChecked() else "original")
            self.timer.start()
        else:
            self.timer.stop()
        self.refresh()

    def set_active(self, on: bool) -> None:
        """Booth mode starts (``True``) or ends; the panel takes the player's source as is."""
        self.active = on
        self.refresh()

    def choose_scenario(self, name: str) -> None:
        """Apply the preset ``name`` of the track's stems to the model."""
        self.model.apply_scenario(name)
        self._show_mix()  # also when nothing changed, so the clicked button stays right

    def set_hearing_aid(self, on: bool) -> None:
        """Hear the hearing-aid output (``True``) or the original track (``False``)."""
        if self.aid_button.isChecked() != on:
            self.aid_button.setChecked(on)  # comes back here through ``toggled``
            return
        if self.player is not None:
            self.player.set_source("aided" if on else "original")
            self.sourceChosen.emit(self.player.source)
        self.refresh()

    def toggle_play(self) -> None:
        """Pause when playing, else play."""
        if self.player is not None:
            (self._toggle_play or self.player.toggle)()
        self.refresh()

    def start_over(self) -> None:
        """Back to the start: no rebalancing, the default listener, hearing aid on, stopped.

        The compressor and clip mode are kept: they are the operator's set-up of the
        booth, not something a visitor can change.
        """
        self.model.reset()
        self.model.set_listener(self.default_listener)
        if self.player is not None:
            self.player.stop()
        self.set_hearing_aid(True)
        self._show_mix()
        self.refresh()

    # ------------------------------------------------------------------ feedback

    def _on_change(self, change: MixChange) -> None:
        if "stems" in change.fields:
            self._build_scenarios()
            self._apply_fonts()
        if change.fields & {"stems", "gains", "mute", "solo"}:
            self._show_mix()

    def _show_mix(self) -> None:
        name = scenario_of(self.model.state)
        # Not exclusive for a moment: with a custom mix no button may stay checked.
        self.scenario_group.setExclusive(False)
        for key, button in self.scenario_buttons.items():
            button.setChecked(key == name)
            # A mark as well as the pressed look: the choice is not shown by shading alone.
            button.setText(("\N{CHECK MARK} " if key == name else "") + scenario_label(key))
        self.scenario_group.setExclusive(True)
        text = scenario_label(name) if name else "Your own balance"
        self.mix_label.setText(f"Balance: {text}")

    def refresh(self) -> None:
        """Say in words what is heard now (the timer's slot)."""
        player = self.player
        if player is not None:
            # The player is the truth: the transport may have chosen its source.
            self.aid_button.blockSignals(True)  # following the player is not a choice
            self.aid_button.setChecked(player.source == "aided")
            self.aid_button.blockSignals(False)
        aided = self.aid_button.isChecked()
        self.aid_button.setText(f"Hearing aid: {'ON' if aided else 'OFF'}")
        self.aid_button.setAccessibleDescription(
            f"The hearing aid is {'on' if aided else 'off'}; press to turn it "
            f"{'off' if aided else 'on'}")
        if player is None:
            text, playing = "No music loaded yet", False
        else:
            playing = player.state is PlayState.PLAYING
            text = {PlayState.PLAYING: f"Now playing: {HEARD[player.source]}",
                    PlayState.PAUSED: "Paused",
                    PlayState.STOPPED: "Stopped: press Play"}[player.state]
        self.now_label.setText(text)
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setAccessibleDescription(f"{text}; press to "
                                                  f"{'pause' if playing else 'play'}")


__all__ = ["EXIT_SHORTCUT", "BoothPanel", "scaled_font", "scenario_label"]
