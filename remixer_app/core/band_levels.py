"""Power spectra of signals on the display's scale: Welch spectra, 1/3-octave bands,
NAL-R gains.

Levels are in **dB FS per band**: ``10 log10(P / 0.5)`` where ``P`` is the mean-square
power in the band (an FFT bin, or a 1/3-octave band after :func:`third_octave`) and 0.5
is the power of a full-scale sine, so a full-scale sine reads 0 dB FS in its band and
band powers add up to the signal's power. We do not convert to dB SPL: the Cadenza
convention (HAAQI's ``level1``) puts each *reference mixture's* RMS at 65 dB SPL, a
per-track offset, so ``dB SPL ~= dB FS + 65 - mixture RMS in dB FS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import scipy.signal

from remixer_app.core.dsp.nalr import fir_response_db, nalr_fir

if TYPE_CHECKING:
    from remixer_app.core.audiogram import Audiogram

FULL_SCALE_SINE_POWER = 0.5
FLOOR_DB = -160.0          # silence reads this instead of -inf, so plots can autoscale
LONG_TERM_NFFT = 4096
LIVE_NFFT = 2048
SEGMENTS_PER_CHUNK = 64    # bounds the temporaries: 64 x nfft samples per channel

Reader = Callable[[int, int], np.ndarray]  # (start, stop) -> (signals, channels, frames)


def to_db(power: np.ndarray) -> np.ndarray:
    """Band powers (mean square, full scale 1) as dB FS, silence floored at FLOOR_DB."""
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(np.asarray(power, dtype=float) / FULL_SCALE_SINE_POWER)
    return np.maximum(db, FLOOR_DB)


def from_db(level_db: np.ndarray) -> np.ndarray:
    """Band powers (mean square) of levels in dB FS: the inverse of :func:`to_db`."""
    return FULL_SCALE_SINE_POWER * np.power(10.0, np.asarray(level_db, dtype=float) / 10.0)


def welch_segments(read: Reader, frames: int, nfft: int,
             tick: Callable[[], None] | None = None) -> Iterator[np.ndarray]:
    """Scaled rFFTs of Welch segments (Hann, 50 % overlap), a chunk of segments at a time.

    Yields (signals, channels, segments, bins) complex arrays scaled so that
    ``|X|^2`` averaged over segments is the power per bin (mean square, one-sided).
    A signal shorter than ``nfft`` is one segment, windowed at its own length and
    zero-padded, so short blocks keep the same scale.
    """
    length = min(frames, nfft)
    window = scipy.signal.get_window("hann", length) if length > 1 else np.ones(1)
    # Parseval with the window's power: sum of |X|^2 over all bins = mean square.
    scale = np.sqrt(1.0 / (nfft * np.sum(window ** 2)))
    one_sided = np.full(nfft // 2 + 1, np.sqrt(2.0))
    one_sided[0] = 1.0
    if nfft % 2 == 0:
        one_sided[-1] = 1.0
    hop = nfft // 2
    count = 1 if frames <= nfft else 1 + (frames - nfft) // hop
    for first in range(0, count, SEGMENTS_PER_CHUNK):
        segments = min(SEGMENTS_PER_CHUNK, count - first)
        start = first * hop
        block = np.asarray(read(start, start + (segments - 1) * hop + length), dtype=float)
        framed = np.lib.stride_tricks.sliding_window_view(block, length, axis=-1)[..., ::hop, :]
        spectrum = np.fft.rfft(framed * (window * scale), n=nfft, axis=-1)
        spectrum *= one_sided
        if tick is not None:
            tick()
        yield spectrum


def welch_power(signal: np.ndarray, nfft: int) -> tuple[np.ndarray, int]:
    """Power per bin (mean square) of a (frames,) or (frames, channels) signal, per channel."""
    x = np.asarray(signal, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"expected (frames,) or (frames, channels) audio, got {x.shape}")
    total = np.zeros((x.shape[1], nfft // 2 + 1))
    segments = 0
    for chunk in welch_segments(lambda a, b: x[a:b].T[None], x.shape[0], nfft):
        total += np.sum(chunk.real[0] ** 2 + chunk.imag[0] ** 2, axis=1)
        segments += chunk.shape[2]
    return total / segments, segments


def long_term_spectrum(signal: np.ndarray, rate: float, *,
                       nfft: int = LONG_TERM_NFFT) -> tuple[np.ndarray, np.ndarray]:
    """Welch spectrum of a whole signal, averaged over its channels.

    Parameters
    ----------
    signal
        (frames,) or (frames, channels) audio, full scale 1.
    rate
        Sample rate in Hz.
    nfft
        Segment length (Hann window, 50 % overlap); segments are transformed a chunk
        at a time, so a long track needs no large temporaries.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        Bin frequencies in Hz and the level of each bin in dB FS (see the module notes:
        bin powers add up to the signal's mean square).
    """
    power, _ = welch_power(signal, nfft)
    return np.fft.rfftfreq(nfft, 1.0 / rate), to_db(power.mean(axis=0))


def live_spectrum(block: np.ndarray, rate: float,
                  nfft: int = LIVE_NFFT) -> tuple[np.ndarray, np.ndarray]:
    """Spectrum of a short block (Hann window; zero-padded when shorter than ``nfft``).

    Same scale as :func:`long_term_spectrum`; a block longer than ``nfft`` is averaged
    over Welch segments.
    """
    return long_term_spectrum(block, rate, nfft=nfft)


def third_octave(freqs: np.ndarray, level_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum bin powers into 1/3-octave bands (base-2 centres ``1000 * 2**(k/3)`` Hz).

    Each bin above 0 Hz goes to the band whose centre is nearest on a log axis; bands
    that get no bin are left out (at the lowest frequencies bins are wider than bands).
    The total power is kept.

    Parameters
    ----------
    freqs
        Bin frequencies in Hz, shape (bins,).
    level_db
        Bin levels in dB FS, shape (..., bins).

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        Band centres in Hz, shape (bands,), and band levels in dB FS, (..., bands).
    """
    f = np.asarray(freqs, dtype=float)
    power = from_db(level_db)
    keep = f > 0
    index = np.rint(3.0 * np.log2(f[keep] / 1000.0)).astype(np.int64)
    bands, position = np.unique(index, return_inverse=True)
    summed = np.zeros((*power.shape[:-1], len(bands)))
    np.add.at(summed, (..., position), power[..., keep])  # type: ignore[arg-type]
    return 1000.0 * np.power(2.0, bands / 3.0), to_db(summed)


def nalr_gain_db(audiogram: Audiogram, freqs: np.ndarray, rate: float = 44100.0) -> np.ndarray:
    """NAL-R insertion gain (dB) of one ear's prescription at ``freqs`` (Hz).

    The filter is the engine's (pyclarity's ``NALR.build``, 220 taps); building it
    imports pyclarity, seconds the first time, then about 10 ms.
    """
    return fir_response_db(nalr_fir(audiogram, rate), np.asarray(freqs, dtype=float), rate)


def segment_chunks(frames: int, nfft: int) -> int:
    count = 1 if frames <= nfft else 1 + (frames - nfft) // (nfft // 2)
    return -(-count // SEGMENTS_PER_CHUNK)


def stereo_rows(audio: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, 2) as (2, frames) without copying the whole track."""
    x = np.asarray(audio)
    return np.stack([x, x]) if x.ndim == 1 else x.T
