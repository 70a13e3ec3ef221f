"""Auditory filterbank and hearing-loss parameters of Kates's ear model (HAAQI).

The model has 32 gammatone bands from 80 Hz to 8 kHz on an ERB scale. A hearing loss
(given at the six audiometric frequencies HAAQI assumes) is split between outer hair
cells (reduced compression, wider filters) and inner hair cells (plain attenuation),
after Moore et al. (1999) as used by Kates & Arehart (2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from remixer_app.core.metrics.kernels import ERB_MIN_BANDWIDTH, ERB_Q

HAAQI_FREQUENCIES = np.array([250.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0])
N_BANDS = 32
LOW_FREQ, HIGH_FREQ = 80.0, 8000.0
UPPER_KNEE = 100.0  # dB SPL above which the cochlea is linear again
SMALL = 1e-30


class AudiogramLike(Protocol):
    """Either audiogram type: ours or ``clarity.utils.audiogram.Audiogram``."""

    @property
    def frequencies(self) -> np.ndarray: ...

    @property
    def levels(self) -> np.ndarray: ...


def haaqi_levels(audiogram: AudiogramLike) -> np.ndarray:
    """Hearing loss at :data:`HAAQI_FREQUENCIES` in dB HL.

    Interpolated linearly on a log-frequency axis and held flat beyond the measured
    range, as pyclarity's ``Audiogram.resample`` does.
    """
    freqs = np.asarray(audiogram.frequencies, dtype=float)
    levels = np.asarray(audiogram.levels, dtype=float)
    return np.interp(np.log(HAAQI_FREQUENCIES), np.log(freqs), levels,
                     left=levels[0], right=levels[-1])


def center_frequencies(n_bands: int = N_BANDS) -> np.ndarray:
    """Band centres in Hz, ascending, equally spaced on Slaney's ERB scale."""
    q_bw = ERB_Q * ERB_MIN_BANDWIDTH
    step = (np.log(LOW_FREQ + q_bw) - np.log(HIGH_FREQ + q_bw)) / (n_bands - 1)
    inner = -q_bw + np.exp(np.arange(1, n_bands) * step) * (HIGH_FREQ + q_bw)
    return np.flip(np.concatenate(([HIGH_FREQ], inner)))


@dataclass(frozen=True)
class LossParameters:
    """Cochlear parameters per band for one hearing loss.

    Attributes
    ----------
    attn_ohc
        Outer-hair-cell attenuation (dB) at the compressor input.
    bandwidth
        Filter bandwidth relative to a normal ear's ERB.
    low_knee
        Compression lower kneepoint (dB SPL).
    compression_ratio
        Compression ratio between the kneepoints.
    attn_ihc
        Inner-hair-cell attenuation (dB) at the synapse.
    """

    attn_ohc: np.ndarray
    bandwidth: np.ndarray
    low_knee: np.ndarray
    compression_ratio: np.ndarray
    attn_ihc: np.ndarray


def loss_parameters(levels: np.ndarray, center_freq: np.ndarray) -> LossParameters:
    """Split a hearing loss (dB HL at :data:`HAAQI_FREQUENCIES`) into OHC and IHC parts."""
    n = len(center_freq)
    # Hold the end values out to the extreme band centres, then interpolate in dB.
    freqs = np.concatenate(([center_freq[0]], HAAQI_FREQUENCIES, [center_freq[-1]]))
    values = np.concatenate(([levels[0]], levels, [levels[-1]]))
    loss = np.maximum(np.interp(center_freq, freqs, values), 0)
    # Normal compression ratio: 1.25:1 in the lowest band rising to 3.5:1 in the highest.
    normal_cr = 1.25 + 2.25 * np.arange(n) / (n - 1)
    max_ohc = 70 * (1 - (1 / normal_cr))  # OHC loss that leaves 1:1 compression
    ohc_limit = 1.25 * max_ohc
    beyond = loss >= ohc_limit
    attn_ohc = np.where(beyond, 0.8 * ohc_limit, 0.8 * loss)
    attn_ihc = np.where(beyond, 0.2 * ohc_limit + (loss - ohc_limit), 0.2 * loss)
    bandwidth = 1 + (attn_ohc / 50.0) + 2.0 * (attn_ohc / 50.0) ** 6
    low_knee = attn_ohc + 30
    upamp = 30 + (70 / normal_cr)  # output level for a 100 dB SPL input
    ratio = (100 - low_knee) / (upamp + attn_ohc - low_knee)
    return LossParameters(attn_ohc, bandwidth, low_knee, ratio, attn_ihc)


def adjusted_bandwidth(control_rms: float, bandwidth_min: float, bandwidth_max: float,
                       level1: float) -> float:
    """Filter bandwidth widened with the control band's level (50 to 100 dB SPL)."""
    if control_rms <= 0.0:  # silence: the log would be -inf, below 50 dB SPL
        return float(bandwidth_min)
    level = 20 * np.log10(control_rms) + level1
    if level < 50:
        return float(bandwidth_min)
    if level > 100:
        return float(bandwidth_max)
    return float(bandwidth_min + ((level - 50) / 50) * (bandwidth_max - bandwidth_min))


def group_delay_correction(bandwidths: np.ndarray, center_freq: np.ndarray,
                           rate: float) -> np.ndarray:
    """Samples of delay per band that line all bands up with the slowest one.

    The gammatone's group delay at DC, rounded to whole samples; for a rational
    transfer function B/A it is ``sum(k b_k)/sum(b_k) - sum(k a_k)/sum(a_k)``.
    """
    erb = ERB_MIN_BANDWIDTH + center_freq / ERB_Q
    a = np.exp(-(2 * np.pi / rate) * 1.019 * bandwidths * erb)
    b_coef = np.stack([np.ones_like(a), 4.0 * a, 4.0 * a * a])
    a_coef = np.stack([np.ones_like(a), -4.0 * a, 6.0 * a * a, -4.0 * a ** 3, a ** 4])
    delay = ((np.arange(3)[:, None] * b_coef).sum(axis=0) / b_coef.sum(axis=0)
             - (np.arange(5)[:, None] * a_coef).sum(axis=0) / a_coef.sum(axis=0))
    samples = np.rint(delay).astype(int)
    samples -= samples.min()
    return samples.max() - samples


def rms_to_sl(envelope_rms: np.ndarray, control_rms: np.ndarray, params: LossParameters,
              level1: float) -> np.ndarray:
    """Long-term band levels after OHC compression and IHC attenuation, in dB SL."""
    control_db = level1 + 20 * np.log10(np.maximum(control_rms, SMALL))
    control_db = np.maximum(np.minimum(control_db, UPPER_KNEE), params.low_knee)
    gain = -params.attn_ohc - (control_db - params.low_knee) * (
        1 - (1 / params.compression_ratio))
    level = np.maximum(level1 + 20 * np.log10(np.maximum(envelope_rms, SMALL)), 0)
    return np.maximum(level + gain - params.attn_ihc, 0)
