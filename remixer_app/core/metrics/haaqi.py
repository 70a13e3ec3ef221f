"""HAAQI, the Hearing-Aid Audio Quality Index (Kates & Arehart 2016), fast.

It computes pyclarity's ``compute_haaqi`` (the reference implementation, version 1)
with the same inputs, the same result to rounding error, and the same draws from
numpy's global random generator, in a fraction of the time:

* the reference's side of the ear model and features is computed once per
  :class:`HaaqiReference` and reused for every processed signal scored against it;
* the lag searches look only at the lags they need (short FFTs, overlap-save), and
  the sample and segment loops are compiled.

Use :func:`compute_haaqi` as a drop-in for pyclarity's, :class:`HaaqiReference` to
re-score against one reference, and :func:`haaqi_score` to choose the implementation.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from remixer_app.core.metrics.alignment import MODEL_RATE, to_model_rate
from remixer_app.core.metrics.auditory import AudiogramLike, haaqi_levels, rms_to_sl
from remixer_app.core.metrics.ear_model import Cochlea, ReferenceEar, processed_bands
from remixer_app.core.metrics.features import (
    BandCovariance,
    CepstralReference,
    smooth_envelope,
    spectrum_spread,
    sync_covariance,
)

Implementation = Literal["fast", "reference"]
IMPLEMENTATIONS: tuple[Implementation, ...] = ("fast", "reference")

logger = logging.getLogger(__name__)


class _ReferenceState:
    """Everything about the reference for one common length of the two signals."""

    def __init__(self, reference: np.ndarray, cochlea: Cochlea) -> None:
        self.ear = ReferenceEar(reference, cochlea, smooth_envelope)
        self.cepstral = CepstralReference(self.ear.envelope_summary)
        self.covariance = BandCovariance(self.ear.length)


class HaaqiReference:
    """A reference signal and listener ear, ready to score processed signals against.

    Parameters
    ----------
    reference
        The reference signal (1-D).
    reference_sr
        Its sampling rate in Hz.
    audiogram
        The ear's audiogram: :class:`remixer_app.core.audiogram.Audiogram` or
        ``clarity.utils.audiogram.Audiogram`` (anything with ``frequencies`` and
        ``levels``); interpolated to 250-6000 Hz as HAAQI assumes.
    equalisation
        1: HAAQI adds NAL-R to the reference; 2: the reference already has it
        (0: the reference is heard with normal hearing, HASPI's convention).
    level1
        dB SPL of a signal with RMS 1.

    Raises
    ------
    ValueError
        ``equalisation`` is not 0, 1 or 2, or the reference is empty or silent.

    Notes
    -----
    The reference's model depends on the common length of the two signals (the
    shorter one sets it); the model for the reference's own length is built here and
    reused for every processed signal at least that long, and one for a shorter
    length is built (and kept) when first needed.

    Scoring draws from numpy's global generator, so calls from several threads at
    once would interleave their draws: score from one thread at a time.
    """

    def __init__(self, reference: np.ndarray, reference_sr: float, audiogram: AudiogramLike,
                 equalisation: int = 1, level1: float = 65.0) -> None:
        if equalisation not in (0, 1, 2):
            raise ValueError(f"equalisation must be 0, 1 or 2, not {equalisation!r}")
        signal = to_model_rate(np.asarray(reference, dtype=np.float64), reference_sr)
        if signal.ndim != 1 or len(signal) == 0:
            raise ValueError("the reference must be a non-empty 1-D signal")
        self.signal = signal
        self.cochlea = Cochlea(float(level1), int(equalisation), haaqi_levels(audiogram))
        self._states = {len(signal): _ReferenceState(signal, self.cochlea)}

    def _state(self, length: int) -> _ReferenceState:
        if length not in self._states:
            if len(self._states) > 1:  # keep the full length and one other at most
                del self._states[next(k for k in self._states if k != len(self.signal))]
            self._states[length] = _ReferenceState(self.signal[:length], self.cochlea)
        return self._states[length]

    @property
    def nbytes(self) -> int:
        """Memory held by the cached reference model, roughly."""
        return sum(s.ear.nbytes for s in self._states.values())

    def score(self, processed: np.ndarray, processed_sr: float) -> float:
        """HAAQI of ``processed`` against this reference (0 worst .. 1 best).

        Draws the same numbers from numpy's global generator as pyclarity's
        ``compute_haaqi`` would, so seeding before the call gives its score.

        Raises
        ------
        ValueError
            ``processed`` is empty or not 1-D.
        """
        signal = to_model_rate(np.asarray(processed, dtype=np.float64), processed_sr)
        if signal.ndim != 1 or len(signal) == 0:
            raise ValueError("the processed signal must be a non-empty 1-D signal")
        length = min(len(self.signal), len(signal))
        state = self._state(length)
        return _score(state, signal[:length])


def _score(state: _ReferenceState, processed: np.ndarray) -> float:
    ear = state.ear
    smoothed = np.empty_like(ear.envelope_summary)
    covariance = np.empty((len(smoothed), state.covariance.segments))
    reference_ms = np.empty_like(covariance)
    envelope_rms = np.empty(len(smoothed))
    control_rms = np.empty(len(smoothed))
    for band in processed_bands(ear, processed):
        k = band.band
        smoothed[k] = smooth_envelope(band.envelope_db)
        covariance[k], reference_ms[k] = state.covariance(band.reference_motion, band.motion)
        envelope_rms[k], control_rms[k] = band.envelope_rms, band.control_rms
    cochlea = ear.cochlea
    processed_sl = rms_to_sl(envelope_rms, control_rms, cochlea.processed_params(),
                             cochlea.level1)
    cepstral_high = state.cepstral.high_modulation_correlation(smoothed)
    loudness_spread, shape_spread = spectrum_spread(ear.sl, processed_sl)
    sync = sync_covariance(covariance, reference_ms)
    return combine(cepstral_high, sync, loudness_spread, shape_spread)


def combine(cepstral_high: float, sync: float, loudness_spread: float,
            shape_spread: float) -> float:
    """HAAQI from its features: the published polynomial of a nonlinear and a linear term.

    Parameters
    ----------
    cepstral_high
        Envelope-modulation correlation, 20-125 Hz modulation bands.
    sync
        BM fine-structure covariance with IHC synchronisation loss.
    loudness_spread, shape_spread
        Spread of the loudness and normalised long-term spectrum differences.
    """
    loudness = min(max(1.0 - loudness_spread / 2.5, 0.0), 1.0)
    shape = min(max(1.0 - shape_spread / 25, 0.0), 1.0)
    nonlinear = 0.754 * (cepstral_high ** 3) + 0.246 * sync
    linear = 0.329 * loudness + 0.671 * shape
    return float(0.336 * nonlinear + 0.001 * linear + 0.501 * (nonlinear ** 2)
                 + 0.161 * (linear ** 2))


def compute_haaqi(processed_signal: np.ndarray, reference_signal: np.ndarray,
                  processed_sample_rate: float, reference_sample_rate: float,
                  audiogram: AudiogramLike, equalisation: int = 1,
                  level1: float = 65.0) -> float:
    """HAAQI of one ear: a drop-in for pyclarity's ``compute_haaqi``.

    Parameters
    ----------
    processed_signal, reference_signal
        1-D signals (hearing-aid output and clean reference).
    processed_sample_rate, reference_sample_rate
        Their rates in Hz.
    audiogram
        Ours or pyclarity's :class:`Audiogram` of the ear.
    equalisation
        1: NAL-R is added to the reference; 2: it already has it.
    level1
        dB SPL of a signal with RMS 1.

    Returns
    -------
    float
        The score; 1.0 when both signals are empty, 0.0 when only the reference is.
    """
    if len(reference_signal) == 0:
        if len(processed_signal) == 0:
            return 1.0
        logger.error("If `Reference` is empty, `Processed` must be empty as well")
        return 0.0
    reference = HaaqiReference(reference_signal, reference_sample_rate, audiogram,
                               equalisation, level1)
    return reference.score(processed_signal, processed_sample_rate)


def haaqi_score(processed: np.ndarray, reference: np.ndarray, processed_sr: float,
                reference_sr: float, audiogram: AudiogramLike, equalisation: int = 1,
                level1: float = 65.0, *, implementation: Implementation = "fast") -> float:
    """HAAQI with a choice of implementation, to check one against the other.

    Parameters
    ----------
    implementation
        ``"fast"`` (:func:`compute_haaqi`) or ``"reference"`` (pyclarity's).

    See :func:`compute_haaqi` for the other parameters.
    """
    if implementation == "fast":
        return compute_haaqi(processed, reference, processed_sr, reference_sr, audiogram,
                             equalisation, level1)
    if implementation != "reference":
        raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, "
                         f"not {implementation!r}")
    from clarity.evaluator.haaqi import compute_haaqi as clarity_haaqi  # heavy, on demand

    to_clarity = getattr(audiogram, "to_clarity", None)
    clarity_audiogram = to_clarity() if callable(to_clarity) else audiogram
    return float(clarity_haaqi(processed, reference, processed_sr, reference_sr,
                               clarity_audiogram, equalisation=equalisation, level1=level1))


__all__ = ["IMPLEMENTATIONS", "MODEL_RATE", "HaaqiReference", "Implementation", "combine",
           "compute_haaqi", "haaqi_score"]
