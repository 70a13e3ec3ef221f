"""Fitting the Cadenza 2 hearing aid to a listener, and the Cadenza 2 level rule.

The multiband compressor (:mod:`remixer_app.core.dsp.multiband`) has six bands centred
on 250 Hz .. 8 kHz. Our rule sets each band from the ear's hearing loss ``HL`` at the
band centre (the audiogram interpolated on a log-frequency axis, held flat beyond its
ends), with ``excess = max(HL - 20, 0)`` the loss beyond normal hearing:

* make-up gain ``0.45 * excess`` dB, at most 24 dB: a little under the half-gain rule,
  since compression already lifts quiet passages;
* ratio ``1 + excess / 40``, at most 3: more loss, less dynamic range to fit into;
* threshold -35 dB re full scale, hard knee;
* attack 11, 11, 14, 13, 11, 11 ms and release 80, 80, 80, 80, 100, 100 ms, the
  Cadenza 2 baseline's time constants.

A listener with normal hearing (all losses up to 20 dB HL) gets a compressor that
changes nothing in level. The level rule keeps the remix at the input's level however
the stems are gained: see :func:`level_adjustment_db`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from remixer_app.core.audiogram import Audiogram
from remixer_app.core.dsp.crossover import CROSSOVER_FREQUENCIES
from remixer_app.core.dsp.multiband_params import MultibandParams

BAND_CENTRES_HZ = (250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
NORMAL_HEARING_DB = 20.0     # losses up to this get no help
GAIN_PER_DB = 0.45           # make-up gain per dB of loss beyond NORMAL_HEARING_DB
MAX_MAKEUP_DB = 24.0
LOSS_PER_RATIO_STEP = 40.0   # dB of loss beyond normal that adds 1 to the ratio
MAX_RATIO = 3.0
THRESHOLD_DB = -35.0
ATTACK_MS = (11.0, 11.0, 14.0, 13.0, 11.0, 11.0)
RELEASE_MS = (80.0, 80.0, 80.0, 80.0, 100.0, 100.0)


def multiband_params(audiogram: Audiogram, rate: float) -> MultibandParams:
    """The compressor settings for one ear (see the module docstring for the rule).

    Parameters
    ----------
    audiogram
        The ear's hearing thresholds.
    rate
        Sample rate the compressor will run at.

    Raises
    ------
    ValueError
        ``rate`` is too low for the crossovers (they must lie below its Nyquist frequency).
    """
    excess = np.maximum(audiogram.at(BAND_CENTRES_HZ) - NORMAL_HEARING_DB, 0.0)
    params = MultibandParams(
        attack=ATTACK_MS,
        release=RELEASE_MS,
        threshold=(THRESHOLD_DB,),
        ratio=tuple(np.minimum(1.0 + excess / LOSS_PER_RATIO_STEP, MAX_RATIO)),
        makeup_gain=tuple(np.minimum(GAIN_PER_DB * excess, MAX_MAKEUP_DB)),
        knee_width=(0.0,),
        crossover_frequencies=CROSSOVER_FREQUENCIES,
    )
    params.coefficients(rate)  # fails now, not at the first render, on a bad rate
    return params


def makeup_gain_db(params: MultibandParams, freqs: ArrayLike) -> np.ndarray:
    """Each frequency's band make-up gain in dB (what the aid adds below its threshold)."""
    band = np.searchsorted(np.asarray(params.crossover_frequencies), np.asarray(freqs, float))
    return np.asarray(params.makeup_gain, dtype=float)[band]


def level_adjustment_db(gains_db: ArrayLike) -> float:
    """The Cadenza 2 level rule: the gain in dB applied to the sum of the gained stems.

    It is ``-10 log10(mean(10 ** (g / 10)))`` over all stems, so that gains that
    raise some stems and lower others leave the overall level about where it was
    (exactly so for uncorrelated stems of equal power). A muted stem (``-inf``) counts
    as no power; when all are muted there is nothing to adjust and the result is 0.

    Parameters
    ----------
    gains_db
        The gain of every stem in dB, ``-inf`` for a muted one.
    """
    gains = np.asarray(gains_db, dtype=np.float64).ravel()
    if gains.size == 0:
        raise ValueError("level_adjustment_db needs the gain of at least one stem")
    if np.any(np.isnan(gains) | (gains == np.inf)):
        raise ValueError(f"gains must be finite numbers of dB or -inf (mute): {gains.tolist()}")
    mean_power = float(np.mean(np.power(10.0, gains / 10.0)))
    if mean_power == 0.0:
        return 0.0
    return -10.0 * float(np.log10(mean_power))
