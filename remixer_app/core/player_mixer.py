"""The player's audio-thread half: mixing device blocks from preallocated buffers.

:class:`~remixer_app.core.player.Player` owns the state and runs on the GUI thread;
its callback hands each block to :meth:`Mixer.fill` with what the GUI thread last
published: the immutable :class:`Params` and the :class:`Cursor` to play. The mixer
writes only fields that nobody else writes: the cursor's position and flags, its own
gain ramps, and the level meter it publishes as :attr:`Mixer.levels`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    __slots__ = ("position", "renderer", "ended", "stale", "spare", "successor")

    def __init__(self, position: int, renderer: StreamRenderer) -> None:
        self.position = position
        self.renderer = renderer
        self.ended = False   # reached the end of the track
        self.stale = False   # wrapped without a spare: the renderer is elsewhere
        self.spare: Cursor | None = None
        self.successor: Cursor | None = None


class Mixer:
    """Fills device blocks with the source heard, crossfading on every change.

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
                         ("mix", "read", "product", "remix", "aided")}
        self._ramp = np.zeros(max_block)
        self._ramp_step = np.arange(1.0, max_block + 1.0)
        self._weight = np.zeros(max_block)
        self._meter = np.zeros((4, 2))   # block peak, block sum of squares, scratch x2
        #: Published after each block: peak (row 0) and RMS (row 1) of left and right.
        self.levels = np.zeros((2, 2))
        self._gain_now = [0.0, 0.0, 0.0]  # where each source's ramp ended
        self._remix_now = weights.copy()
        self._last_cursor: Cursor | None = None

    def fill(self, outdata: np.ndarray, frames: int, p: Params, cursor: Cursor,
             playing: bool) -> None:
        """Fill ``outdata`` ((frames, 2) float32) from ``cursor`` (audio thread).

        Allocates no buffers, takes no lock, never blocks, and always writes every
        frame (zeros when not ``playing`` once faded out, or past the end).
        """
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
                    cursor = _wrap(cursor, p)
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
        np.copyto(self.levels[0], meter[0])
        np.multiply(meter[1], 1.0 / max(frames, 1), out=meter[2])
        np.sqrt(meter[2], out=meter[2])
        np.copyto(self.levels[1], meter[2])

    def _mix(self, cursor: Cursor, p: Params, playing: bool, n: int) -> None:
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


def _wrap(cursor: Cursor, p: Params) -> Cursor:
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


def mixer_inputs(names: Sequence[str], frames: int, stems: Mapping[str, np.ndarray],
                 mixture: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The :class:`Mixer`'s stems (in the order of ``names``) and mixture, float32.

    Each input is (frames, 2) or mono (frames,), which is duplicated to both channels;
    the mixture is the sum of the stems when ``None``.

    Raises
    ------
    ValueError
        A stem is missing, or an input has another length or shape.
    """
    missing = set(names) - set(stems)
    if missing:
        raise ValueError(f"stems lack {', '.join(sorted(missing))}")
    # float32 halves the memory of a second copy of the track; the callback widens
    # each block into float64 scratch before any arithmetic (mixed-type ufuncs buffer).
    stems32 = np.empty((len(names), frames, 2), dtype=np.float32)
    for k, name in enumerate(names):
        stems32[k] = _frames(stems[name], frames, name)
    mix = (stems32.sum(axis=0, dtype=np.float64) if mixture is None
           else _frames(mixture, frames, "mixture"))
    return stems32, np.ascontiguousarray(mix, dtype=np.float32)


def _frames(audio: np.ndarray, frames: int, name: str) -> np.ndarray:
    """``audio`` as (frames, 2) float64; mono is duplicated to both channels."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = np.stack([x, x], axis=1)
    if x.shape != (frames, 2):
        raise ValueError(f"{name} must have shape ({frames}, 2), not {x.shape}")
    return x
