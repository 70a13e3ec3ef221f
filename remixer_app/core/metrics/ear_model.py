"""Kates's cochlear model as HAAQI runs it, split into a reference and a processed side.

Per band, each signal goes through the middle ear, a wide "control" gammatone that
sets the level-dependent bandwidth, the band's gammatone, OHC compression driven by
the control envelope, conversion to dB SL with IHC attenuation, and IHC adaptation.
The processed signal is aligned to the reference first broadband and then per band;
threshold noise is added to the BM motion and the bands' group delays are equalised.

Nothing about the reference depends on the processed signal except the common length
the two are cut to, so :class:`ReferenceEar` computes its side once (its envelopes,
BM motion and the FFTs the alignments need) and :func:`processed_bands` runs only the
processed side, one band at a time so that memory stays at a few band signals.

Noise comes from numpy's global generator, like the reference implementation's: all
reference bands first, then the processed bands, in band order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.signal

from remixer_app.core.audiogram import Audiogram
from remixer_app.core.dsp.nalr import apply_fir, nalr_fir
from remixer_app.core.metrics.alignment import (
    MODEL_RATE,
    BroadbandAlignment,
    LagSearch,
    shift,
)
from remixer_app.core.metrics.auditory import (
    HAAQI_FREQUENCIES,
    N_BANDS,
    SMALL,
    LossParameters,
    adjusted_bandwidth,
    center_frequencies,
    group_delay_correction,
    loss_parameters,
    rms_to_sl,
)
from remixer_app.core.metrics.kernels import (
    adapted_sl,
    apply_smoothed_gain,
    compression_gain_log,
    gammatone,
)
from remixer_app.core.metrics.noise import standard_normal

NALR_TAPS_24K = 140  # the NAL-R FIR the model adds when equalisation == 1
IHC_OVERSHOOT = 2.0
THRESHOLD_NOISE_DB = -10.0  # BM threshold noise, dB re auditory threshold
_GAIN_LOWPASS_HZ = 800.0     # smooths the compression gain (0.2 ms delay)
_NO_MOTION = np.empty(0)     # the control band's BM motion is not needed


@dataclass(frozen=True)
class Cochlea:
    """Model settings shared by both sides for one listener ear and level.

    Attributes
    ----------
    level1
        dB SPL of a signal with RMS 1.
    equalisation
        0: the reference is heard with normal hearing; 1: NAL-R is added to the
        reference; 2: the reference already has NAL-R.
    levels
        Hearing loss in dB HL at the six HAAQI frequencies.
    """

    level1: float
    equalisation: int
    levels: np.ndarray

    center_freq: ClassVar[np.ndarray] = center_frequencies(N_BANDS)

    def reference_params(self) -> LossParameters:
        """The reference's cochlea: the listener's, or a normal one for intelligibility."""
        levels = np.zeros(len(self.levels)) if self.equalisation == 0 else self.levels
        return loss_parameters(levels, self.center_freq)

    def processed_params(self) -> LossParameters:
        """The processed signal's cochlea: always the listener's."""
        return loss_parameters(self.levels, self.center_freq)

    def max_bandwidth(self) -> np.ndarray:
        """Control-filter bandwidths (those of maximal OHC damage)."""
        return loss_parameters(np.full(len(HAAQI_FREQUENCIES), 100.0), self.center_freq).bandwidth

    @property
    def noise_gain(self) -> float:
        """Linear gain of the unit-variance BM threshold noise."""
        return 10 ** ((THRESHOLD_NOISE_DB - self.level1) / 20)


def middle_ear(signal: np.ndarray, rate: float = MODEL_RATE) -> np.ndarray:
    """2-pole 350 Hz high-pass after a 1-pole 5 kHz low-pass (threshold-curve shape)."""
    b, a = scipy.signal.butter(1, 5000 / (0.5 * rate))
    low = scipy.signal.lfilter(b, a, signal)
    b, a = scipy.signal.butter(2, 350 / (0.5 * rate), "high")
    return scipy.signal.lfilter(b, a, low)


def _rms(x: np.ndarray) -> float:
    # einsum, not a BLAS dot: a threaded BLAS spins its threads for a vector product.
    return float(np.sqrt(np.einsum("i,i->", x, x) / len(x)))


class _Band:
    """Work buffers for one band of one signal, reused from band to band.

    After :meth:`compress`, ``envelope`` and ``motion`` hold the compressed envelope
    and BM motion (linear); after :meth:`adapt`, the adapted envelope in dB SL and the
    BM motion with that envelope.
    """

    def __init__(self, length: int) -> None:
        self.control = np.empty(length)
        self.envelope = np.empty(length)
        self.motion = np.empty(length)
        self.work = np.empty(length)
        self.bandwidth = self.envelope_rms = self.control_rms = 0.0
        self._lowpass = scipy.signal.butter(1, _GAIN_LOWPASS_HZ / (0.5 * MODEL_RATE))

    def compress(self, mid: np.ndarray, band: int, params: LossParameters,
                 max_bandwidth: float, cochlea: Cochlea) -> None:
        """Control filter, level-dependent bandwidth, band filter and OHC compression."""
        cf = float(cochlea.center_freq[band])
        gammatone(mid, cf, max_bandwidth, MODEL_RATE, self.control, _NO_MOTION)
        self.control_rms = _rms(self.control)
        self.bandwidth = adjusted_bandwidth(self.control_rms, params.bandwidth[band],
                                            max_bandwidth, cochlea.level1)
        gammatone(mid, cf, self.bandwidth, MODEL_RATE, self.envelope, self.motion)
        self.envelope_rms = _rms(self.envelope)
        np.maximum(self.control, SMALL, out=self.work)
        np.log10(self.work, out=self.work)
        compression_gain_log(self.work, cochlea.level1, params.low_knee[band],
                             params.attn_ohc[band], params.compression_ratio[band], self.work)
        np.exp(self.work, out=self.work)  # numpy's exp is vectorised, a jit loop's is not
        b, a = self._lowpass
        apply_smoothed_gain(self.work, b[0], b[1], a[1], self.envelope, self.motion)

    def adapt(self, attn_ihc: float, level1: float) -> None:
        """Envelope to dB SL (IHC attenuation) and IHC adaptation, BM motion alike."""
        np.add(self.envelope, SMALL, out=self.work)
        np.log10(self.work, out=self.work)
        adapted_sl(self.envelope, self.work, self.motion, level1, attn_ihc, IHC_OVERSHOOT,
                   MODEL_RATE)


class ReferenceEar:
    """The reference's side of the ear model for one common signal length.

    Parameters
    ----------
    reference
        The reference at 24 kHz, cut to the common length of both signals.
    cochlea
        Listener ear and level settings.
    summarise
        Maps one band's delay-equalised envelope (dB SL) to what is kept of it as
        ``envelope_summary`` (HAAQI: its 8-ms smoothing), so the full-rate envelopes
        need not be kept.
    """

    def __init__(self, reference: np.ndarray, cochlea: Cochlea,
                 summarise: Callable[[np.ndarray], np.ndarray]) -> None:
        self.cochlea = cochlea
        self.broadband = BroadbandAlignment(reference)
        signal = reference[self.broadband.start:self.broadband.stop]
        n = len(signal)
        if cochlea.equalisation == 1:
            signal = _with_nalr(signal, cochlea.levels)[NALR_TAPS_24K:NALR_TAPS_24K + n]
        mid = middle_ear(signal)
        params = cochlea.reference_params()
        max_bw = cochlea.max_bandwidth()
        band = _Band(n)
        self.bandwidths = np.empty(N_BANDS)
        self.envelope_rms = np.empty(N_BANDS)
        self.control_rms = np.empty(N_BANDS)
        self.envelope_search: list[LagSearch] = []
        self.motion_search: list[LagSearch] = []
        self.motion = np.empty((N_BANDS, n))  # before threshold noise and delay equalisation
        envelopes = []
        for k in range(N_BANDS):
            band.compress(mid, k, params, max_bw[k], cochlea)
            self.bandwidths[k] = band.bandwidth
            self.envelope_rms[k] = band.envelope_rms
            self.control_rms[k] = band.control_rms
            self.envelope_search.append(LagSearch(band.envelope))
            self.motion_search.append(LagSearch(band.motion))
            band.adapt(params.attn_ihc[k], cochlea.level1)
            envelopes.append(band.envelope.copy())
            self.motion[k] = band.motion
        # The delays depend on all bands' bandwidths, so the envelopes wait for them.
        self.delay_correction = group_delay_correction(self.bandwidths, cochlea.center_freq,
                                                       MODEL_RATE)
        self.envelope_summary = np.stack([summarise(self.delayed(envelopes.pop(0), k))
                                          for k in range(N_BANDS)])
        self.sl = rms_to_sl(self.envelope_rms, self.control_rms, params, cochlea.level1)

    @property
    def length(self) -> int:
        """Samples of the model output (the reference's non-silent span)."""
        return self.motion.shape[1]

    def delayed(self, row: np.ndarray, band: int, out: np.ndarray | None = None
                ) -> np.ndarray:
        """One band's signal delayed to line up with the slowest band."""
        return shift(row, -int(self.delay_correction[band]), out)

    def noisy_motion(self) -> np.ndarray:
        """All bands' BM motion with fresh threshold noise, delay-equalised.

        Draws ``bands x length`` normal deviates from numpy's global generator.
        """
        out = np.empty_like(self.motion)
        for k in range(N_BANDS):
            # Band by band in row order draws the same sequence as one (bands, n) draw.
            self.delayed(_with_noise(self.motion[k], self.cochlea.noise_gain), k, out[k])
        return out

    @property
    def nbytes(self) -> int:
        """Memory held for re-scoring, roughly."""
        searches = sum(s.nbytes for s in (*self.envelope_search, *self.motion_search))
        return int(searches + self.motion.nbytes + self.envelope_summary.nbytes)


@dataclass(frozen=True)
class ProcessedBand:
    """One band's model output, delay-equalised, next to the reference's.

    Attributes
    ----------
    band
        Band index.
    envelope_db
        Processed envelope in dB SL.
    motion, reference_motion
        Processed and reference BM motion with threshold noise.
    envelope_rms, control_rms
        Long-term RMS of the processed band and control envelopes (linear).
    """

    band: int
    envelope_db: np.ndarray
    motion: np.ndarray
    reference_motion: np.ndarray
    envelope_rms: float
    control_rms: float


def processed_bands(reference: ReferenceEar, processed: np.ndarray) -> Iterator[ProcessedBand]:
    """Run the processed side band by band.

    Parameters
    ----------
    reference
        The reference side, for the same common length.
    processed
        The processed signal at 24 kHz, cut to that length.

    Yields
    ------
    ProcessedBand
        Bands in order, valid until the next one (buffers are reused). The reference's
        threshold noise is drawn before the first band, each processed band's just
        before it is yielded.
    """
    cochlea = reference.cochlea
    signal = reference.broadband.align(processed)
    mid = middle_ear(signal)
    params = cochlea.processed_params()
    max_bw = cochlea.max_bandwidth()
    band = _Band(len(mid))
    envelope, motion = np.empty(len(mid)), np.empty(len(mid))
    reference_motion = reference.noisy_motion()
    for k in range(N_BANDS):
        band.compress(mid, k, params, max_bw[k], cochlea)
        reference.envelope_search[k].align(band.envelope)
        reference.motion_search[k].align(band.motion)
        band.adapt(params.attn_ihc[k], cochlea.level1)
        reference.delayed(band.envelope, k, envelope)
        reference.delayed(_with_noise(band.motion, cochlea.noise_gain), k, motion)
        yield ProcessedBand(k, envelope, motion, reference_motion[k], band.envelope_rms,
                            band.control_rms)


def _with_noise(motion: np.ndarray, gain: float) -> np.ndarray:
    """``motion`` plus ``gain`` times standard normal deviates (global generator)."""
    noisy = standard_normal(len(motion))
    noisy *= gain
    noisy += motion
    return noisy


def _with_nalr(signal: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``signal`` through the NAL-R FIR for ``levels``, full convolution."""
    fir = nalr_fir(Audiogram(frequencies=HAAQI_FREQUENCIES, levels=levels), MODEL_RATE,
                   taps=NALR_TAPS_24K)
    return apply_fir(fir, signal)
