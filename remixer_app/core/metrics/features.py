"""HAAQI's features from the ear-model outputs (Kates & Arehart 2016, section III).

* Envelope modulation: the dB SL envelopes are smoothed to 8-ms segments, fitted
  with mel-cepstrum basis functions, split into eight modulation bands, and the
  reference/processed correlations of the upper four bands are averaged.
* Temporal fine structure: per band and 16-ms segment, the normalised
  cross-covariance of the BM motion, averaged with a weighting for the loss of IHC
  synchronisation at high frequencies.
* Long-term spectrum: spread of the loudness and normalised spectrum differences.

The reference-only work of the envelope feature is done once by
:class:`CepstralReference`; the smoothing and cepstra are vectorised over bands and
segments, the covariances run compiled (:func:`~.kernels.bm_covariance`).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from remixer_app.core.metrics.alignment import MODEL_RATE
from remixer_app.core.metrics.auditory import center_frequencies
from remixer_app.core.metrics.kernels import bm_covariance
from remixer_app.core.metrics.noise import standard_normal

SMOOTH_SEGMENT_MS = 8
COVARIANCE_SEGMENT_MS = 16
COVARIANCE_LAG_MS = 1.0
SILENCE_THRESHOLD_DB = 2.5  # summed over bands, dB above auditory threshold
N_CEPSTRAL = 6
MODULATION_EDGES = (4.0, 8.0, 12.5, 20.0, 32.0, 50.0, 80.0)  # Hz; 8 bands to 125 Hz
SYNC_ORDER, SYNC_CUTOFF = 5, 3500.0  # the IHC synchronisation low-pass HAAQI uses
_SMALL = 1.0e-30


def _segment_length(ms: float) -> int:
    n = int(np.around(ms * (0.001 * MODEL_RATE)))
    return n + n % 2


def segment_count(length: int, nwin: int) -> int:
    """Segments of ``nwin`` samples at 50 % overlap, half windows at both ends."""
    return int(1 + np.floor(length / nwin) + np.floor((length - nwin / 2) / nwin))


def smooth_envelope(envelope: np.ndarray) -> np.ndarray:
    """Von Hann-weighted 8-ms averages at 50 % overlap (250 Hz), along the last axis."""
    nwin = _segment_length(SMOOTH_SEGMENT_MS)
    nhalf = nwin // 2
    window = np.hanning(nwin)
    half = window[nhalf:]
    nseg = segment_count(envelope.shape[-1], nwin)
    out = np.empty((*envelope.shape[:-1], nseg))
    # einsum rather than matmul: no threaded BLAS call per band.
    out[..., 0] = np.einsum("...i,i->...", envelope[..., :nhalf], half) / np.sum(half)
    frames = np.lib.stride_tricks.sliding_window_view(envelope, nwin, axis=-1)
    middle = frames[..., nhalf:(nseg - 1) * nhalf:nhalf, :]
    out[..., 1:nseg - 1] = np.einsum("...ij,j->...i", middle, window) / np.sum(window)
    last = (nseg - 1) * nhalf
    out[..., nseg - 1] = np.einsum("...i,i->...", envelope[..., last:last + nhalf],
                                   window[:nhalf]) / np.sum(half)
    return out


def _loud_segments(envelope_db: np.ndarray) -> np.ndarray:
    """Indices of segments whose band-averaged loudness exceeds the silence threshold."""
    loudness = np.sum(10 ** (envelope_db / 20), axis=0) / envelope_db.shape[0]
    return np.flatnonzero(20 * np.log10(loudness) > SILENCE_THRESHOLD_DB)


def _modulation_filters() -> np.ndarray:
    """(8, taps) linear-phase FIRs splitting the 250 Hz envelope into modulation bands."""
    nyquist = 0.5 * 1000.0 / (0.5 * SMOOTH_SEGMENT_MS)
    taps = int(2 * np.floor(np.around(128 * (nyquist / 125)) / 2)) + 1
    edges = [e / nyquist for e in MODULATION_EDGES]
    bands = ([scipy.signal.firwin(taps, edges[0], window="hann", pass_zero="lowpass")]
             + [scipy.signal.firwin(taps, [lo, hi], window="hann", pass_zero="bandpass")
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
             + [scipy.signal.firwin(taps, edges[-1], window="hann", pass_zero="highpass")])
    return np.stack(bands)


def _modulation_cepstra(envelope_db: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(8 modulation bands, 6 coefficients, segments) zero-mean filtered cepstra."""
    nbands = envelope_db.shape[0]
    basis = np.cos(np.outer(np.arange(nbands), np.arange(N_CEPSTRAL)) * np.pi / (nbands - 1))
    basis /= np.linalg.norm(basis, axis=0, keepdims=True)
    cepstra = np.einsum("bc,bs->cs", basis, envelope_db[:, index])
    cepstra -= np.mean(cepstra, axis=1, keepdims=True)
    filters = _modulation_filters()
    delay = (filters.shape[1] - 1) // 2
    filtered = scipy.signal.fftconvolve(filters[:, None, :], cepstra[None, :, :], axes=-1)
    filtered = filtered[..., delay:delay + len(index)]
    return filtered - np.mean(filtered, axis=-1, keepdims=True)


class CepstralReference:
    """The reference side of the envelope-modulation feature (``melcor9``)."""

    def __init__(self, smoothed_db: np.ndarray) -> None:
        self.bands = smoothed_db.shape[0]
        self.index = _loud_segments(smoothed_db)
        self.valid = len(self.index) > 1
        if self.valid:
            self._cepstra = _modulation_cepstra(smoothed_db, self.index)
            self._power = np.sum(self._cepstra ** 2, axis=-1)

    def high_modulation_correlation(self, smoothed_db: np.ndarray) -> float:
        """Average |correlation| over the 20-125 Hz modulation bands, cepstra 2-6.

        Draws (and discards) the ``2 x bands x segments`` deviates the reference
        implementation draws for its (zero) additive envelope noise, so that numpy's
        global generator ends in the same state.
        """
        if not self.valid:
            return 0.0
        standard_normal((2, self.bands, len(self.index)))
        cepstra = _modulation_cepstra(smoothed_db, self.index)
        power = np.sum(cepstra ** 2, axis=-1)
        cross = np.sum(self._cepstra * cepstra, axis=-1)
        ok = (self._power >= _SMALL) & (power >= _SMALL)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = np.where(ok, np.abs(cross) / np.sqrt(self._power * power), 0.0)
        return float(np.sum(correlation[4:8, 1:]) / (4 * (N_CEPSTRAL - 1)))


def spectrum_spread(reference_sl: np.ndarray, processed_sl: np.ndarray) -> tuple[float, float]:
    """Spread (band count x std) of the loudness and normalised spectrum differences."""
    reference = 10 ** (reference_sl / 20)
    processed = 10 ** (processed_sl / 20)
    reference = reference / np.sum(reference)
    processed = processed / np.sum(processed)
    n = len(reference)
    difference = reference - processed
    return (float(n * np.std(difference)),
            float(n * np.std(difference / (reference + processed))))


class BandCovariance:
    """Per-segment BM cross-covariance of one band (``bm_covary``), for a signal length."""

    def __init__(self, length: int) -> None:
        nwin = _segment_length(COVARIANCE_SEGMENT_MS)
        self.maxlag = int(np.around(COVARIANCE_LAG_MS * (0.001 * MODEL_RATE)))
        self.window = np.hanning(nwin)
        self.half_window = self.window[nwin // 2:].copy()
        self.segments = segment_count(length, nwin)
        self.lag_norm, self.power_norm = self._norms(self.window)
        self.half_lag_norm, self.half_power_norm = self._norms(self.half_window)

    def _norms(self, window: np.ndarray) -> tuple[np.ndarray, float]:
        # Unbiasing: 1 / the window's autocorrelation at each lag; power: 1 / sum(w^2).
        auto = np.correlate(window, window, "full")
        middle = len(window) - 1
        if middle < self.maxlag:
            raise ValueError("the covariance segment is shorter than its lag range")
        return 1 / auto[middle - self.maxlag:middle + self.maxlag + 1], 1.0 / np.sum(window ** 2)

    def __call__(self, reference: np.ndarray, processed: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Covariance (0..1) and twice the reference mean square, per segment."""
        covariance = np.empty(self.segments)
        reference_ms = np.empty(self.segments)
        bm_covariance(reference, processed, self.window, self.half_window, self.lag_norm,
                      self.half_lag_norm, self.power_norm, self.half_power_norm, self.maxlag,
                      covariance, reference_ms)
        return covariance, reference_ms


def sync_covariance(covariance: np.ndarray, reference_ms: np.ndarray) -> float:
    """Average covariance over loud tiles, weighted for IHC synchronisation loss.

    Parameters
    ----------
    covariance, reference_ms
        (bands, segments) outputs of :class:`BandCovariance`.

    Returns
    -------
    float
        The 5th-order 3.5 kHz weighting (``ave_covary2``'s 5th output), 0 when fewer
        than two segments are loud.
    """
    bands = covariance.shape[0]
    cf = center_frequencies(bands)
    cutoff = SYNC_CUTOFF ** (2 * SYNC_ORDER)
    weight = np.sqrt(cutoff / (cutoff + cf ** (2 * SYNC_ORDER)))
    level = np.sqrt(reference_ms)  # the BM envelope is in dB SL
    loudness = 20 * np.log10(np.sum(10 ** (level / 20), axis=0) / bands)
    loud = loudness > SILENCE_THRESHOLD_DB
    if np.count_nonzero(loud) <= 1:
        return 0.0
    tiles = level[:, loud] > SILENCE_THRESHOLD_DB
    numerator = np.sum(weight * np.sum(np.where(tiles, covariance[:, loud], 0.0), axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(numerator / np.sum(weight * np.sum(tiles, axis=1)))
