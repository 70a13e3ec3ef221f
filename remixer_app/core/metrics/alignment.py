"""Resampling to the ear model's rate and the two time alignments HAAQI makes.

* :func:`to_model_rate`: any rate to 24 kHz, level-matched (Kates's ``eb_Resamp24kHz``).
* :class:`BroadbandAlignment`: the processed signal is shifted to the reference by
  the peak of their full cross-covariance, less 2 ms for dispersion, and both are cut
  to where the reference is not silent. The reference's spectrum is computed once.
* :class:`LagSearch`: per band, the lag within +-100 ms that maximises the
  cross-correlation of the compressed envelopes (and of the BM motion). Only those
  4800 lags are needed, so the correlation is accumulated block by block with short
  FFTs (overlap-save), the reference's blocks transformed once.

Lags and their tie-breaking follow ``scipy.signal.correlate(reference, processed,
"full")`` followed by ``argmax``, as the reference implementation does.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal

from remixer_app.core.metrics.kernels import conj_multiply_sum

MODEL_RATE = 24000
DISPERSION_S = 0.002  # the broadband shift backs up this much
LAG_RANGE_S = 0.1     # per-band alignment searches +-this
_SILENCE = 0.001      # the reference is "silent" below this fraction of its peak
_LAG_BLOCK_FFT = 32768  # short FFTs stay in cache; must exceed twice the lag range


def to_model_rate(signal: np.ndarray, rate: float) -> np.ndarray:
    """``signal`` at :data:`MODEL_RATE`, RMS-matched to the input.

    Rates are rounded to whole kHz, as the reference does; a signal already at 24 kHz
    is returned as is. Downsampled signals are level-matched within 21 kHz of
    bandwidth (7th-order Chebyshev II low-passes on both sides).
    """
    target_khz = round(MODEL_RATE / 1000)
    rate_khz = round(rate / 1000)
    if rate_khz == target_khz:
        return signal
    resampled = scipy.signal.resample_poly(signal, target_khz, rate_khz)
    if rate_khz < target_khz:
        match_in, match_out = signal, resampled
    else:
        b, a = scipy.signal.cheby2(7, 30, 21 / rate_khz)
        match_in = scipy.signal.lfilter(b, a, signal, axis=0)
        b, a = scipy.signal.cheby2(7, 30, 21 / target_khz)
        match_out = scipy.signal.lfilter(b, a, resampled, axis=0)
    gain = np.sqrt(np.mean(match_in ** 2)) / np.sqrt(np.mean(match_out ** 2))
    return gain * resampled


def shift(signal: np.ndarray, delay: int, out: np.ndarray | None = None) -> np.ndarray:
    """``signal`` advanced by ``delay`` samples (delayed if negative), zero-filled.

    ``out`` may be ``signal`` itself (an in-place shift).
    """
    n = len(signal)
    if out is None:
        out = np.empty(n)
    d = min(abs(delay), n)
    if delay > 0:
        out[:n - d] = signal[d:]
        out[n - d:] = 0
    else:
        out[d:] = signal[:n - d]
        out[:d] = 0
    return out


class BroadbandAlignment:
    """The reference's side of the broadband alignment, for one signal length.

    Parameters
    ----------
    reference
        The reference at 24 kHz, already cut to the common length of both signals.

    Raises
    ------
    ValueError
        The reference is all zeros.
    """

    def __init__(self, reference: np.ndarray) -> None:
        n = len(reference)
        self.length = n
        self._fft_size = scipy.fft.next_fast_len(2 * n - 1, real=True)
        self._spectrum = scipy.fft.rfft(reference - np.mean(reference), self._fft_size)
        magnitude = np.abs(reference)
        above = np.flatnonzero(magnitude > _SILENCE * np.max(magnitude))
        if above.size == 0:
            raise ValueError("the reference signal is silent (all zeros)")
        self.start = int(above[0])
        self.stop = int(above[-1]) + 1

    def delay(self, processed: np.ndarray) -> int:
        """Samples by which ``processed`` (same length) lags the reference, less 2 ms."""
        n = self.length
        spectrum = scipy.fft.rfft(processed - np.mean(processed), self._fft_size)
        circular = scipy.fft.irfft(self._spectrum * np.conj(spectrum), self._fft_size)
        # Lags -(n-1)..n-1 in correlate("full") order: the first maximum wins ties.
        covariance = np.concatenate((circular[self._fft_size - n + 1:], circular[:n]))
        index = int(np.argmax(np.abs(covariance)))
        return int(np.rint((n - index - 1) - DISPERSION_S * MODEL_RATE))

    def align(self, processed: np.ndarray) -> np.ndarray:
        """``processed`` shifted onto the reference and cut to its non-silent span."""
        return shift(processed, self.delay(processed))[self.start:self.stop]


class LagSearch:
    """Best alignment lag of signals against one fixed reference signal.

    Parameters
    ----------
    reference
        The reference band signal (compressed envelope or BM motion).
    rate
        Sampling rate in Hz; the search covers +-:data:`LAG_RANGE_S`.
    """

    def __init__(self, reference: np.ndarray, rate: float = MODEL_RATE) -> None:
        n = len(reference)
        self.length = n
        self.lags = min(int(np.rint(LAG_RANGE_S * rate)), n)
        # Candidate lags k = -(lags-1)..lags of sum_t ref[t + k] * x[t]; fewer when the
        # signal is shorter than the range, as in the reference's slice of "full".
        self._count = min(2 * self.lags, n + self.lags - 1)
        span = 2 * self.lags - 1
        self._fft_size = max(_LAG_BLOCK_FFT, 1 << int(np.ceil(np.log2(2 * span))))
        self._block = self._fft_size - span
        blocks = -(-n // self._block)
        padded = np.zeros(blocks * self._block + span)
        padded[self.lags - 1:self.lags - 1 + n] = reference
        # Block b holds ref[b*block - (lags-1) ...], enough for every lag of its samples.
        windows = np.lib.stride_tricks.sliding_window_view(padded, self._fft_size)
        segments = windows[::self._block]
        self._spectra = scipy.fft.rfft(segments, axis=1)

    @property
    def nbytes(self) -> int:
        """Memory held for the reference."""
        return int(self._spectra.nbytes)

    def delay(self, signal: np.ndarray) -> int:
        """The delay of ``signal`` relative to the reference (positive: it lags)."""
        blocks, b, n = self._spectra.shape[0], self._block, self.length
        # Each row: one block of the signal, then zeros for the lags to run into.
        rows = np.zeros((blocks, self._fft_size))
        full = n // b
        rows[:full, :b] = signal[:full * b].reshape(full, b)
        rows[full:, :n - full * b] = signal[full * b:]
        spectra = scipy.fft.rfft(rows, axis=1, overwrite_x=True)
        # Summing per-block products in the frequency domain needs one inverse FFT.
        total = np.empty(spectra.shape[1], dtype=complex)
        conj_multiply_sum(self._spectra, spectra, total)
        correlation = scipy.fft.irfft(total, self._fft_size)[:self._count]
        return self.lags - int(np.argmax(correlation)) - 1

    def align(self, signal: np.ndarray) -> None:
        """Shift ``signal`` onto the reference, in place."""
        shift(signal, self.delay(signal), out=signal)
