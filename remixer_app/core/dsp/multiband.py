"""The Cadenza 2 hearing aid's multiband compressor as a compiled, resumable kernel.

The semantics are those of pyclarity 0.9.0's ``MultibandCompressor`` (our reference,
checked in ``tests/test_multiband.py``):

* A 4th-order Linkwitz-Riley crossover splits the signal into
  ``len(crossover_frequencies) + 1`` bands, each band's sections run in the reference's
  order (:mod:`.crossover`).
* Each band has its own compressor: the gain computer works on the instantaneous
  sample level in dB (exact zeros read as 1e-12, levels floored at -120 dB), with a
  threshold, a ratio and an optional soft knee; the gain reduction in dB is smoothed
  by a one-pole filter (attack coefficient while the reduction rises, release while it
  falls); the make-up gain follows. The compressed bands are summed.

The all-pass at a crossover is the reference's 8th-order direct form, with fourfold
poles: it amplifies rounding noise so much that one ulp of difference in the input
moves its output by up to 1e-7 (measured on the lowest band at 0.5 full scale), and a
better-conditioned equivalent (second-order sections, the pole-zero cancelled form, or
sharing the high-pass cascade between bands) differs from it by as much. So the
coefficients are derived along the reference's own route, and each band's sections run
in the reference's order as scipy's ``lfilter`` runs them (direct form II transposed):
the bands come out bit for bit the reference's. Only the compressors' logarithms and
exponentials differ (by an ulp or two), after the filters, where nothing amplifies them.

All state (filter delays, smoothed gain reductions, the stream position, and chunk-sized
work rows) lives in a preallocated :class:`~.multiband_params.MultibandState`, so a
signal processed in blocks of any size gives the same samples as in one go, and a block
allocates nothing.
Values below 1e-200 are flushed to zero (see :func:`multiband_block`); the reference
keeps them, which changes outputs by 1e-11 at most (its zeros read as 1e-12).
"""

from __future__ import annotations

import math

import numpy as np

from remixer_app.core.dsp.crossover import filter4, filter8
from remixer_app.core.dsp.jit import kernel
from remixer_app.core.dsp.multiband_params import (
    LEVEL_FLOOR_DB,
    MultibandCoefficients,
    MultibandParams,
    MultibandState,
)

ZERO_LEVEL = 1e-12     # what an exact zero sample reads as (the reference's eps)
FLUSH_BELOW = 1e-200   # state and input values this small are set to 0 (see multiband_block)
NEPER_PER_DB = math.log(10.0) / 20.0
DB_PER_NEPER = 20.0 / math.log(10.0)


# The compressor's logarithms and exponentials are computed here rather than by libm,
# whose calls do not vectorise (they took 80% of the time); both are good to ~2 ulp.
_LN2_HI = 6.93147180369123816490e-01   # ln 2 in 32 bits, so k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = math.sqrt(2.0)
_EXP_SERIES = tuple(1.0 / math.factorial(k) for k in range(14))
_ABS = (1 << 63) - 1
_MANTISSA = (1 << 52) - 1
_EXPONENT_ONE = 1023 << 52
_SMALLEST_BITS = int(np.float64(1e-7).view(np.int64))  # quieter reads as the -120 dB floor


@kernel
def _ln(f: float, e: float) -> float:  # pragma: no cover - compiled
    """ln(f * 2**e) for f in [1, 2): 2 atanh((f - 1) / (f + 1)) as a series, no division."""
    if f > _SQRT2:
        f *= 0.5
        e += 1.0
    d = f + 1.0  # in [1.7, 2.5]: Newton's iteration for 1 / d converges from 1 - d / 4
    r = 1.0 - 0.25 * d
    for _ in range(4):
        r = r * (2.0 - d * r)
    s = (f - 1.0) * r
    z = s * s  # <= 0.0295, so 12 terms reach 1e-19
    series = (((((((((((2.0 / 23.0 * z + 2.0 / 21.0) * z + 2.0 / 19.0) * z + 2.0 / 17.0) * z
                       + 2.0 / 15.0) * z + 2.0 / 13.0) * z + 2.0 / 11.0) * z + 2.0 / 9.0) * z
                    + 2.0 / 7.0) * z + 2.0 / 5.0) * z + 2.0 / 3.0) * z + 2.0)
    return e * _LN2_HI + (e * _LN2_LO + s * series)


@kernel
def _exp_parts(v: float) -> tuple[float, np.int64]:  # pragma: no cover - compiled
    """exp(v) as ``p * 2**k``: ``p`` and the bits of the double ``2**k``."""
    v = min(max(v, -700.0), 700.0)
    k = np.floor(v * (1.0 / math.log(2.0)) + 0.5)
    r = (v - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2) / 2: 14 Taylor terms reach 1e-18
    p = _EXP_SERIES[13]
    for j in range(12, -1, -1):
        p = p * r + _EXP_SERIES[j]
    return p, (np.int64(k) + 1023) << 52


@kernel
def _compress_chunk(work: np.ndarray, bits: np.ndarray, count: int, compressor: np.ndarray,
                    gains: np.ndarray) -> None:  # pragma: no cover - compiled
    """Compress the bands of a chunk (``work[1:1 + bands]``) and sum them into ``work[0]``.

    Rows ``1 + bands .. 2 * bands`` take each band's gain reduction, the last two are
    scratch; ``bits`` is ``work`` viewed as int64. Every loop but the smoothing runs
    vectorised, and the smoothing runs all bands at once, so their recurrences overlap.
    """
    bands = compressor.shape[0]
    frac, expo = work.shape[0] - 2, work.shape[0] - 1
    for band in range(bands):
        row, reduction = 1 + band, 1 + bands + band
        threshold, slope, half_knee, knee_curve = compressor[band, :4]
        loudest = 0.0
        for i in range(count):
            loudest = max(loudest, abs(work[row, i]))
        if loudest < compressor[band, 7]:  # all below the knee: no reduction asked for
            work[reduction, :count] = 0.0
            continue
        for i in range(count):  # |x| = f * 2**e, f in [1, 2)
            word = max(bits[row, i] & _ABS, _SMALLEST_BITS)
            work[expo, i] = float((word >> 52) - 1023)
            bits[frac, i] = (word & _MANTISSA) | _EXPONENT_ONE
        for i in range(count):  # the gain computer: the reduction asked for, in dB
            level = max(_ln(work[frac, i], work[expo, i]) * DB_PER_NEPER, LEVEL_FLOOR_DB)
            over = level - threshold
            target = 0.0
            if over > half_knee:
                target = over * slope
            elif half_knee > 0.0 and abs(over) <= half_knee:
                half = over + half_knee
                target = knee_curve * (half * half)
            work[reduction, i] = target
    for i in range(count):  # one-pole smoothing, attack while the reduction rises
        for band in range(bands):
            target = work[1 + bands + band, i]
            alpha = compressor[band, 4] if target > gains[band] else compressor[band, 5]
            gains[band] = alpha * gains[band] + (1.0 - alpha) * target
            work[1 + bands + band, i] = gains[band]
    for band in range(bands):
        row, reduction, makeup = 1 + band, 1 + bands + band, compressor[band, 6]
        for i in range(count):  # 10 ** ((makeup - reduction) / 20)
            work[frac, i], bits[expo, i] = _exp_parts((makeup - work[reduction, i])
                                                      * NEPER_PER_DB)
        for i in range(count):
            x = work[row, i]
            if x == 0.0:
                x = ZERO_LEVEL
            y = x * work[frac, i] * work[expo, i]
            work[0, i] = y if band == 0 else work[0, i] + y


@kernel
def _flush(filters: np.ndarray, gains: np.ndarray) -> None:  # pragma: no cover - compiled
    """Zero the state values too small to matter, before they turn subnormal."""
    for s in range(filters.shape[0]):
        for k in range(filters.shape[1]):
            if abs(filters[s, k]) < FLUSH_BELOW:
                filters[s, k] = 0.0
    for band in range(gains.shape[0]):
        if abs(gains[band]) < FLUSH_BELOW:
            gains[band] = 0.0


@kernel
def multiband_block(signal: np.ndarray, out: np.ndarray, program: np.ndarray, taps: np.ndarray,
                    compressor: np.ndarray, filters: np.ndarray, gains: np.ndarray,
                    work: np.ndarray, position: np.ndarray) -> None:  # pragma: no cover - compiled
    """Run one channel of the multiband compressor over ``signal`` into ``out``.

    ``program``, ``taps`` and ``compressor`` are a :class:`MultibandCoefficients`';
    ``filters``, ``gains``, ``work`` and ``position`` (a length-1 slice) are one
    channel's rows of a :class:`MultibandState`, which is carried on. ``signal`` and
    ``out`` may be the same array. Nothing is allocated, so the audio callback may call it.

    The work goes in chunks aligned to the stream position, whatever the block sizes,
    and the state is flushed at each chunk's start, so blocks give the samples the
    whole signal gives. Without the flush, silence leaves the all-passes cycling
    through subnormal numbers, which made them 70 times slower.
    """
    bits = work.view(np.int64)
    chunk = work.shape[1]
    begin = 0
    while begin < signal.shape[0]:
        offset = position[0] % chunk
        if offset == 0:
            _flush(filters, gains)
        count = min(chunk - offset, signal.shape[0] - begin)
        for i in range(count):
            x = signal[begin + i]
            work[0, i] = x if abs(x) >= FLUSH_BELOW else 0.0
        for s in range(program.shape[0]):
            src = work[program[s, 0], :count]
            dst = work[program[s, 1], :count]
            if program[s, 2] == 4:
                filter4(src, dst, taps[s], filters[s])
            else:
                filter8(src, dst, taps[s], filters[s])
        _compress_chunk(work, bits, count, compressor, gains)
        for i in range(count):
            out[begin + i] = work[0, i]
        begin += count
        position[0] += count


def process_block(block: np.ndarray, out: np.ndarray, coefficients: MultibandCoefficients,
                  state: MultibandState) -> None:
    """Compress a (frames, channels) block into ``out`` (may be ``block``), carrying ``state``.

    No array is allocated, so it may run in an audio callback.
    """
    for ch in range(block.shape[1]):
        multiband_block(block[:, ch], out[:, ch], coefficients.program, coefficients.taps,
                        coefficients.compressor, state.filters[ch], state.gains[ch],
                        state.work[ch], state.position[ch:ch + 1])


def multiband_compress(signal: np.ndarray, params: MultibandParams, rate: float) -> np.ndarray:
    """Compress a whole signal from silence, each channel on its own.

    Parameters
    ----------
    signal
        (frames,) or (frames, channels) audio.
    params
        Compressor settings.
    rate
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``signal``.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"signal must be (frames,) or (frames, channels), got shape {x.shape}")
    frames = x.reshape(len(x), -1)
    coefficients = params.coefficients(rate)
    out = np.empty(frames.shape)
    process_block(frames, out, coefficients, MultibandState(coefficients, frames.shape[1]))
    return out.reshape(x.shape)
