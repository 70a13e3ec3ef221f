"""The transport state machine on its own, with the end of the track faked."""

from __future__ import annotations

import pytest

from remixer_app.core.player_transport import TRANSITIONS, PlayState, Transport


@pytest.mark.parametrize("state", list(PlayState))
@pytest.mark.parametrize("action", ["play", "pause", "stop"])
def test_every_action_follows_the_table_or_does_nothing(state: PlayState, action: str) -> None:
    transport = Transport(lambda: False)
    transport._state = state
    transport.fire(action)
    assert transport.state is TRANSITIONS.get((state, action), state)


def test_running_off_the_end_reads_and_settles_as_stopped() -> None:
    ended = [False]
    transport = Transport(lambda: ended[0])
    transport.fire("play")
    assert transport.state is PlayState.PLAYING and transport.running
    ended[0] = True
    assert transport.state is PlayState.STOPPED
    assert transport.running  # until settled; the callback sees the end on its cursor
    transport.settle()
    assert not transport.running
    transport.fire("pause")  # pausing a track that has ended does nothing
    assert transport.state is PlayState.STOPPED
