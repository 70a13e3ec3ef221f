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
work rows) lives in a preallocated :class:`MultibandState`, so a signal processed in
blocks of any size gives the same samples as in one go, and a block allocates nothing.
Values below 1e-200 are flushed to zero (see :func:`multiband_block`); the reference
keeps them, which changes outputs by 1e-11 at most (its zeros read as 1e-12).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from remixer_app.core.dsp.crossover import (
    CROSSOVER_FREQUENCIES,
    MAX_TAPS,
    crossover_program,
    filter4,
    filter8,
)
from remixer_app.core.dsp.jit import kernel

CHUNK = 256            # frames filtered per pass: the work rows stay in the L1 cache
LEVEL_FLOOR_DB = -120.0
ZERO_LEVEL = 1e-12     # what an exact zero sample reads as (the reference's eps)
FLUSH_BELOW = 1e-200   # state and input values this small are set to 0 (see multiband_block)
NEPER_PER_DB = math.log(10.0) / 20.0
DB_PER_NEPER = 20.0 / math.log(10.0)
_BAND_FIELDS = ("attack", "release", "threshold", "ratio", "makeup_gain", "knee_width")


@dataclass(frozen=True)
class MultibandParams:
    """Settings of a multiband compressor.

    Each per-band field takes one value per band (``len(crossover_frequencies) + 1``) or a
    single value for all bands; it is stored as a tuple of floats with one per band.
    The defaults are the reference's: a compressor that leaves every band unchanged.

    Attributes
    ----------
    attack, release
        Smoothing time constants of the gain reduction in milliseconds (> 0).
    threshold
        Level in dB re full scale above which a band is compressed.
    ratio
        Compression ratio (>= 1; 1 compresses nothing).
    makeup_gain
        Gain in dB applied to the band after compression.
    knee_width
        Width of the soft knee in dB (0: hard knee).
    crossover_frequencies
        Band edges in Hz, ascending.

    Raises
    ------
    ValueError
        A value is not finite or out of its range, or a per-band field has the wrong
        number of values.
    """

    attack: tuple[float, ...] = (15.0,)
    release: tuple[float, ...] = (100.0,)
    threshold: tuple[float, ...] = (0.0,)
    ratio: tuple[float, ...] = (1.0,)
    makeup_gain: tuple[float, ...] = (0.0,)
    knee_width: tuple[float, ...] = (0.0,)
    crossover_frequencies: tuple[float, ...] = CROSSOVER_FREQUENCIES

    def __post_init__(self) -> None:
        crossovers = _floats(self.crossover_frequencies, "crossover_frequencies")
        if not crossovers:
            raise ValueError("crossover_frequencies needs at least one frequency")
        if not all(f > 0 for f in crossovers):
            raise ValueError(f"crossover frequencies must be positive: {crossovers}")
        if not all(a < b for a, b in zip(crossovers, crossovers[1:], strict=False)):
            raise ValueError(f"crossover frequencies must be ascending and unique: {crossovers}")
        object.__setattr__(self, "crossover_frequencies", crossovers)
        bands = len(crossovers) + 1
        for name in _BAND_FIELDS:
            values = _floats(getattr(self, name), name)
            if len(values) == 1:
                values *= bands
            if len(values) != bands:
                raise ValueError(f"{name} has {len(values)} values; expected 1 or {bands} "
                                 f"(one per band of {len(crossovers)} crossovers)")
            object.__setattr__(self, name, values)
        if not all(v > 0 for v in self.attack + self.release):
            raise ValueError("attack and release must be positive (milliseconds)")
        if not all(v >= 1 for v in self.ratio):
            raise ValueError(f"ratio must be at least 1 in every band: {self.ratio}")
        if not all(v >= 0 for v in self.knee_width):
            raise ValueError(f"knee_width must not be negative: {self.knee_width}")

    @property
    def bands(self) -> int:
        """Number of bands."""
        return len(self.crossover_frequencies) + 1

    def coefficients(self, rate: float) -> MultibandCoefficients:
        """The kernel's constants at sample rate ``rate`` (filters and compressors).

        Raises
        ------
        ValueError
            ``rate`` is not positive, or a crossover lies at or above its Nyquist frequency.
        """
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"sample rate must be a positive number, not {rate!r}")
        if self.crossover_frequencies[-1] >= rate / 2:
            raise ValueError(f"crossover {self.crossover_frequencies[-1]:.1f} Hz is at or above "
                             f"the Nyquist frequency of {rate:g} Hz")
        program, taps = crossover_program(self.crossover_frequencies, rate)
        return MultibandCoefficients(program, taps, self._compressor_constants(rate))

    def _compressor_constants(self, rate: float) -> np.ndarray:
        rows = []
        for band in range(self.bands):
            ratio, knee = self.ratio[band], self.knee_width[band]
            rows.append([
                self.threshold[band],
                1.0 - 1.0 / ratio,                                     # reduction per dB over
                knee / 2.0,
                (1.0 - 1.0 / ratio) / (2.0 * knee) if knee > 0 else 0.0,  # of the soft knee
                np.exp(-1.0 / (0.001 * rate * self.attack[band])),
                np.exp(-1.0 / (0.001 * rate * self.release[band])),
                self.makeup_gain[band],
                _quiet_level(self.threshold[band] - knee / 2.0),
            ])
        return np.array(rows, dtype=np.float64)

    def as_dict(self) -> dict[str, list[float]]:
        """The per-band fields and crossovers as lists (e.g. to configure the reference)."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, eq=False)
class MultibandCoefficients:
    """:class:`MultibandParams` resolved for one sample rate, as the kernel takes them.

    Attributes
    ----------
    program
        (sections, 3) int64: source row, target row and order (4 or 8) of each filter
        section, in the order they run on a chunk. Row 0 holds the input; band ``i``
        is filtered from it into row ``1 + i``, then in place.
    taps
        (sections, 2, 9): numerator and denominator of each section, ``a[0] == 1``.
    compressor
        (bands, 8): threshold (dB), reduction per dB above the knee, half the knee width,
        curvature of the soft knee, attack and release coefficients, make-up gain (dB),
        and the magnitude below which a sample surely gets no reduction.
    """

    program: np.ndarray
    taps: np.ndarray
    compressor: np.ndarray

    @property
    def bands(self) -> int:
        """Number of bands."""
        return int(self.compressor.shape[0])


class MultibandState:
    """Running state of a multichannel multiband compressor, and its work space.

    Parameters
    ----------
    coefficients
        What the state will be used with (it fixes the number of sections and bands).
    channels
        Number of independent channels (ears).
    """

    def __init__(self, coefficients: MultibandCoefficients, channels: int = 1) -> None:
        sections = coefficients.program.shape[0]
        self.filters = np.zeros((channels, sections, MAX_TAPS - 1))  # DF2T delays
        self.gains = np.zeros((channels, coefficients.bands))         # smoothed reduction, dB
        # rows: input (then output), the bands, their gain reductions, two of scratch
        self.work = np.zeros((channels, 2 * coefficients.bands + 3, CHUNK))
        self.position = np.zeros(channels, dtype=np.int64)  # frames processed so far

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.gains.shape[0])


def _quiet_level(knee_start_db: float) -> float:
    """Sample magnitude below which the gain computer surely asks for no reduction.

    Just under the knee's start (a margin of 1e-6 dwarfs the logarithm's error), so a
    chunk of quieter samples can skip it and get exactly what computing would give.
    """
    if knee_start_db <= LEVEL_FLOOR_DB:
        return 0.0  # the -120 dB floor itself is above the knee: never skip
    return 10.0 ** (knee_start_db / 20.0) * (1.0 - 1e-6)


def _floats(values: float | Sequence[float], name: str) -> tuple[float, ...]:
    items = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if items.ndim != 1:
        raise ValueError(f"{name} must be a number or a flat sequence of numbers")
    if not np.all(np.isfinite(items)):
        raise ValueError(f"{name} must be finite numbers: {items.tolist()}")
    return tuple(float(v) for v in items)


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
def _exp_parts(v: float) -> tuple[float, int]:  # pragma: no cover - compiled
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
