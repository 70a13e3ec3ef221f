"""The Linkwitz-Riley crossover of the Cadenza 2 multiband compressor.

A 4th-order Linkwitz-Riley crossover (a 2nd-order Butterworth applied twice) splits a
signal into ``len(crossovers) + 1`` bands. Band ``i`` is low-passed at crossover ``i``
(except the top band) and high-passed at every crossover below it, then goes through an
all-pass (low-pass plus high-pass) at each crossover above ``i``, so the bands sum back
to an all-pass of the input. :func:`crossover_program` lays that out as a list of
filter sections for the compiled kernel (:mod:`.multiband`); :func:`filter4` and
:func:`filter8` run one section as scipy's ``lfilter`` does (direct form II
transposed), so the bands come out bit for bit pyclarity's (see :mod:`.multiband` for
why that matters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.signal

from remixer_app.core.dsp.jit import kernel

#: The Cadenza 2 crossovers: octave edges between bands centred on 250 Hz .. 8 kHz.
CROSSOVER_FREQUENCIES: tuple[float, ...] = tuple(f * math.sqrt(2) for f in
                                                 (250.0, 500.0, 1000.0, 2000.0, 4000.0))
MAX_TAPS = 9           # coefficients of the 8th-order all-pass, the longest section


def linkwitz_riley(freq: float, rate: float, btype: str) -> tuple[np.ndarray, np.ndarray]:
    """A 4th-order Linkwitz-Riley section: a Butterworth's zeros and poles doubled."""
    b, a = scipy.signal.butter(2, freq / (rate / 2), btype=btype)
    zeros, poles, gain = scipy.signal.tf2zpk(b, a)
    num, den = scipy.signal.zpk2tf(np.concatenate((zeros, zeros)),
                                   np.concatenate((poles, poles)), gain ** 2)
    return np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)


def all_pass(low: tuple[np.ndarray, np.ndarray], high: tuple[np.ndarray, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """``low + high`` as one transfer function over the product of their denominators.

    The roots are recomputed from the polynomials, as the reference does: its
    coefficients, rounding included, are what makes the outputs agree.
    """
    zeros_lo, poles_lo, gain_lo = scipy.signal.tf2zpk(*low)
    zeros_hi, poles_hi, gain_hi = scipy.signal.tf2zpk(*high)
    num = (np.poly(np.concatenate((zeros_lo, poles_hi))) * gain_lo
           + np.poly(np.concatenate((zeros_hi, poles_lo))) * gain_hi)
    den = np.poly(np.concatenate((poles_lo, poles_hi)))
    return np.real(num).astype(np.float64), np.real(den).astype(np.float64)


def crossover_filters(crossovers: Sequence[float], rate: float
                      ) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per crossover: its ``"low"``, ``"high"`` and ``"all"`` (-pass) filters as (b, a)."""
    out = []
    for freq in crossovers:
        low = linkwitz_riley(freq, rate, "low")
        high = linkwitz_riley(freq, rate, "high")
        out.append({"low": low, "high": high, "all": all_pass(low, high)})
    return out


def crossover_program(crossovers: Sequence[float], rate: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    filters = crossover_filters(crossovers, rate)
    steps: list[tuple[int, int, tuple[np.ndarray, np.ndarray]]] = []
    for band in range(len(crossovers) + 1):
        chain = [filters[band]["low"]] if band < len(crossovers) else []
        chain += [filters[m]["high"] for m in range(band)]
        chain += [filters[m]["all"] for m in range(band + 1, len(crossovers))]
        for k, section in enumerate(chain):  # from the input, then in place
            steps.append((0 if k == 0 else 1 + band, 1 + band, section))
    program = np.zeros((len(steps), 3), dtype=np.int64)
    taps = np.zeros((len(steps), 2, MAX_TAPS))
    for s, (src, dst, (b, a)) in enumerate(steps):
        program[s] = src, dst, len(b) - 1
        taps[s, 0, : len(b)] = b / a[0]
        taps[s, 1, : len(a)] = a / a[0]
    return program, taps


@kernel
def filter4(x: np.ndarray, y: np.ndarray, ba: np.ndarray,
             z: np.ndarray) -> None:  # pragma: no cover - compiled
    """4th-order direct form II transposed, as scipy's lfilter computes it."""
    b0, b1, b2, b3, b4 = ba[0, 0], ba[0, 1], ba[0, 2], ba[0, 3], ba[0, 4]
    a1, a2, a3, a4 = ba[1, 1], ba[1, 2], ba[1, 3], ba[1, 4]
    z0, z1, z2, z3 = z[0], z[1], z[2], z[3]
    for i in range(x.shape[0]):
        xi = x[i]
        yi = z0 + b0 * xi
        z0 = z1 + xi * b1 - yi * a1
        z1 = z2 + xi * b2 - yi * a2
        z2 = z3 + xi * b3 - yi * a3
        z3 = xi * b4 - yi * a4
        y[i] = yi
    z[0], z[1], z[2], z[3] = z0, z1, z2, z3


@kernel
def filter8(x: np.ndarray, y: np.ndarray, ba: np.ndarray,
             z: np.ndarray) -> None:  # pragma: no cover - compiled
    """8th-order direct form II transposed, as scipy's lfilter computes it."""
    b0, b1, b2, b3, b4 = ba[0, 0], ba[0, 1], ba[0, 2], ba[0, 3], ba[0, 4]
    b5, b6, b7, b8 = ba[0, 5], ba[0, 6], ba[0, 7], ba[0, 8]
    a1, a2, a3, a4 = ba[1, 1], ba[1, 2], ba[1, 3], ba[1, 4]
    a5, a6, a7, a8 = ba[1, 5], ba[1, 6], ba[1, 7], ba[1, 8]
    z0, z1, z2, z3, z4, z5, z6, z7 = z[0], z[1], z[2], z[3], z[4], z[5], z[6], z[7]
    for i in range(x.shape[0]):
        xi = x[i]
        yi = z0 + b0 * xi
        z0 = z1 + xi * b1 - yi * a1
        z1 = z2 + xi * b2 - yi * a2
        z2 = z3 + xi * b3 - yi * a3
        z3 = z4 + xi * b4 - yi * a4
        z4 = z5 + xi * b5 - yi * a5
        z5 = z6 + xi * b6 - yi * a6
        z6 = z7 + xi * b7 - yi * a7
        z7 = xi * b8 - yi * a8
        y[i] = yi
    z[0], z[1], z[2], z[3], z[4], z[5], z[6], z[7] = z0, z1, z2, z3, z4, z5, z6, z7
