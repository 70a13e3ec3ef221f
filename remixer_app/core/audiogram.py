"""Audiograms, listeners and the built-in Bisgaard presets.

Listener files are read and written by :mod:`remixer_app.core.listener_io`. Every
problem a user can cause is a :class:`ListenerError` whose message names the
listener.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from remixer_app.core.errors import ListenerError
from remixer_app.core.paths import resources_dir

if TYPE_CHECKING:
    from clarity.utils.audiogram import Audiogram as ClarityAudiogram

MIN_LEVEL, MAX_LEVEL = -10.0, 120.0
#: Test frequencies an audiogram may give, in Hz: audiometers, extended high-frequency
#: ones included, test within this range.
MIN_FREQUENCY, MAX_FREQUENCY = 50.0, 20000.0


def _fmt(x: float) -> str:
    """A number as users write it: ``4000`` rather than ``4000.0``."""
    return f"{x:g}"


def _fmt_list(values: np.ndarray) -> str:
    return ", ".join(_fmt(v) for v in values)


def _as_vector(values: ArrayLike, what: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. 10**400 fits no float
        raise ListenerError(f"{what} must be a list of numbers") from exc
    if arr.ndim != 1:
        raise ListenerError(f"{what} must be a flat list of numbers")
    return arr


def _audiometric(freqs: np.ndarray, unit: float = 1.0) -> np.ndarray:
    """Which of ``freqs``, in units of ``unit`` Hz, lie in the range audiograms test."""
    return (freqs >= MIN_FREQUENCY / unit) & (freqs <= MAX_FREQUENCY / unit)


@dataclass(frozen=True, eq=False)
class Audiogram:
    """Hearing thresholds of one ear.

    Parameters
    ----------
    frequencies
        Test frequencies in Hz: finite, strictly ascending, each in 50..20000.
    levels
        Hearing thresholds in dB HL, one per frequency, each in -10..120.

    Raises
    ------
    ListenerError
        Any of the constraints above is violated, or fewer than 2 points are given.
    """

    frequencies: np.ndarray
    levels: np.ndarray

    def __post_init__(self) -> None:
        freqs = _as_vector(self.frequencies, "frequencies")
        levels = _as_vector(self.levels, "levels")
        if len(freqs) != len(levels):
            raise ListenerError(f"frequencies ({len(freqs)}) and levels ({len(levels)}) "
                                "have different lengths")
        if len(freqs) < 2:
            raise ListenerError(f"an audiogram needs at least 2 points, got {len(freqs)}")
        if not np.all(np.isfinite(freqs)):
            raise ListenerError(f"frequencies must be finite numbers: {_fmt_list(freqs)}")
        if not np.all(np.isfinite(levels)):
            raise ListenerError(f"levels must be finite numbers: {_fmt_list(levels)}")
        if not np.all(np.diff(freqs) > 0):
            raise ListenerError(f"frequencies must be ascending and unique: {_fmt_list(freqs)}")
        bad = np.flatnonzero(~_audiometric(freqs))
        if bad.size:
            if np.all(_audiometric(freqs, unit=1000)):  # 0.25, 0.5, ... 8: in kHz
                raise ListenerError(f"frequencies {_fmt_list(freqs)} look like kHz; give them "
                                    f"in Hz ({_fmt_list(freqs * 1000)})")
            raise ListenerError(f"frequency {_fmt(freqs[bad[0]])} Hz is outside the audiometric "
                                f"range {_fmt(MIN_FREQUENCY)}..{_fmt(MAX_FREQUENCY)} Hz")
        bad = np.flatnonzero((levels < MIN_LEVEL) | (levels > MAX_LEVEL))
        if bad.size:
            i = bad[0]
            raise ListenerError(f"level {_fmt(levels[i])} dB HL at {_fmt(freqs[i])} Hz is outside "
                                f"{_fmt(MIN_LEVEL)}..{_fmt(MAX_LEVEL)}")
        # Read-only copies keep the frozen dataclass truly immutable, so it can be shared.
        freqs.setflags(write=False)
        levels.setflags(write=False)
        object.__setattr__(self, "frequencies", freqs)
        object.__setattr__(self, "levels", levels)

    def __eq__(self, other: object) -> bool:
        # The generated __eq__ would compare arrays element-wise and fail on truth value.
        if not isinstance(other, Audiogram):
            return NotImplemented
        return (np.array_equal(self.frequencies, other.frequencies)
                and np.array_equal(self.levels, other.levels))

    def __hash__(self) -> int:
        return hash((self.frequencies.tobytes(), self.levels.tobytes()))

    def to_clarity(self) -> ClarityAudiogram:
        """The same audiogram as a ``clarity.utils.audiogram.Audiogram``."""
        # Imported here because pyclarity is heavy and only the engine needs it.
        from clarity.utils.audiogram import Audiogram as ClarityAudiogram

        return ClarityAudiogram(levels=self.levels.copy(), frequencies=self.frequencies.copy())

    def at(self, frequencies: ArrayLike) -> np.ndarray:
        """Levels at other frequencies.

        Parameters
        ----------
        frequencies
            Frequencies in Hz (scalar or array), all positive.

        Returns
        -------
        np.ndarray
            dB HL, interpolated linearly on a log-frequency axis and held constant beyond
            the first and last measured frequency; same shape as ``frequencies``.
        """
        f = np.asarray(frequencies, dtype=float)
        if np.any(~(f > 0)):
            raise ValueError("frequencies must be positive")
        return np.asarray(np.interp(np.log(f), np.log(self.frequencies), self.levels))


@dataclass(frozen=True)
class Listener:
    """A listener: an id, both ears' audiograms and an optional display name."""

    id: str
    left: Audiogram
    right: Audiogram
    name: str = ""

    @property
    def display_name(self) -> str:
        """The name to show: ``name``, or the id when the name is empty."""
        return self.name or self.id


# ---------------------------------------------------------------------------- presets


@functools.cache
def _load_presets() -> tuple[Listener, ...]:
    path = resources_dir() / "presets" / "bisgaard.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        freqs = doc["frequencies"]
        out = []
        for p in doc["presets"]:
            ear = Audiogram(frequencies=freqs, levels=p["levels"])
            out.append(Listener(id=p["id"], left=ear, right=ear, name=p["name"]))
    except (OSError, ValueError, KeyError, TypeError, ListenerError) as exc:
        raise ListenerError(f"the built-in presets in {path} are damaged: {exc}") from exc
    return tuple(out)


def presets() -> dict[str, Listener]:
    """The built-in listeners NH, N1..N7 and S1..S3 (Bisgaard et al. 2010), in that order."""
    return {p.id: p for p in _load_presets()}


def get_preset(name: str) -> Listener:
    """A built-in listener by id, ignoring case and surrounding spaces.

    Raises
    ------
    ListenerError
        No preset has that id; the message lists the valid ones.
    """
    for p in _load_presets():
        if p.id.lower() == name.strip().lower():
            return p
    raise ListenerError(f"unknown listener preset {name!r}; choose one of "
                        f"{', '.join(presets())}")
