"""Re-masking an ensemble's stems: the mixture shared out by the stems' magnitudes.

Each stem becomes the mixture filtered by that stem's share of the stems' STFT
magnitudes in every time-frequency bin (a magnitude-ratio Wiener mask; 4096-point
periodic Hann frames, hop 1024, overlap-add). The shares sum to one in every bin, so
the new stems add up to the mixture: a listener who leaves every gain at 0 dB hears
the mixture, and what a gain change adds is the separation's error only in proportion
to the change. Where every stem is silent in a bin, the bin is shared equally.

It streams: chunks of any length go in, in order, and come out up to ``FRAME - 1``
frames later (in whole hops, once no later frame overlaps them), so cutting a track
into windows changes nothing in the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import scipy.fft

FRAME = 4096
HOP = 1024
LATENCY = FRAME - 1  #: at most this many frames of input are not yet output
_LEAD = FRAME - HOP  # frames a frame reaches past its first hop
_BLOCK = 64  # frames per FFT batch: bounds memory at a few MB whatever the chunk


def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)).astype(np.float32)


class WienerRemask:
    """Streaming remask of ``stems`` (each chunk ``(frames, 2)`` float32).

    Output lags input by up to ``LATENCY`` frames; :meth:`finish` returns the rest.
    Internally channel-major, so that every FFT frame is contiguous. ``check`` is
    called between batches of frames (a cancel check may raise there).
    """

    def __init__(self, stems: tuple[str, ...], check: Callable[[], None] = lambda: None
                 ) -> None:
        self.stems = stems
        self._check = check
        self._window = _window()
        overlaps = (self._window.astype(np.float64) ** 2).reshape(FRAME // HOP, HOP).sum(0)
        self._inverse_norm = (1.0 / overlaps).astype(np.float32)
        # Input from the next frame's start on; the track starts after _LEAD zeros.
        self._pending = {s: np.zeros((2, _LEAD), np.float32) for s in ("", *stems)}
        # Overlap-add sums for the _LEAD frames the processed frames reach past.
        self._partial = {s: np.zeros((2, _LEAD), np.float32) for s in stems}
        self._position = -_LEAD  # track frame of self._pending's first frame
        self._received = 0

    def push(self, mix: np.ndarray, estimates: Mapping[str, np.ndarray]
             ) -> tuple[int, dict[str, np.ndarray]]:
        """Add a chunk; returns ``(start, stems)``: the finished output from track frame
        ``start`` on (possibly empty)."""
        self._received += len(mix)
        self._append("", mix.T)
        for s in self.stems:
            self._append(s, estimates[s].T)
        return self._process(self._complete_frames())

    def finish(self) -> tuple[int, dict[str, np.ndarray]]:
        """The output not yet returned, up to the end of the input."""
        end = self._received
        frames = -(-(end - self._position) // HOP)  # enough to finish every real frame
        missing = max(0, (frames - 1) * HOP + FRAME - self._pending[""].shape[1])
        for s in self._pending:
            self._append(s, np.zeros((2, missing), np.float32))
        start, out = self._process(frames)
        return start, {s: v[:max(0, end - start)] for s, v in out.items()}

    def _append(self, key: str, data: np.ndarray) -> None:
        self._pending[key] = np.concatenate([self._pending[key], data], axis=1)

    def _complete_frames(self) -> int:
        available = self._pending[""].shape[1]
        return 0 if available < FRAME else (available - FRAME) // HOP + 1

    def _process(self, count: int) -> tuple[int, dict[str, np.ndarray]]:
        start = self._position
        sums = {s: np.zeros((2, count * HOP + _LEAD), np.float32) for s in self.stems}
        for s in self.stems:
            sums[s][:, :_LEAD] = self._partial[s]
        for first in range(0, count, _BLOCK):
            self._check()
            self._block(first, min(count, first + _BLOCK), sums)
        done = count * HOP
        for s in self.stems:
            self._partial[s] = sums[s][:, done:]
        for s in self._pending:
            self._pending[s] = self._pending[s][:, done:]
        self._position += done
        skip = min(done, max(0, -start))  # the zeros before the track
        out = {}
        for s in self.stems:
            finished = sums[s][:, :done].reshape(2, count, HOP) * self._inverse_norm
            out[s] = np.ascontiguousarray(finished.reshape(2, done)[:, skip:].T)
        return max(0, start), out

    def _spectra(self, signal: np.ndarray, first: int, last: int) -> np.ndarray:
        """rfft of frames ``first..last`` of channel-major ``signal``: ``(2, frames, bins)``."""
        frames = np.lib.stride_tricks.sliding_window_view(signal, FRAME, axis=1)[:, ::HOP]
        return scipy.fft.rfft(frames[:, first:last] * self._window, axis=-1)

    def _block(self, first: int, last: int, sums: dict[str, np.ndarray]) -> None:
        mix = self._spectra(self._pending[""], first, last)
        magnitudes = [np.abs(self._spectra(self._pending[s], first, last)) for s in self.stems]
        total = np.sum(magnitudes, axis=0)
        silent = total <= 0.0
        total[silent] = 1.0
        np.reciprocal(total, out=total)
        for s, share in zip(self.stems, magnitudes, strict=True):
            share *= total
            share[silent] = 1.0 / len(self.stems)
            frames = scipy.fft.irfft(share * mix, n=FRAME, axis=-1)
            frames *= self._window
            # Frame k adds its q-th hop-long quarter to hop slot k + q.
            slots = sums[s].reshape(2, -1, HOP)
            quarters = frames.reshape(2, last - first, FRAME // HOP, HOP)
            for q in range(FRAME // HOP):
                slots[:, first + q:last + q] += quarters[:, :, q]
