"""Playback of one track as the original, the remix or the hearing-aid output (A/B/C).

The sources (:data:`~remixer_app.core.player_controls.SOURCES`) switch while playing.
The hearing-aid output is read ``nfir / 2`` frames ahead so that the NAL-R filter's
delay does not shift it in time against the other two.

Level matching (:mod:`remixer_app.core.player_levels`) gives each source a gain that
brings its loudness to the mixture's, so switching compares sound, not loudness. The
output stream is :attr:`Player.output`, an :class:`~remixer_app.core.audio_device.OutputPort`.

Threads: every public method belongs to the GUI thread; the audio thread only runs
:meth:`Player.callback`, which mixes through a
:class:`~remixer_app.core.player_mixer.Mixer`. The GUI thread does not change what the
callback reads: it builds a new immutable ``Params``
(:mod:`remixer_app.core.player_controls`) or a new ``Cursor`` (a seek) and swaps it in
with one reference assignment, picked up at the next block; the one field it sets on a
live cursor is ``spare``, a cursor ready at the loop start
(:mod:`remixer_app.core.player_cursors` keeps this bookkeeping). The callback writes
only fields that nobody else writes: its cursor's position and flags, its gain ramps,
and the level meter. The position and levels reach the GUI as such writes (an int
attribute, a preallocated (2, 2) array updated in place) rather than through a
``Queue(maxsize=1)``: its ``put_nowait`` takes a lock the GUI thread also takes, and
the GUI only ever wants the newest value, which a plain read gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from remixer_app.core.aid_effect import AidEffect
from remixer_app.core.audio_device import OutputPort
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.overview import overview
from remixer_app.core.player_controls import Controls, Source
from remixer_app.core.player_cursors import CursorChain
from remixer_app.core.player_inputs import mixer_inputs
from remixer_app.core.player_mixer import Cursor, Mixer
from remixer_app.core.player_transport import PlayState, Transport
from remixer_app.core.progress import CancelCheck, check_cancelled
from remixer_app.core.stream import StreamRenderer

if TYPE_CHECKING:
    from remixer_app.core.mix_model import MixModel
    from remixer_app.core.mix_state import MixChange


@dataclass(frozen=True)
class Levels:
    """Linear peak and RMS (left, right) of the latest block sent to the device."""

    peak: tuple[float, float]
    rms: tuple[float, float]


class Player:
    """Plays a track as the original, the remix or the hearing-aid output.

    Parameters
    ----------
    engine
        The prepared engine of the track.
    stems
        The stems the engine was built from (name -> (frames, 2) at 44.1 kHz).
    mixture
        The mixture the engine was given; the sum of the stems when ``None``.
    settings
        Initial chain settings.
    max_block
        Largest number of frames mixed in one go (longer buffers are split).
    cancelled
        Polled between the steps of building; when it turns true,
        :class:`~remixer_app.core.errors.Cancelled` is raised.

    Notes
    -----
    Building costs about a third of building the engine (the aided cross-powers):
    do it where the engine is built, off the GUI thread.

    States: :data:`~remixer_app.core.player_transport.TRANSITIONS`. ``stop()`` rewinds
    to the start. At the end of the track (and no loop) the player reads as STOPPED with
    the position at the end, and ``play()`` starts again from the beginning. ``pause()``
    fades out over one block and ``play()`` fades in, so neither clicks; a source switch
    crossfades over one block; a seek or a loop's wrap crossfades from the old place to
    the new one, and a stop fades the old place out
    (:data:`~remixer_app.core.player_mixer.SPLICE_FRAMES`).
    """

    def __init__(self, engine: HearingAidEngine, stems: Mapping[str, np.ndarray], *,
                 mixture: np.ndarray | None = None, settings: ChainSettings | None = None,
                 max_block: int = 4096, cancelled: CancelCheck | None = None) -> None:
        self.engine = engine
        self.rate = ENGINE_RATE
        self.duration = engine.input_frames
        stems32, self._mixture = mixer_inputs(engine.stem_names, self.duration, stems, mixture)
        check_cancelled(cancelled)  # between the steps, each up to a second for a song
        self.overview = overview(self._mixture, self.rate)  # for the waveform
        self._max_block = max_block
        self._controls = Controls(engine, self._mixture, settings or ChainSettings(),
                                  cancelled)
        self._transport = Transport(lambda: self._head().ended)
        self._cursors = CursorChain(self._new_cursor)
        # callback-owned
        self._mixer = Mixer(stems32, self._mixture, self._controls.params.remix_weights,
                            max_block)
        self.underflows = 0

        #: The output stream (GUI thread): ``open(device)``, ``close()``, ``available``
        #: and ``status_message``; without a device the player still runs headless
        #: (:meth:`callback` driven by hand).
        self.output = OutputPort(self.rate, self.callback)
        self._model: MixModel | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> PlayState:
        """The current state (STOPPED once playback has run off the end)."""
        return self._transport.state

    @property
    def position(self) -> int:
        """The next frame to be played (published by the callback after each block)."""
        return self._head().position

    @property
    def mixture(self) -> np.ndarray:
        """The track's mixture, (frames, 2) float32, read-only (e.g. for the live spectrum)."""
        view = self._mixture.view()
        view.setflags(write=False)
        return view

    @property
    def source(self) -> Source:
        """The source being heard."""
        return self._controls.source

    @property
    def volume(self) -> float:
        """Master volume, a linear gain in 0 .. 1."""
        return self._controls.volume

    @property
    def loop(self) -> tuple[int, int] | None:
        """The loop region ``(start, end)`` in frames, or ``None``."""
        return self._controls.loop

    @property
    def settings(self) -> ChainSettings:
        """The chain settings being played."""
        return self._controls.settings

    @property
    def aid_effect(self) -> AidEffect:
        """What the aid adds to its linear part, as last measured (:meth:`set_aid_effect`)."""
        return self._controls.aid_effect

    @property
    def level_gains(self) -> dict[Source, float]:
        """The linear level-match gain of each source (all 1 while matching is off)."""
        return self._controls.level_gains

    def levels(self) -> Levels:
        """Peak and RMS of the latest block (the two may come from adjacent blocks)."""
        peak, rms = self._mixer.levels.tolist()
        return Levels((peak[0], peak[1]), (rms[0], rms[1]))

    # ------------------------------------------------------------------ transport

    def play(self) -> None:
        """Play from the current position (from the start after the end of the track)."""
        self._transport.settle()
        if not self._transport.running and self.position >= self.duration:
            self.seek(0)
        self._transport.fire("play")

    def pause(self) -> None:
        """Pause, keeping the position; a no-op unless playing."""
        self._transport.fire("pause")

    def toggle(self) -> None:
        """Pause when playing, else play."""
        if self.state is PlayState.PLAYING:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        """Stop and rewind to the start."""
        self._transport.fire("stop")
        self.seek(0)

    def seek(self, frame: int) -> None:
        """Continue from ``frame`` (clamped to the track) at the next block."""
        self._transport.settle()
        frame = int(np.clip(frame, 0, self.duration))
        self._cursors.replace(frame, self.loop)

    def set_source(self, source: Source) -> None:
        """Switch to ``"original"``, ``"remix"`` or ``"aided"`` (``ValueError`` otherwise)."""
        self._controls.set_source(source)

    def set_volume(self, volume: float) -> None:
        """Set the master volume (linear, clamped to 0 .. 1)."""
        self._controls.set_volume(volume)

    def set_loop(self, region: tuple[int, int] | None) -> None:
        """Loop ``(start, end)`` (frames, clamped to the track) or nothing (``None``).

        The loop applies once the position reaches ``end`` from before it; a position
        beyond ``end`` plays on to the end of the track. An ``end`` within
        :data:`~remixer_app.core.player_mixer.SPLICE_FRAMES` of the track's end is moved
        back that far (12 ms), so that the wrap crossfades into audio past it.

        Raises
        ------
        ValueError
            The region is shorter than
            :data:`~remixer_app.core.player_controls.MIN_LOOP_SECONDS`.
        """
        self._controls.set_loop(region, self.duration, self.rate)
        self._cursors.arm_spare(self.loop, rebuild=True)

    def set_level_match(self, enabled: bool) -> None:
        """Switch level matching on or off."""
        self._controls.set_level_match(enabled)

    # ------------------------------------------------------------------ settings

    def apply_settings(self, settings: ChainSettings) -> None:
        """Play with ``settings`` from the next block on (gains ramp across it)."""
        plan = self._controls.apply(settings)
        head = self._head()
        for cursor in (head, head.spare):
            if cursor is not None:
                cursor.renderer.apply_plan(plan)
        self._controls.publish()

    def set_aid_effect(self, effect: AidEffect) -> None:
        """Level-match the aided source with ``effect``, measured
        (:func:`~remixer_app.core.aid_effect.measure_aid_effect`, off the GUI thread) at
        settings played since: the compressor and the clipper take level away as the
        gains rise, which the match follows only once told."""
        self._controls.set_aid_effect(effect)

    def attach(self, model: MixModel) -> None:
        """Follow ``model``'s settings (replaces any model attached before).

        A change of listener is ignored: the engine is fitted to one listener, so the
        owner builds a new engine and player for another.
        """
        self.detach()
        self._model = model
        self._unsubscribe = model.subscribe(self._on_mix_change)
        self.apply_settings(model.chain_settings())

    def detach(self) -> None:
        """Stop following the attached model, if any."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = self._model = None

    def _on_mix_change(self, change: MixChange) -> None:
        if self._model is not None and change.fields - {"listener"}:
            self.apply_settings(self._model.chain_settings())

    # ------------------------------------------------------------------ GUI timer

    def poll(self) -> None:
        """Housekeeping the callback may not do; call it from a GUI timer (~30 Hz).

        Settles the end of the track into STOPPED, prepares the next loop jump, brings a
        cursor that met the loop's end without one back into the loop (a crossfaded
        seek), and frees replaced cursors (those the callback let go of included).
        """
        self._transport.settle()
        head = self._cursors.collect()
        if head.overran:
            self._cursors.replace(self._controls.into_loop(head.position), self.loop)
            head = self._cursors.head()
        for cursor in (head, head.spare):
            # A loop jump can race with apply_settings() and land on a stale renderer.
            if cursor is not None and cursor.renderer.settings is not self.settings:
                cursor.renderer.apply(self.settings)
        self._cursors.arm_spare(self.loop, rebuild=False)
        self._mixer.release()

    # ------------------------------------------------------------------ audio thread

    def callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """Fill ``outdata`` ((frames, 2) float32) with the next block (audio thread).

        sounddevice's signature. Allocates no buffers, takes no lock, never blocks,
        and always writes every frame (zeros when stopped, paused or past the end).
        """
        if status:
            self.underflows += 1
        self._mixer.fill(outdata, frames, self._controls.params, self._head(),
                         self._transport.running)

    # ------------------------------------------------------------------ GUI-side helpers

    def _head(self) -> Cursor:
        return self._cursors.head()

    def _new_cursor(self, frame: int) -> Cursor:
        renderer = StreamRenderer(self.engine, self.settings, self._max_block)
        renderer.seek(frame + self.engine.delay)  # the hearing aid's group delay
        return Cursor(frame, renderer)
