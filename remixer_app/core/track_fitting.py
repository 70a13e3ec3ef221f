"""Fitting the hearing aid to an opened track: its engine and player, as one job.

Qt-free, so it runs in a worker: the app runs :func:`fit_track` whenever the listener
or the hearing aid changes, and hands playback over from the previous fitting's player
with :func:`continue_playback`.
"""

from __future__ import annotations

from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.instruments import HearingAid
from remixer_app.core.player import Player
from remixer_app.core.player_transport import PlayState
from remixer_app.core.progress import (
    CancelCheck,
    ProgressCallback,
    ProgressReport,
    check_cancelled,
)
from remixer_app.core.track_loader import OpenedTrack

FITTING_SHARE = 0.7  # of a fitting job's progress: the engine; the player takes the rest


def fit_track(track: OpenedTrack, listener: Listener, hearing_aid: HearingAid,
              settings: ChainSettings, *, progress: ProgressCallback,
              cancelled: CancelCheck) -> tuple[HearingAidEngine, Player]:
    """Build the engine of ``track`` fitted for ``listener``, and its player.

    Raises
    ------
    Cancelled
        ``cancelled`` said so, before or between the stages.
    """
    check_cancelled(cancelled)  # replaced while it waited for the pool
    fitting = f"fitting the hearing aid for {listener.id}"

    def fitted(report: ProgressReport) -> None:  # the engine is the first 70 %
        progress(ProgressReport(FITTING_SHARE * report.fraction, None,
                                f"{fitting}: {report.message}"))

    progress(ProgressReport(0.0, None, fitting))
    # Both stop between their stages when cancelled: the engine pool has one
    # thread, so a replaced fitting would hold up the next one to its end.
    engine = HearingAidEngine(dict(track.stems), listener, mixture=track.mixture,
                              hearing_aid=hearing_aid, players=track.players,
                              progress=fitted, cancelled=cancelled)
    progress(ProgressReport(FITTING_SHARE, None, "preparing playback"))
    # The player's loudness model is a third of the engine's cost: build it here too.
    return engine, Player(engine, track.stems, mixture=track.mixture,
                          settings=settings, cancelled=cancelled)


def continue_playback(previous: Player, player: Player) -> None:
    """Let ``player`` (a new fitting of the same track) go on where ``previous`` was:
    the same loop and position, playing if it played (the transport brings volume and
    source, its controls' values, to every player). A player of a track's first seconds
    that played to their end, before the whole was separated, plays on into the whole."""
    if previous.loop is not None:
        player.set_loop(previous.loop)
    player.seek(previous.position)
    ran_off = previous.duration < player.duration and previous.position >= previous.duration
    if previous.state is PlayState.PLAYING or ran_off:
        previous.pause()
        player.play()
