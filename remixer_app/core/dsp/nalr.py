"""NAL-R prescription filters per ear.

The filter design is pyclarity's ``NALR.build`` (the reference implementation, so our
prescription is the challenge's by construction). Applying it is a full linear
convolution, as ``NALR.apply`` does (output ``len(x) + nfir`` samples, delay
``nfir / 2``); we do it with FFTs, which gives the same result to rounding error and
is what makes caching NAL-R-filtered stems for a whole track cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.signal

if TYPE_CHECKING:
    from remixer_app.core.audiogram import Audiogram

NALR_TAPS = 220  # the recipe's nfir: the FIR has NALR_TAPS + 1 coefficients
FIR_CHUNK = 1 << 16  #: input samples :func:`apply_fir_into` convolves at a time


def nalr_fir(audiogram: Audiogram, rate: float, taps: int = NALR_TAPS) -> np.ndarray:
    """The NAL-R FIR filter for one ear's audiogram (``taps + 1`` coefficients)."""
    from clarity.enhancer.nalr import NALR  # heavy import, only when a filter is built

    fir, _ = NALR(nfir=taps, sample_rate=rate).build(audiogram.to_clarity())
    return np.asarray(fir, dtype=np.float64)


def fir_response_db(fir: np.ndarray, frequencies: np.ndarray, rate: float) -> np.ndarray:
    """Magnitude response (dB) of a FIR at the given frequencies, e.g. to plot NAL-R gains."""
    _, response = scipy.signal.freqz(fir, worN=np.asarray(frequencies, dtype=float), fs=rate)
    return 20.0 * np.log10(np.maximum(np.abs(response), 1e-12))


def apply_fir(fir: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Full convolution of each channel (time first) with ``fir``, in float64."""
    x = np.asarray(signal, dtype=np.float64)
    kernel = fir if x.ndim == 1 else fir[:, None]
    return scipy.signal.oaconvolve(x, kernel, mode="full", axes=0)


def apply_fir_into(fir: np.ndarray, signal: np.ndarray, out: np.ndarray) -> None:
    """:func:`apply_fir` of a (samples,) ``signal`` into ``out`` (samples + taps,), of
    any float dtype.

    A chunk at a time, the overlaps added in float64 before ``out`` gets them: a whole
    track in one convolution holds about 40 bytes of temporaries per sample.
    """
    taps = len(fir) - 1
    tail = np.zeros(taps)
    for start in range(0, len(signal), FIR_CHUNK):
        piece = apply_fir(fir, signal[start:start + FIR_CHUNK])
        piece[:taps] += tail
        count = len(piece) - taps
        out[start:start + count] = piece[:count]
        tail = piece[count:]
    out[len(signal):] = tail
