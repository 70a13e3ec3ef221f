"""The player's audio-thread half: mixing device blocks from preallocated buffers.

:class:`~remixer_app.core.player.Player` owns the state and runs on the GUI thread;
its callback hands each block to :meth:`Mixer.fill` with what the GUI thread last
published: the immutable :class:`Params` and the :class:`Cursor` to play. The mixer
writes only fields that nobody else writes: the cursor's position and flags, its own
gain ramps, and the level meter it publishes as :attr:`Mixer.levels`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from remixer_app.core.stream import StreamRenderer


@dataclass(frozen=True, eq=False)
class Params:
    """What the callback reads once per block; replaced, never changed."""

    source: int
    volume: float
    match: tuple[float, float, float]  # level-match gain per source
    remix_weights: np.ndarray          # read-only
    loop: tuple[int, int] | None


class Cursor:
    """A read position and a renderer at the same place of the track.

    The GUI thread writes only ``spare`` (a cursor at the loop start, for the callback
    to jump to at the loop end); the callback writes the rest of the cursor it plays.
    ``successor`` is set when the callback has jumped to the spare.
    """

    __slots__ = ("position", "renderer", "ended", "overran", "spare", "successor")

    def __init__(self, position: int, renderer: StreamRenderer) -> None:
        self.position = position
        self.renderer = renderer
        self.ended = False    # reached the end of the track
        self.overran = False  # met the loop's end with no spare: plays on until poll()
        self.spare: Cursor | None = None
        self.successor: Cursor | None = None


#: Frames over which a jump in the track (a seek, a stop, a loop's wrap) crossfades
#: from the old place to the new one: about 12 ms, short enough to sound immediate,
#: long enough that no jump clicks.
SPLICE_FRAMES = 512
_FADING = 2    # places left that can fade out at once; a third jump ends the faintest
_HANDOFF = 8   # cursors the callback lets go of between two polls of the GUI thread


class Mixer:
    """Fills device blocks with the source heard, crossfading on every change.

    A change of source, volume or gains ramps each gain linearly across one device
    block. A jump in the track crossfades over :data:`SPLICE_FRAMES`: each place left
    fades out from the weight it had (a jump during a jump too) while the new place
    fades in; after a stop only the fade-out is heard. The callback never drops the
    last reference to a cursor (its renderer would be freed on the audio thread): it
    hands each one it lets go of to :meth:`release`, which the GUI thread calls.

    Parameters
    ----------
    stems
        (stems, frames, 2) float32, in the order of the remix weights.
    mixture
        (frames, 2) float32.
    weights
        The remix weights in force at the start (where the remix gain ramps begin).
    max_block
        Largest number of frames mixed in one go (longer buffers are split).
    """

    def __init__(self, stems: np.ndarray, mixture: np.ndarray, weights: np.ndarray,
                 max_block: int) -> None:
        self.duration = mixture.shape[0]
        self._stems = stems
        self._mixture = mixture
        self._max_block = max_block
        self._scratch = {key: np.zeros((max_block, 2)) for key in
                         ("mix", "voice", "read", "product", "remix", "aided")}
        self._ramp = np.zeros(max_block)
        self._ramp_step = np.arange(1.0, max_block + 1.0)
        self._weight = np.zeros(max_block)
        self._envelope = np.zeros(max_block)
        self._meter = np.zeros((4, 2))   # block peak, block sum of squares, scratch x2
        #: Published after each block: peak (row 0) and RMS (row 1) of left and right.
        self.levels = np.zeros((2, 2))
        self._gain_now = [0.0, 0.0, 0.0]  # each source's gain at the start of the block
        self._gain_to = [0.0, 0.0, 0.0]   # ... and at its end
        self._remix_now = weights.copy()
        self._last_cursor: Cursor | None = None
        self._head_weight = 1.0           # the place played, fading in after a jump
        self._head_muted = False          # stopped: only the places left are heard
        self._outgoing: list[Cursor | None] = [None] * _FADING  # places left, fading out
        self._out_weight = [0.0] * _FADING
        self._handoff: list[Cursor | None] = [None] * _HANDOFF
        self._handoff_at = 0

    def fill(self, outdata: np.ndarray, frames: int, p: Params, cursor: Cursor,
             playing: bool) -> None:
        """Fill ``outdata`` ((frames, 2) float32) from ``cursor`` (audio thread).

        Allocates no buffers, takes no lock, never blocks, and always writes every
        frame (zeros when not ``playing`` once faded out, or past the end).
        """
        for index in range(3):
            self._gain_to[index] = (p.volume * p.match[index]
                                    if playing and index == p.source else 0.0)
        last = self._last_cursor
        if last is not None and cursor is not last:  # a seek, or a stop's rewind
            # Heard at the start of the block only if its gains start above 0.
            self._splice(None if last.ended or max(self._gain_now) == 0.0 else last)
            self._head_muted = not playing
        if playing:
            self._head_muted = False
        meter = self._meter
        meter[:2] = 0.0
        done = 0
        while done < frames and (playing or max(self._gain_now) > 0.0):
            if cursor.ended:  # only places left may still be fading out
                if not self._fading():
                    break
                n = min(frames - done, self._max_block)
                self._mix(cursor, p, n, done, frames, head=False)
            else:
                pos = cursor.position
                in_loop = p.loop is not None and pos <= p.loop[1] and not cursor.overran
                end = p.loop[1] if in_loop and p.loop is not None else self.duration
                if pos >= end:
                    if in_loop:
                        spare = _wrap(cursor, p)
                        if spare is not cursor:
                            self._splice(cursor)
                            cursor = spare
                    else:
                        cursor.ended = True
                    continue
                n = min(frames - done, end - pos, self._max_block)
                self._mix(cursor, p, n, done, frames, head=not self._head_muted)
            np.copyto(outdata[done:done + n], self._scratch["mix"][:n])
            done += n
        outdata[done:] = 0.0
        if cursor is not last:
            self._hand_off(last)
            self._last_cursor = cursor
        self._gain_now[:] = self._gain_to
        np.copyto(self._remix_now, p.remix_weights)
        if max(self._gain_to) == 0.0 or (cursor.ended and not self._fading()):
            # Nothing is heard from here on: the fades are over, and the next play()
            # starts afresh, fading in.
            for slot in range(_FADING):
                self._retire(slot)
            self._head_weight = 1.0
            if cursor.ended:
                self._gain_now[0] = self._gain_now[1] = self._gain_now[2] = 0.0
        np.copyto(self.levels[0], meter[0])
        np.multiply(meter[1], 1.0 / max(frames, 1), out=meter[2])
        np.sqrt(meter[2], out=meter[2])
        np.copyto(self.levels[1], meter[2])

    def release(self) -> None:
        """Drop the cursors the callback let go of (GUI thread, from poll), so that their
        renderers are freed here. Racing with the callback is harmless: a cursor handed
        off meanwhile is then dropped here too, or at the next call."""
        for slot in range(_HANDOFF):
            self._handoff[slot] = None

    def _hand_off(self, cursor: Cursor | None) -> None:
        if cursor is not None:
            self._handoff[self._handoff_at] = cursor
            self._handoff_at = (self._handoff_at + 1) % _HANDOFF

    def _fading(self) -> bool:
        return self._outgoing[0] is not None or self._outgoing[1] is not None

    def _splice(self, left: Cursor | None) -> None:
        """A jump away from ``left`` (``None``: a place not heard): it fades out from the
        weight it had while the new place fades in from silence."""
        if left is not None:
            free = 0 if self._outgoing[0] is None else 1
            if self._outgoing[free] is not None:  # two fading already: end the faintest
                free = 0 if self._out_weight[0] <= self._out_weight[1] else 1
                self._retire(free)
            self._outgoing[free] = left
            self._out_weight[free] = self._head_weight
        self._head_weight = 0.0 if left is not None or self._fading() else 1.0

    def _retire(self, slot: int) -> None:
        self._hand_off(self._outgoing[slot])
        self._outgoing[slot] = None
        self._out_weight[slot] = 0.0

    def _mix(self, cursor: Cursor, p: Params, n: int, done: int, frames: int, *,
             head: bool) -> None:
        """Mix ``n`` frames (from frame ``done`` of a ``frames`` block) into the mix scratch:
        the place played (unless ``head`` is false) and the places left fading out."""
        s = self._scratch
        # Gains ramp across the whole device block, whatever splits it.
        np.add(self._ramp_step[:n], float(done), out=self._ramp[:n])
        np.multiply(self._ramp[:n], 1.0 / frames, out=self._ramp[:n])
        mix = s["mix"][:n]
        if head:
            self._voice(cursor, p, n, mix)
            if self._head_weight < 1.0:
                self._fade(mix, self._head_weight, 1.0 / SPLICE_FRAMES)
                self._head_weight = min(1.0, self._head_weight + n / SPLICE_FRAMES)
        else:
            mix.fill(0.0)
        for slot in range(_FADING):
            left = self._outgoing[slot]
            if left is not None:
                weight = self._out_weight[slot]
                k = min(n, math.ceil(weight * SPLICE_FRAMES), self.duration - left.position)
                if k > 0:
                    voice = s["voice"][:k]
                    self._voice(left, p, k, voice)
                    self._fade(voice, weight, -1.0 / SPLICE_FRAMES)
                    np.add(mix[:k], voice, out=mix[:k])
                self._out_weight[slot] = weight - n / SPLICE_FRAMES
                if self._out_weight[slot] <= 0.0 or left.position >= self.duration:
                    self._retire(slot)
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

    def _fade(self, signal: np.ndarray, weight: float, slope: float) -> None:
        """``signal *= weight + slope * (i + 1)``, kept within 0 .. 1, in place."""
        n = signal.shape[0]
        envelope = self._envelope[:n]
        np.multiply(self._ramp_step[:n], slope, out=envelope)
        np.add(envelope, weight, out=envelope)
        np.clip(envelope, 0.0, 1.0, out=envelope)
        np.multiply(signal[:, 0], envelope, out=signal[:, 0])
        np.multiply(signal[:, 1], envelope, out=signal[:, 1])

    def _voice(self, cursor: Cursor, p: Params, n: int, into: np.ndarray) -> None:
        """The sources heard of ``cursor``'s next ``n`` frames, into ``into``; advance it."""
        s = self._scratch
        pos = cursor.position
        # The aided renderer runs even when unheard, so its compressor keeps time.
        cursor.renderer.render_into(s["aided"][:n])
        into.fill(0.0)
        for index in range(3):
            start, target = self._gain_now[index], self._gain_to[index]
            if start == 0.0 and target == 0.0:
                continue
            if index == 0:
                np.copyto(s["read"][:n], self._mixture[pos:pos + n])
                self._add(into, s["read"][:n], start, target)
            elif index == 1:
                self._remix(pos, n, p.remix_weights)
                self._add(into, s["remix"][:n], start, target)
            else:
                self._add(into, s["aided"][:n], start, target)
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

    def _add(self, acc: np.ndarray, signal: np.ndarray, start: float, target: float) -> None:
        """``acc += gain * signal``, the gain on the block's ramp from ``start`` to ``target``."""
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


def _wrap(cursor: Cursor, p: Params) -> Cursor:
    """Jump to the loop start: to the spare cursor the GUI thread prepared there.

    Without one (the GUI thread is behind) the cursor plays on past the loop's end and
    poll() brings it back with a new cursor, crossfaded like a seek: a late wrap
    rather than a hard cut in the audio.
    """
    start = p.loop[0] if p.loop is not None else 0
    spare = cursor.spare
    if spare is not None and spare.position == start and spare.successor is None:
        cursor.successor = spare
        return spare
    cursor.overran = True
    return cursor
