"""The player's transport: stopped, playing or paused, as an explicit state machine.

Only the GUI thread changes the state. The audio callback reads whether to play; it
never writes the state. Running off the end of the track is a fact the callback
records on its cursor (``ended``); the transport reads it through ``ended`` and settles
into STOPPED on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum


class PlayState(Enum):
    """Where the player is; see :data:`TRANSITIONS`."""

    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


#: (state, action) -> next state. Pairs not listed (pause while stopped, play while
#: playing) are no-ops, so a key held down or a double click cannot do harm.
TRANSITIONS: Mapping[tuple[PlayState, str], PlayState] = {
    (PlayState.STOPPED, "play"): PlayState.PLAYING,
    (PlayState.PAUSED, "play"): PlayState.PLAYING,
    (PlayState.PLAYING, "pause"): PlayState.PAUSED,
    (PlayState.PLAYING, "stop"): PlayState.STOPPED,
    (PlayState.PAUSED, "stop"): PlayState.STOPPED,
    (PlayState.STOPPED, "stop"): PlayState.STOPPED,
}


class Transport:
    """The state, and the actions of :data:`TRANSITIONS` on it.

    ``ended`` says whether playback has run off the end of the track.
    """

    def __init__(self, ended: Callable[[], bool]) -> None:
        self._ended = ended
        self._state = PlayState.STOPPED

    @property
    def state(self) -> PlayState:
        """The current state (STOPPED once playback has run off the end)."""
        if self._state is PlayState.PLAYING and self._ended():
            return PlayState.STOPPED
        return self._state

    @property
    def running(self) -> bool:
        """Whether the callback should play (the state as set, end or not)."""
        return self._state is PlayState.PLAYING

    def fire(self, action: str) -> None:
        """Apply ``action`` (``"play"``, ``"pause"`` or ``"stop"``)."""
        self.settle()
        self._state = TRANSITIONS.get((self._state, action), self._state)

    def settle(self) -> None:
        """Record running off the end as STOPPED."""
        if self._state is PlayState.PLAYING and self._ended():
            self._state = PlayState.STOPPED
