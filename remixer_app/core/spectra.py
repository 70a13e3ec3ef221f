"""Spectra for display: long-term and live spectra, 1/3-octave bands, NAL-R gains.

Levels are in **dB FS per band**: ``10 log10(P / 0.5)`` where ``P`` is the mean-square
power in the band (an FFT bin, or a 1/3-octave band after :func:`third_octave`) and 0.5
is the power of a full-scale sine, so a full-scale sine reads 0 dB FS in its band and
band powers add up to the signal's power. We do not convert to dB SPL: the Cadenza
convention (HAAQI's ``level1``) puts each *reference mixture's* RMS at 65 dB SPL, a
per-track offset, so ``dB SPL ~= dB FS + 65 - mixture RMS in dB FS``.

A remix is a weighted sum, and the power spectrum of a sum is not the sum of the
powers: the stems are correlated (bleed between separated stems, shared rhythm). So
:class:`TrackSpectra` keeps, per channel and frequency, the matrix of cross-powers
``S_jk = mean over Welch segments of Re(X_j conj(X_k))``. The spectrum of any
``sum_k w_k x_k`` is then the quadratic form ``w^T S w``: exact (it is what a Welch
estimate of the summed signal gives, to rounding) and instant for any gains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.signal

from remixer_app.core.dsp.nalr import fir_response_db, nalr_fir
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker

if TYPE_CHECKING:
    from remixer_app.core.audiogram import Audiogram
    from remixer_app.core.engine import HearingAidEngine

FULL_SCALE_SINE_POWER = 0.5
FLOOR_DB = -160.0          # silence reads this instead of -inf, so plots can autoscale
LONG_TERM_NFFT = 4096
LIVE_NFFT = 2048
SEGMENTS_PER_CHUNK = 64    # bounds the temporaries: 64 x nfft samples per channel
MIXTURE_KEY, OUTPUT_KEY = "mixture", "output"

Reader = Callable[[int, int], np.ndarray]  # (start, stop) -> (signals, channels, frames)


def to_db(power: np.ndarray) -> np.ndarray:
    """Band powers (mean square, full scale 1) as dB FS, silence floored at FLOOR_DB."""
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(np.asarray(power, dtype=float) / FULL_SCALE_SINE_POWER)
    return np.maximum(db, FLOOR_DB)


def from_db(level_db: np.ndarray) -> np.ndarray:
    """Band powers (mean square) of levels in dB FS: the inverse of :func:`to_db`."""
    return FULL_SCALE_SINE_POWER * np.power(10.0, np.asarray(level_db, dtype=float) / 10.0)


def _spectra(read: Reader, frames: int, nfft: int,
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


def _welch_power(signal: np.ndarray, nfft: int) -> tuple[np.ndarray, int]:
    """Power per bin (mean square) of a (frames,) or (frames, channels) signal, per channel."""
    x = np.asarray(signal, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"expected (frames,) or (frames, channels) audio, got {x.shape}")
    total = np.zeros((x.shape[1], nfft // 2 + 1))
    segments = 0
    for chunk in _spectra(lambda a, b: x[a:b].T[None], x.shape[0], nfft):
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
    power, _ = _welch_power(signal, nfft)
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


def _cross_powers(read: Reader, signals: int, frames: int, nfft: int,
                  tick: Callable[[], None]) -> np.ndarray:
    """(channels, bins, signals, signals) mean of Re(X_j conj X_k) over Welch segments."""
    total = np.zeros(0)
    segments = 0
    for chunk in _spectra(read, frames, nfft, tick):
        real, imag = chunk.real, chunk.imag
        if segments == 0:
            total = np.zeros((chunk.shape[1], chunk.shape[3], signals, signals))
        # Re(X_j conj X_k) = Xr_j Xr_k + Xi_j Xi_k; each pair once, the matrix is symmetric.
        # (A batched Gram matmul needs a transposed copy and measured slower.)
        for j in range(signals):
            for k in range(j, signals):
                pair = np.sum(real[j] * real[k] + imag[j] * imag[k], axis=1)
                total[:, :, j, k] += pair
                if k != j:
                    total[:, :, k, j] += pair
        segments += chunk.shape[2]
    return total / segments


def _segment_chunks(frames: int, nfft: int) -> int:
    count = 1 if frames <= nfft else 1 + (frames - nfft) // (nfft // 2)
    return -(-count // SEGMENTS_PER_CHUNK)


def _stereo_rows(audio: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, 2) as (2, frames) without copying the whole track."""
    x = np.asarray(audio)
    return np.stack([x, x]) if x.ndim == 1 else x.T


@dataclass(frozen=True, eq=False)
class TrackSpectra:
    """Cross-spectra of one track's stems, before and after the hearing aid.

    Attributes
    ----------
    freqs
        Bin frequencies in Hz, (bins,).
    stem_names
        The engine's stem order, which weights follow.
    inputs
        (channels, bins, stems, stems) cross-powers of the stems as they enter the
        hearing aid (per stereo channel).
    aided
        (ears, bins, stems, stems) cross-powers of the NAL-R-filtered stems
        (``engine.aided``), whose weighted sum is the output before the compressor.
    mixture
        (channels, bins) power of the mixture given to :meth:`compute`, or ``None``
        when the mixture is the plain sum of the stems (then it is ``w = 1``).
    aid_gain
        (ears, bins) power gain of the multiband (Cadenza 2) aid, whose compressor is
        the aid: its output against its input on 30 s of the track with every gain at
        0 dB (a compressor's gain depends on level, so the curve drifts a little as the
        gains move from there); ``None`` for NAL-R, which ``aided`` holds.
    """

    freqs: np.ndarray
    stem_names: tuple[str, ...]
    inputs: np.ndarray
    aided: np.ndarray
    mixture: np.ndarray | None = None
    aid_gain: np.ndarray | None = None

    @classmethod
    def compute(cls, engine: HearingAidEngine, stems: Mapping[str, np.ndarray], *,
                mixture: np.ndarray | None = None, nfft: int = LONG_TERM_NFFT,
                progress: ProgressCallback | None = None,
                cancelled: CancelCheck | None = None) -> TrackSpectra:
        """One pass over the stems and one over ``engine.aided`` (seconds for a song).

        Raises
        ------
        Cancelled
            ``cancelled()`` turned true; it is checked after each chunk of segments.
        """
        names = engine.stem_names
        missing = set(names) - set(stems)
        if missing:
            raise ValueError(f"stems lack {', '.join(sorted(missing))}")
        frames = engine.input_frames
        total = _segment_chunks(frames, nfft) + _segment_chunks(engine.output_frames, nfft)
        tracker = ProgressTracker(total, progress, cancelled)

        def tick() -> None:
            tracker.advance(1.0, "Measuring spectra")  # also raises Cancelled when asked

        def read_inputs(a: int, b: int) -> np.ndarray:
            return np.stack([_stereo_rows(stems[name][a:b]) for name in names])

        inputs = _cross_powers(read_inputs, len(names), frames, nfft, tick)
        aided = _cross_powers(lambda a, b: engine.aided[:, :, a:b], len(names),
                              engine.output_frames, nfft, tick)
        mix = None if mixture is None else _welch_power(_stereo_rows(mixture).T, nfft)[0]
        gain = None
        if engine.hearing_aid == "multiband":
            from remixer_app.core.engine import ChainSettings

            before, after = engine.excerpt(ChainSettings())
            gain = _welch_power(after, nfft)[0] / np.maximum(_welch_power(before, nfft)[0],
                                                             1e-30)
        tracker.finish("Spectra measured")
        return cls(np.fft.rfftfreq(nfft, 1.0 / engine.rate), tuple(names), inputs, aided, mix,
                   gain)

    @staticmethod
    def _form(cross: np.ndarray, weights: np.ndarray) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        # w^T S w per channel and bin; S is symmetric, so this is the exact Welch power.
        return np.einsum("j,cbjk,k->cb", w, cross, w)

    def remix_power(self, weights: np.ndarray) -> np.ndarray:
        """(channels, bins) power of ``sum_k weights[k] * stem_k`` (no hearing aid)."""
        return self._form(self.inputs, weights)

    def output_power(self, weights: np.ndarray) -> np.ndarray:
        """(ears, bins) power of the hearing-aid output (NAL-R: before the compressor)."""
        power = self._form(self.aided, weights)
        return power if self.aid_gain is None else power * self.aid_gain

    def aid_gain_db(self, freqs: np.ndarray, ear: int | None = None) -> np.ndarray:
        """The multiband aid's gain at ``freqs`` in dB (one ear's, or both ears' mean
        power gain); 0 for NAL-R, whose gain ``aided`` already holds."""
        if self.aid_gain is None:
            return np.zeros(len(freqs))
        gain = self.aid_gain.mean(axis=0) if ear is None else self.aid_gain[ear]
        return np.asarray(10.0 * np.log10(np.interp(freqs, self.freqs, gain)))

    def stem_power(self, weights: np.ndarray) -> np.ndarray:
        """(stems, channels, bins) power of each weighted stem."""
        diagonal = np.diagonal(self.inputs, axis1=2, axis2=3)  # (channels, bins, stems)
        return np.asarray(weights, dtype=float)[:, None, None] ** 2 * diagonal.transpose(2, 0, 1)

    def mixture_power(self) -> np.ndarray:
        """(channels, bins) power of the mixture."""
        if self.mixture is not None:
            return self.mixture
        return self.remix_power(np.ones(len(self.stem_names)))

    def levels(self, weights: np.ndarray, ear: int | None = None
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Name -> (freqs, dB FS) of each weighted stem, the mixture and the output.

        ``ear`` picks a channel (0 left, 1 right); ``None`` averages the two powers.
        Keys: the stem names, :data:`MIXTURE_KEY` and :data:`OUTPUT_KEY`.
        """
        def pick(power: np.ndarray) -> np.ndarray:
            return to_db(power.mean(axis=-2) if ear is None else power[..., ear, :])

        out = {name: (self.freqs, pick(p))
               for name, p in zip(self.stem_names, self.stem_power(weights), strict=True)}
        out[MIXTURE_KEY] = (self.freqs, pick(self.mixture_power()))
        out[OUTPUT_KEY] = (self.freqs, pick(self.output_power(weights)))
        return out


def stem_spectra(engine: HearingAidEngine, stems: Mapping[str, np.ndarray],
                 gains_db: Mapping[str, float], *, ear: int | None = None
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Long-term spectrum of each stem with its gain, the mixture and the output.

    The stems carry the engine's loudness-matched weights (:meth:`stem_weights`); the
    output is the weighted sum of the NAL-R-filtered stems. This measures the whole
    track; to follow gain changes, keep a :class:`TrackSpectra` and call its
    :meth:`~TrackSpectra.levels`, which is instant.
    """
    spectra = TrackSpectra.compute(engine, stems)
    return spectra.levels(engine.stem_weights(gains_db), ear)
