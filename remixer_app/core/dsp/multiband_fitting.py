"""Fitting the Cadenza 2 hearing aid to a listener, and the Cadenza 2 level rule.

The multiband compressor (:mod:`remixer_app.core.dsp.multiband`) has six bands, split at
(250 .. 4000 Hz) x sqrt(2). The Cadenza 2 baseline fits it to each ear as its recipe does:

* the CAMFIT compressive gain rule (Moore et al. 1999; pyclarity's
  ``gainrule_camfit_compr``, the reference implementation, called here) gives the
  insertion gain for every input level from -10 to 110 dB SPL in nine bands from
  177 Hz to 11.3 kHz;
* a band's make-up gain is its gain for a 65 dB SPL input, and its ratio the input
  range 55 -> 85 dB over the output range those inputs give (1 where the output does
  not change), both read at 250, 500, 1000, 2000, 4000 and 6000 Hz by interpolating
  linearly in frequency between the CAMFIT bands;
* threshold -30 dB re full scale, hard knee; attack 11, 11, 14, 13, 11, 11 ms and
  release 80, 80, 80, 80, 100, 100 ms.

CAMFIT's noise gate acts only on inputs below 45 dB SPL, under the levels read, so it
is left out. An ear with no loss at all gets a compressor that changes nothing. The
level rule keeps the remix at the input's level however the stems are gained: see
:func:`level_adjustment_db`.

The fitting assumes its input at about :data:`INPUT_LUFS`: the recipe's enhancer notes
that the level rule leaves the remix "roughly -40 dB before compressor", the level of
the challenge's music. A track at its own level (-14 LUFS for a commercial master, -28
to -18 for our generated scenes) would drive the make-up gains 15-25 dB harder: a third
to two thirds of the samples past full scale for the moderate-severe presets N5 and N7.
So the aid first brings the mixture to that level (:func:`input_gain`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from remixer_app.core.audiogram import Audiogram
from remixer_app.core.dsp.crossover import CROSSOVER_FREQUENCIES
from remixer_app.core.dsp.multiband_params import MultibandParams

CAMFIT_BANDS_HZ = np.array([177.0, 297, 500, 841, 1414, 2378, 4000, 6727, 11314])
CAMFIT_EDGES_HZ = np.array([1e-8, 229.2793, 385.3570, 648.4597, 1090.5, 1833.7, 3084.2,
                            5187.3, 8724.1, 1e7])
CAMFIT_LEVELS_DB = np.arange(-10, 111)  # input levels, dB SPL
NOISE_GATE_DB = 45.0
MAX_OUTPUT_DB = 100.0
GAIN_LEVEL_DB = 65                      # the input level whose gain is the make-up gain
RATIO_LEVELS_DB = (55, 85)              # the input range the ratio is read over
BAND_READ_HZ = (250.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0)
THRESHOLD_DB = -30.0
INPUT_LUFS = -40.0  #: the level the aid brings a track's mixture to before it
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
    gain, ratio = camfit_gain_and_ratio(audiogram)
    params = MultibandParams(
        attack=ATTACK_MS,
        release=RELEASE_MS,
        threshold=(THRESHOLD_DB,),
        ratio=tuple(float(r) for r in ratio),
        makeup_gain=tuple(float(g) for g in gain),
        knee_width=(0.0,),
        crossover_frequencies=CROSSOVER_FREQUENCIES,
    )
    params.coefficients(rate)  # fails now, not at the first render, on a bad rate
    return params


def camfit_gain_and_ratio(audiogram: Audiogram) -> tuple[np.ndarray, np.ndarray]:
    """The six bands' make-up gains (dB) and compression ratios CAMFIT gives one ear."""
    # Imported here because pyclarity is heavy and only a multiband fitting needs it.
    from clarity.enhancer.gha.gha_utils import gainrule_camfit_compr

    ear = audiogram.to_clarity()
    model = {"frequencies": CAMFIT_BANDS_HZ, "edge_frequencies": CAMFIT_EDGES_HZ,
             "levels": CAMFIT_LEVELS_DB, "channels": 2, "side": "lr"}
    # The rule fits both ears independently: give it this ear twice, keep the first.
    table = gainrule_camfit_compr(ear, ear, model, NOISE_GATE_DB, 0.0, 0.0,
                                  MAX_OUTPUT_DB)[0][:, :, 0]

    def row(level: int) -> np.ndarray:
        return table[level - int(CAMFIT_LEVELS_DB[0])]  # one row per dB

    low, high = RATIO_LEVELS_DB
    output_range = (high + row(high)) - (low + row(low))
    ratio = np.divide(float(high - low), output_range, out=np.ones_like(output_range),
                      where=output_range != 0)
    return (np.interp(BAND_READ_HZ, CAMFIT_BANDS_HZ, row(GAIN_LEVEL_DB)),
            np.interp(BAND_READ_HZ, CAMFIT_BANDS_HZ, ratio))


def makeup_gain_db(params: MultibandParams, freqs: ArrayLike) -> np.ndarray:
    """Each frequency's band make-up gain in dB (what the aid adds below its threshold)."""
    band = np.searchsorted(np.asarray(params.crossover_frequencies), np.asarray(freqs, float))
    return np.asarray(params.makeup_gain, dtype=float)[band]


def level_adjustment_db(gains_db: ArrayLike, players: ArrayLike | None = None) -> float:
    """The Cadenza 2 level rule: the gain in dB applied to the sum of the gained stems.

    It is ``-10 log10(mean(10 ** (g / 10)))`` over the ensemble's players, so that gains
    that raise some stems and lower others leave the overall level about where it was
    (exactly so for uncorrelated players of equal power). The recipe averages over its
    sources, so a stem of two violins counts twice. A muted stem (``-inf``) counts as no
    power; when all are muted there is nothing to adjust and the result is 0.

    Parameters
    ----------
    gains_db
        The gain of every stem in dB, ``-inf`` for a muted one.
    players
        How many players each stem holds (1 each if not given).
    """
    gains = np.asarray(gains_db, dtype=np.float64).ravel()
    if gains.size == 0:
        raise ValueError("level_adjustment_db needs the gain of at least one stem")
    if np.any(np.isnan(gains) | (gains == np.inf)):
        raise ValueError(f"gains must be finite numbers of dB or -inf (mute): {gains.tolist()}")
    counts = np.ones_like(gains) if players is None else np.asarray(players, np.float64).ravel()
    if counts.shape != gains.shape or not np.all(counts >= 1):
        raise ValueError(f"players must give each of the {gains.size} stems at least one: "
                         f"{counts.tolist()}")
    mean_power = float(np.sum(counts * np.power(10.0, gains / 10.0)) / np.sum(counts))
    if mean_power == 0.0:
        return 0.0
    return -10.0 * float(np.log10(mean_power))


def input_gain(mixture_lufs: float) -> float:
    """The linear gain that brings a mixture of ``mixture_lufs`` to :data:`INPUT_LUFS`
    (a silent mixture's loudness counts as -80 LUFS, so its gain stays finite)."""
    return float(10.0 ** ((INPUT_LUFS - max(mixture_lufs, -80.0)) / 20.0))
