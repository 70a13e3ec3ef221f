"""Settings, per-rate coefficients and running state of the multiband compressor.

:class:`MultibandParams` holds a compressor's settings as pyclarity 0.9.0's
``MultibandCompressor`` takes them, validated; :meth:`MultibandParams.coefficients`
resolves them for one sample rate into the constants the compiled kernel of
:mod:`.multiband` runs on; :class:`MultibandState` is the kernel's preallocated state
and work space, carried from block to block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from remixer_app.core.dsp.crossover import CROSSOVER_FREQUENCIES, MAX_TAPS, crossover_program

CHUNK = 256            # frames filtered per pass: the work rows stay in the L1 cache
LEVEL_FLOOR_DB = -120.0
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
