"""Playback of one track as the original, the remix or the hearing-aid output (A/B/C).

Sources, switchable while playing:

``"original"``
    The track's mixture.
``"remix"``
    The stems with the current gains, ``sum_k plan.weights[k] * stem_k`` in the order of
    ``engine.stem_names``; the plan's weights already hold the engine's loudness match
    of the remix to the mixture. No hearing aid.
``"aided"``
    The hearing-aid output of a :class:`~remixer_app.core.stream.StreamRenderer`, read
    ``nfir / 2`` frames ahead so that the NAL-R filter's delay does not shift it in time
    against the other two.

Level matching: each source gets a gain that brings its integrated loudness (BS.1770,
gated: the measure the engine matches the remix with) to the mixture's, so switching
compares sound, not loudness. The original is the reference (gain 1) and the remix is
matched by its weights already (gain 1; so the player must get the engine's mixture).
The aided loudness of any remix is predicted from K-weighted per-block cross-powers of
the NAL-R-filtered stems (:class:`~remixer_app.core.dsp.loudness.RemixLoudness`, built
once per track; a third of the engine's own build time), in well under a millisecond,
so it is redone on the GUI thread at every settings change. It is exact for the linear
chain; the compressor and the clipper are not modelled, and as both only take level
away, with them on the aided output can come out a little quieter than the others.

Threads: every public method belongs to the GUI thread; the audio thread only runs
:meth:`Player.callback`. The GUI thread does not change what the callback reads: it
builds a new immutable ``_Params`` or a new ``_Cursor`` (a seek) and swaps it in with one
reference assignment, picked up at the next block; the one field it sets on a live cursor
is ``spare``, a cursor ready at the loop start. The callback writes only fields that
nobody else writes: its cursor's position and flags, its gain ramps, and the level meter.
The position and levels reach the GUI as such writes (an int attribute, a preallocated
(2, 2) array updated in place) rather than through a ``Queue(maxsize=1)``: its
``put_nowait`` takes a lock the GUI thread also takes, and the GUI only ever wants
the newest value, which a plain read gives it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from remixer_app.core.dsp.loudness import RemixLoudness, integrated_loudness
from remixer_app.core.dsp.nalr import NALR_TAPS
from remixer_app.core.engine import ENGINE_RATE, ChainSettings, HearingAidEngine
from remixer_app.core.playback_probe import (
    AVAILABLE_PREFIX,
    UNAVAILABLE_PREFIX,
    playback_status,
)
from remixer_app.core.stream import StreamRenderer

if TYPE_CHECKING:
    from remixer_app.core.mix_model import MixModel
    from remixer_app.core.mix_state import MixChange

Source = Literal["original", "remix", "aided"]
SOURCES: tuple[Source, ...] = ("original", "remix", "aided")
BLOCK_SIZE = 1024          # frames per device callback
AIDED_DELAY = NALR_TAPS // 2  # group delay of the linear-phase NAL-R FIR
MAX_MATCH_DB = 40.0        # a level-match gain beyond this means a near-silent source
MIN_LOOP_SECONDS = 0.1


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


@dataclass(frozen=True)
class Levels:
    """Linear peak and RMS (left, right) of the latest block sent to the device."""

    peak: tuple[float, float]
    rms: tuple[float, float]


@dataclass(frozen=True, eq=False)
class _Params:
    """What the callback reads once per block; replaced, never changed."""

    source: int
    volume: float
    match: tuple[float, float, float]  # level-match gain per source
    remix_weights: np.ndarray          # read-only
    loop: tuple[int, int] | None


class _Cursor:
    """A read position and a renderer at the same place of the track.

    The GUI thread writes only ``spare`` (a cursor at the loop start, for the callback
    to jump to at the loop end); the callback writes the rest of the cursor it plays.
    ``successor`` is set when the callback has jumped to the spare.
    """

    __slots__ = ("position", "renderer", "ended", "stale", "spare", "successor")

    def __init__(self, position: int, renderer: StreamRenderer) -> None:
        self.position = position
        self.renderer = renderer
        self.ended = False   # reached the end of the track
        self.stale = False   # wrapped without a spare: the renderer is elsewhere
        self.spare: _Cursor | None = None
        self.successor: _Cursor | None = None


def _import_sounddevice() -> ModuleType:
    """Import sounddevice (loads PortAudio); separate so tests can stand in a fake."""
    return importlib.import_module("sounddevice")


def output_devices() -> list[tuple[int, str]]:
    """``(index, name)`` of every output device; empty when there is none. Never raises."""
    try:
        devices = _import_sounddevice().query_devices()
        return [(int(d["index"]), str(d["name"])) for d in devices
                if int(d["max_output_channels"]) > 0]
    except Exception:  # no PortAudio, a broken install: both mean "no devices"
        return []


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

    Notes
    -----
    Building costs about a third of building the engine (the aided cross-powers):
    do it where the engine is built, off the GUI thread.

    States: :data:`TRANSITIONS`. ``stop()`` rewinds to the start. At the end of the
    track (and no loop) the player reads as STOPPED with the position at the end, and
    ``play()`` starts again from the beginning. ``pause()`` fades out over one block and
    ``play()`` fades in, so neither clicks; a source switch crossfades over one block.
    """

    def __init__(self, engine: HearingAidEngine, stems: Mapping[str, np.ndarray], *,
                 mixture: np.ndarray | None = None, settings: ChainSettings | None = None,
                 max_block: int = 4096) -> None:
        self.engine = engine
        self.rate = ENGINE_RATE
        self.duration = engine.input_frames
        missing = set(engine.stem_names) - set(stems)
        if missing:
            raise ValueError(f"stems lack {', '.join(sorted(missing))}")
        # float32 halves the memory of a second copy of the track; the callback widens
        # each block into float64 scratch before any arithmetic (mixed-type ufuncs buffer).
        self._stems = np.empty((len(engine.stem_names), self.duration, 2), dtype=np.float32)
        for k, name in enumerate(engine.stem_names):
            self._stems[k] = _frames(stems[name], self.duration, name)
        mix = (self._stems.sum(axis=0, dtype=np.float64) if mixture is None
               else _frames(mixture, self.duration, "mixture"))
        self._mixture = np.ascontiguousarray(mix, dtype=np.float32)
        self._mixture_lufs = integrated_loudness(mix, self.rate)
        self._aided_loudness = RemixLoudness(np.transpose(engine.aided, (0, 2, 1)), self.rate)
        self._max_block = max_block
        self._scratch = {key: np.zeros((max_block, 2)) for key in
                         ("mix", "read", "product", "remix", "aided")}
        self._ramp = np.zeros(max_block)
        self._ramp_step = np.arange(1.0, max_block + 1.0)
        self._weight = np.zeros(max_block)
        self._meter = np.zeros((4, 2))   # block peak, block sum of squares, scratch x2
        self._levels = np.zeros((2, 2))  # published: peak, rms

        self._state = PlayState.STOPPED
        self._source = 2
        self._volume = 1.0
        self._loop: tuple[int, int] | None = None
        self._level_match = True
        self._settings = self._fit(settings or ChainSettings())
        plan = engine.plan(self._settings)
        self._weights = _frozen(plan.weights)
        self._match = self._match_gains(plan.weights)
        self._cursor = self._new_cursor(0)
        # Replaced cursors are freed here, on the GUI thread, one poll later, never by
        # the callback dropping the last reference.
        self._graveyard: list[_Cursor] = []
        self._graveyard_old: list[_Cursor] = []
        self._gain_now = [0.0, 0.0, 0.0]  # callback-owned: where each ramp ended
        self._remix_now = plan.weights.copy()
        self._last_cursor: _Cursor | None = None
        self.underflows = 0
        self._publish()

        self._stream: Any = None
        self.available = False
        self.status_message = f"{UNAVAILABLE_PREFIX}: no output stream open"
        self._model: MixModel | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> PlayState:
        """The current state (STOPPED once playback has run off the end)."""
        if self._state is PlayState.PLAYING and self._head().ended:
            return PlayState.STOPPED
        return self._state

    @property
    def position(self) -> int:
        """The next frame to be played (published by the callback after each block)."""
        return self._head().position

    @property
    def mixture(self) -> np.ndarray:
        """The track's mixture, (frames, 2) float32, read-only (e.g. for a waveform)."""
        view = self._mixture.view()
        view.setflags(write=False)
        return view

    @property
    def source(self) -> Source:
        """The source being heard."""
        return SOURCES[self._source]

    @property
    def volume(self) -> float:
        """Master volume, a linear gain in 0 .. 1."""
        return self._volume

    @property
    def loop(self) -> tuple[int, int] | None:
        """The loop region ``(start, end)`` in frames, or ``None``."""
        return self._loop

    @property
    def settings(self) -> ChainSettings:
        """The chain settings being played."""
        return self._settings

    @property
    def level_gains(self) -> dict[Source, float]:
        """The linear level-match gain of each source (all 1 while matching is off)."""
        return dict(zip(SOURCES, self._match, strict=True))

    def levels(self) -> Levels:
        """Peak and RMS of the latest block (the two may come from adjacent blocks)."""
        peak, rms = self._levels.tolist()
        return Levels((peak[0], peak[1]), (rms[0], rms[1]))

    # ------------------------------------------------------------------ transport

    def play(self) -> None:
        """Play from the current position (from the start after the end of the track)."""
        self._settle()
        if self._state is not PlayState.PLAYING and self.position >= self.duration:
            self.seek(0)
        self._fire("play")

    def pause(self) -> None:
        """Pause, keeping the position; a no-op unless playing."""
        self._settle()
        self._fire("pause")

    def toggle(self) -> None:
        """Pause when playing, else play."""
        if self.state is PlayState.PLAYING:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        """Stop and rewind to the start."""
        self._settle()
        self._fire("stop")
        self.seek(0)

    def seek(self, frame: int) -> None:
        """Continue from ``frame`` (clamped to the track) at the next block."""
        self._settle()
        frame = int(np.clip(frame, 0, self.duration))
        self._replace_cursor(self._new_cursor(frame))

    def set_source(self, source: Source) -> None:
        """Switch to ``"original"``, ``"remix"`` or ``"aided"`` (``ValueError`` otherwise)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        self._source = SOURCES.index(source)
        self._publish()

    def set_volume(self, volume: float) -> None:
        """Set the master volume (linear, clamped to 0 .. 1)."""
        value = float(volume)
        if math.isnan(value):
            raise ValueError("volume must be a number")
        self._volume = min(1.0, max(0.0, value))
        self._publish()

    def set_loop(self, region: tuple[int, int] | None) -> None:
        """Loop ``(start, end)`` (frames, clamped to the track) or nothing (``None``).

        The loop applies once the position reaches ``end`` from before it; a position
        beyond ``end`` plays on to the end of the track.

        Raises
        ------
        ValueError
            The region is shorter than :data:`MIN_LOOP_SECONDS`.
        """
        if region is not None:
            start, end = (int(np.clip(x, 0, self.duration)) for x in region)
            if end - start < MIN_LOOP_SECONDS * self.rate:
                raise ValueError(f"a loop must last at least {MIN_LOOP_SECONDS} s")
            region = (start, end)
        self._loop = region
        self._publish()
        self._arm_spare(rebuild=True)

    def set_level_match(self, enabled: bool) -> None:
        """Switch level matching on or off."""
        self._level_match = bool(enabled)
        self._match = self._match_gains(self._weights)
        self._publish()

    # ------------------------------------------------------------------ settings

    def apply_settings(self, settings: ChainSettings) -> None:
        """Play with ``settings`` from the next block on (gains ramp across it)."""
        self._settings = self._fit(settings)
        self._weights = _frozen(self.engine.plan(self._settings).weights)
        self._match = self._match_gains(self._weights)
        head = self._head()
        for cursor in (head, head.spare):
            if cursor is not None:
                cursor.renderer.apply(self._settings)
        self._publish()

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
        renderer that wrapped without one back in place, and frees replaced cursors.
        """
        # Anything replaced before the previous poll is long out of the callback's hands.
        self._graveyard_old, self._graveyard = self._graveyard, []
        self._settle()
        head = self._head()
        if head is not self._cursor:  # drop the cursors the loop has jumped from
            self._bury(self._cursor)
            self._cursor = head
        if head.stale:
            self._replace_cursor(self._new_cursor(head.position))
        for cursor in (self._cursor, self._cursor.spare):
            # A loop jump can race with apply_settings() and land on a stale renderer.
            if cursor is not None and cursor.renderer.settings is not self._settings:
                cursor.renderer.apply(self._settings)
        self._arm_spare(rebuild=False)

    # ------------------------------------------------------------------ device

    def open_stream(self, device: int | str | None = None) -> bool:
        """Open and start an output stream; ``False`` with :attr:`status_message` on failure.

        Never raises: without PortAudio, without a device or with a busy one the player
        stays usable headless (:meth:`callback` driven by hand).
        """
        self.close()
        if device is None:
            ok, message = playback_status()
            if not ok:
                return self._report(False, message)
        try:
            sd = _import_sounddevice()
            stream = sd.OutputStream(samplerate=self.rate, channels=2, dtype="float32",
                                     blocksize=BLOCK_SIZE, device=device,
                                     callback=self.callback)
            stream.start()
            name = str(sd.query_devices(stream.device)["name"])
        except Exception as exc:  # PortAudioError, OSError, a bad index: all "unavailable"
            what = "the default output device" if device is None else f"device {device!r}"
            return self._report(False, f"{UNAVAILABLE_PREFIX}: cannot open {what} ({exc})")
        self._stream = stream
        return self._report(True, f"{AVAILABLE_PREFIX}: {name}")

    def close(self) -> None:
        """Stop and close the output stream (GUI thread; never from the callback)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception as exc:  # a device unplugged mid-play: closing must still succeed
            self._report(False, f"{UNAVAILABLE_PREFIX}: output stream failed ({exc})")
            return
        self._report(False, f"{UNAVAILABLE_PREFIX}: no output stream open")

    def _report(self, ok: bool, message: str) -> bool:
        self.available, self.status_message = ok, message
        return ok

    # ------------------------------------------------------------------ audio thread

    def callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """Fill ``outdata`` ((frames, 2) float32) with the next block (audio thread).

        sounddevice's signature. Allocates no buffers, takes no lock, never blocks,
        and always writes every frame (zeros when stopped, paused or past the end).
        """
        if status:
            self.underflows += 1
        p = self._params
        cursor = self._cursor
        while cursor.successor is not None:
            cursor = cursor.successor
        playing = self._state is PlayState.PLAYING
        if cursor is not self._last_cursor and not playing:
            # A stop or seek while paused: there is no sound left to fade out.
            self._gain_now[0] = self._gain_now[1] = self._gain_now[2] = 0.0
        self._last_cursor = cursor
        meter = self._meter
        meter[:2] = 0.0
        done = 0
        while done < frames and (playing or max(self._gain_now) > 0.0) and not cursor.ended:
            pos = cursor.position
            in_loop = p.loop is not None and pos <= p.loop[1]
            end = p.loop[1] if in_loop and p.loop is not None else self.duration
            if pos >= end:
                if in_loop:
                    cursor = self._wrap(cursor, p)
                else:
                    cursor.ended = True
                continue
            n = min(frames - done, end - pos, self._max_block)
            self._mix(cursor, p, playing, n)
            np.copyto(outdata[done:done + n], self._scratch["mix"][:n])
            done += n
        outdata[done:] = 0.0
        if cursor.ended:  # the next play() starts afresh, with a fade-in
            self._gain_now[0] = self._gain_now[1] = self._gain_now[2] = 0.0
        np.copyto(self._levels[0], meter[0])
        np.multiply(meter[1], 1.0 / max(frames, 1), out=meter[2])
        np.sqrt(meter[2], out=meter[2])
        np.copyto(self._levels[1], meter[2])

    def _mix(self, cursor: _Cursor, p: _Params, playing: bool, n: int) -> None:
        """Mix ``n`` frames from ``cursor`` into the mix scratch and advance it."""
        s = self._scratch
        pos = cursor.position
        np.multiply(self._ramp_step[:n], 1.0 / n, out=self._ramp[:n])
        # The aided renderer runs even when unheard, so its compressor keeps time.
        cursor.renderer.render_into(s["aided"][:n])
        mix = s["mix"][:n]
        mix.fill(0.0)
        for index in range(3):
            start = self._gain_now[index]
            target = p.volume * p.match[index] if playing and index == p.source else 0.0
            if start == 0.0 and target == 0.0:
                continue
            if index == 0:
                np.copyto(s["read"][:n], self._mixture[pos:pos + n])
                self._add(mix, s["read"][:n], start, target)
            elif index == 1:
                self._remix(pos, n, p.remix_weights)
                self._add(mix, s["remix"][:n], start, target)
            else:
                self._add(mix, s["aided"][:n], start, target)
            self._gain_now[index] = target
        np.minimum(mix, 1.0, out=mix)
        np.maximum(mix, -1.0, out=mix)
        meter = self._meter
        product = s["product"][:n]
        np.abs(mix, out=product)
        product.max(axis=0, out=meter[2])
        np.maximum(meter[0], meter[2], out=meter[0])
        np.multiply(mix, mix, out=product)
        product.sum(axis=0, out=meter[2])
        np.add(meter[1], meter[2], out=meter[1])
        cursor.position = pos + n

    def _remix(self, pos: int, n: int, weights: np.ndarray) -> None:
        remix, read = self._scratch["remix"][:n], self._scratch["read"][:n]
        remix.fill(0.0)
        for k in range(len(weights)):
            start, target = self._remix_now[k], weights[k]
            if start == 0.0 and target == 0.0:
                continue
            np.copyto(read, self._stems[k, pos:pos + n])
            self._add(remix, read, start, target)
            self._remix_now[k] = target

    def _add(self, acc: np.ndarray, signal: np.ndarray, start: float, target: float) -> None:
        """``acc += gain * signal``, the gain moving linearly from ``start`` to ``target``."""
        n = acc.shape[0]
        product = self._scratch["product"][:n]
        if start == target:
            np.multiply(signal, target, out=product)
        else:
            weight = self._weight[:n]
            np.multiply(self._ramp[:n], target - start, out=weight)
            np.add(weight, start, out=weight)
            # Per channel: a broadcast (n, 2) * (n, 1) product makes numpy buffer a copy.
            np.multiply(signal[:, 0], weight, out=product[:, 0])
            np.multiply(signal[:, 1], weight, out=product[:, 1])
        np.add(acc, product, out=acc)

    def _wrap(self, cursor: _Cursor, p: _Params) -> _Cursor:
        """Jump to the loop start: to the spare cursor the GUI thread prepared there."""
        start = p.loop[0] if p.loop is not None else 0
        spare = cursor.spare
        if spare is not None and spare.position == start and spare.successor is None:
            cursor.successor = spare
            return spare
        # No spare yet (the GUI thread is behind): the other sources jump, and poll()
        # re-seats the aided renderer that could not.
        cursor.position = start
        cursor.stale = True
        return cursor

    # ------------------------------------------------------------------ GUI-side helpers

    def _fire(self, action: str) -> bool:
        new = TRANSITIONS.get((self._state, action))
        if new is None:
            return False
        self._state = new
        return True

    def _settle(self) -> None:
        if self._state is PlayState.PLAYING and self._head().ended:
            self._state = PlayState.STOPPED

    def _head(self) -> _Cursor:
        cursor = self._cursor
        while cursor.successor is not None:
            cursor = cursor.successor
        return cursor

    def _new_cursor(self, frame: int) -> _Cursor:
        renderer = StreamRenderer(self.engine, self._settings, self._max_block)
        renderer.seek(frame + AIDED_DELAY)
        return _Cursor(frame, renderer)

    def _replace_cursor(self, cursor: _Cursor) -> None:
        self._bury(self._cursor)
        self._cursor = cursor
        self._arm_spare(rebuild=False)

    def _arm_spare(self, rebuild: bool) -> None:
        head = self._head()
        old = head.spare
        if self._loop is None:
            head.spare = None
        elif rebuild or old is None or old.position != self._loop[0]:
            head.spare = self._new_cursor(self._loop[0])
        if old is not None and head.spare is not old:
            self._bury(old)

    def _bury(self, cursor: _Cursor) -> None:
        """Keep ``cursor`` alive until poll(), so the callback never frees it."""
        self._graveyard.append(cursor)
        if len(self._graveyard) > 32:  # headless use without poll(): these are long idle
            del self._graveyard[:16]

    def _publish(self) -> None:
        self._params = _Params(self._source, self._volume, self._match, self._weights,
                               self._loop)

    def _match_gains(self, weights: np.ndarray) -> tuple[float, float, float]:
        if not self._level_match:
            return (1.0, 1.0, 1.0)
        aided_lufs = self._aided_loudness.loudness(weights)
        if not (math.isfinite(aided_lufs) and math.isfinite(self._mixture_lufs)):
            return (1.0, 1.0, 1.0)  # a silent source: nothing to match
        db = min(MAX_MATCH_DB, max(-MAX_MATCH_DB, self._mixture_lufs - aided_lufs))
        return (1.0, 1.0, 10.0 ** (db / 20.0))

    def _fit(self, settings: ChainSettings) -> ChainSettings:
        """``settings`` without gains of stems this track lacks (the model names all four)."""
        names = set(self.engine.stem_names)
        if set(settings.gains_db) <= names:
            return settings
        gains = {k: v for k, v in settings.gains_db.items() if k in names}
        return ChainSettings(gains, settings.compressor, settings.clip)


def _frames(audio: np.ndarray, frames: int, name: str) -> np.ndarray:
    """``audio`` as (frames, 2) float64; mono is duplicated to both channels."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = np.stack([x, x], axis=1)
    if x.shape != (frames, 2):
        raise ValueError(f"{name} must have shape ({frames}, 2), not {x.shape}")
    return x


def _frozen(weights: np.ndarray) -> np.ndarray:
    copy = np.array(weights, dtype=np.float64)
    copy.setflags(write=False)
    return copy
