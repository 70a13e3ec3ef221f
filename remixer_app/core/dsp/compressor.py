"""The Cadenza recipe's compressor as a compiled, resumable kernel.

The reference (pyclarity's ``Compressor``) computes a running RMS over the last
``rms_buffer_size`` seconds (zeros before the start), then moves a gain towards a
target with one-pole attack/release smoothing, one Python iteration per sample.
Here the same recurrence runs in numba and keeps its whole state (the window of
squared samples, their running sum and the current gain) in preallocated arrays,
so a signal can be processed in blocks of any size with the same result as in one
go, and the audio callback can run it without allocating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from remixer_app.core.dsp.jit import kernel

EPS = 1e-8  # added to the mean square before the square root, as the reference does
# Longest RMS window: the state holds it per ear, and seconds of averaging no longer
# follow the music (the recipe's is 64 ms).
MAX_RMS_WINDOW = 5.0


@dataclass(frozen=True)
class CompressorParams:
    """Compressor settings; the defaults are the Cadenza ICASSP 2024 recipe's.

    Attributes
    ----------
    threshold
        RMS above which the gain moves towards the compressed target.
    attenuation
        Share of the RMS above threshold that the target keeps.
    attack, release
        Smoothing time constants in milliseconds.
    rms_buffer_size
        Length of the RMS window in seconds, at most :data:`MAX_RMS_WINDOW`.
    makeup_gain
        Linear gain applied after compression.
    """

    threshold: float = 0.35
    attenuation: float = 0.1
    attack: float = 50.0
    release: float = 1000.0
    rms_buffer_size: float = 0.064
    makeup_gain: float = 1.0

    def __post_init__(self) -> None:
        values = (self.threshold, self.attenuation, self.attack, self.release,
                  self.rms_buffer_size, self.makeup_gain)
        if not all(np.isfinite(v) for v in values):
            raise ValueError("compressor parameters must be finite numbers")
        if not (self.attack > 0 and self.release > 0):
            raise ValueError("attack and release must be positive (milliseconds)")
        if not 0 < self.rms_buffer_size <= MAX_RMS_WINDOW:
            raise ValueError(f"rms_buffer_size must be positive and at most "
                             f"{MAX_RMS_WINDOW:g} seconds, not {self.rms_buffer_size:g}")
        if not 0 <= self.attenuation <= 1:
            raise ValueError("attenuation must lie in 0..1")
        if self.makeup_gain <= 0:  # 0 silences the output, below 0 inverts it
            raise ValueError("makeup_gain must be a positive linear gain")

    def window_length(self, rate: float) -> int:
        """RMS window in samples (truncated, as the reference does)."""
        return max(1, int(self.rms_buffer_size * rate))

    def check_rate(self, rate: float) -> None:
        """Check that attack and release last at least one sample at ``rate``.

        Shorter ones make the smoothing coefficient ``1000 / (ms * rate)`` exceed 1, so
        the gain overshoots its target each sample (by more each time beyond 2, where
        the output diverges to inf and NaN).

        Raises
        ------
        ValueError
            Attack or release is shorter than ``1000 / rate`` milliseconds.
        """
        shortest = 1000.0 / rate
        for name, ms in (("attack", self.attack), ("release", self.release)):
            if ms < shortest:
                raise ValueError(f"compressor {name} must be at least {shortest:.4g} ms (one "
                                 f"sample at {rate:g} Hz), not {ms:g} ms")

    def coefficients(self, rate: float) -> np.ndarray:
        """Per-sample constants for the kernel: threshold, attenuation, attack, release, makeup.

        Raises
        ------
        ValueError
            Attack or release is too short for ``rate`` (see :meth:`check_rate`).
        """
        self.check_rate(rate)
        return np.array([
            self.threshold,
            self.attenuation,
            1.0 / (self.attack / 1000.0) / rate,
            1.0 / (self.release / 1000.0) / rate,
            self.makeup_gain,
        ])


class CompressorState:
    """Running state of a multichannel compressor: RMS windows, running sums, gains.

    Parameters
    ----------
    window_length
        RMS window in samples.
    channels
        Number of independent channels (ears).
    """

    def __init__(self, window_length: int, channels: int = 1) -> None:
        self.window = np.zeros((channels, window_length))  # last squared inputs, circular
        # per channel: [running sum of squares, its rounding compensation, current gain]
        self.values = np.zeros((channels, 3))
        self.values[:, 2] = 1.0
        self.position = np.zeros(channels, dtype=np.int64)

    @property
    def window_length(self) -> int:
        """RMS window in samples."""
        return int(self.window.shape[1])


@kernel
def compress_block(signal: np.ndarray, out: np.ndarray, coeffs: np.ndarray,
                   window: np.ndarray, values: np.ndarray, position: np.ndarray,
                   apply_gain: bool) -> None:  # pragma: no cover - compiled
    """Run one channel of the compressor over ``signal`` into ``out``, carrying its state.

    ``window``, ``values`` and ``position`` are one channel's rows of a
    :class:`CompressorState` (``position`` as a length-1 slice).

    With ``apply_gain`` false the state is still advanced (so the compressor can be
    switched on mid-stream without a jump) but ``out`` receives ``signal`` unchanged.
    ``signal`` and ``out`` may be the same array.
    """
    threshold, attenuation, attack, release, makeup = (
        coeffs[0], coeffs[1], coeffs[2], coeffs[3], coeffs[4])
    length = window.shape[0]
    total, compensation, gain = values[0], values[1], values[2]
    pos = position[0]
    for i in range(signal.shape[0]):
        x = signal[i]
        # Neumaier-compensated running sum: add the new square, drop the oldest, so a
        # long track does not drift from the reference's exact window sums.
        delta = x * x - window[pos]
        window[pos] = x * x
        pos += 1
        if pos == length:
            pos = 0
        t = total + delta
        if abs(total) >= abs(delta):
            compensation += (total - t) + delta
        else:
            compensation += (delta - t) + total
        total = t
        mean_square = (total + compensation) / length
        rms = np.sqrt(max(mean_square, 0.0) + EPS)
        if rms > threshold:
            target = rms * attenuation + (1.0 - attenuation) * threshold
            gain = gain * (1.0 - attack) + target * attack
        else:
            gain = release + gain * (1.0 - release)
        out[i] = x * gain * makeup if apply_gain else x
    values[0], values[1], values[2] = total, compensation, gain
    position[0] = pos


def compress(signal: np.ndarray, params: CompressorParams, rate: float) -> np.ndarray:
    """Compress a whole mono signal from silence (the reference's ``process``)."""
    state = CompressorState(params.window_length(rate))
    x = np.ascontiguousarray(signal, dtype=np.float64)
    out = np.empty_like(x)
    compress_block(x, out, params.coefficients(rate), state.window[0], state.values[0],
                   state.position[0:1], True)
    return out
