"""The systems an evaluation compares: a real separator, its floor and its ceiling.

Every system turns a :class:`~remixer_app.core.evaluation.tracks.Condition` into
four estimated stems:

* :class:`SeparatorSystem` runs a separator on the condition's mixture (it never
  sees the true stems);
* :data:`MIXTURE_ONLY` is the floor, no separation at all;
* :data:`ORACLE` is the ceiling, the true stems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE
from remixer_app.core.errors import SeparationError
from remixer_app.core.evaluation.tracks import Condition
from remixer_app.core.progress import CancelCheck, ProgressCallback


class Separator(Protocol):
    """What evaluation needs of :mod:`remixer_app.core.separation`'s separators."""

    identity: str

    def separate(self, audio: np.ndarray, sr: int, *, progress: ProgressCallback | None = None,
                 cancelled: CancelCheck | None = None) -> dict[str, np.ndarray]:
        """(frames, 2) float32 mixture -> stem name -> (frames, 2) float32 at 44.1 kHz."""
        ...


class System(Protocol):
    """Anything that estimates the four stems of a condition."""

    @property
    def name(self) -> str:
        """The name its scores are reported under."""
        ...

    def estimate(self, condition: Condition) -> dict[str, np.ndarray]:
        """Stem name -> (frames, 2) estimate, for every name in ``STEM_NAMES``."""
        ...


class MixtureOnlySeparator:
    """A pseudo-separator that returns a quarter of the mixture as every stem.

    Whatever the gains, the remix of four equal stems is the mixture times a
    constant, and the chain's loudness match to the mixture removes that constant:
    this "system" is exactly the hearing aid applied to the plain mixture, with no
    rebalancing, which is the floor any separator must beat.
    """

    identity = "mixture-only"

    def separate(self, audio: np.ndarray, sr: int, *, progress: ProgressCallback | None = None,
                 cancelled: CancelCheck | None = None) -> dict[str, np.ndarray]:
        """Every stem is ``audio / 4`` (instant, so there is no progress to report)."""
        quarter = np.asarray(audio, dtype=np.float32) / 4.0
        return {name: quarter.copy() for name in STEM_NAMES}


@dataclass(frozen=True, eq=False)
class SeparatorSystem:
    """A separator evaluated on the mixture alone."""

    name: str
    separator: Separator

    def estimate(self, condition: Condition) -> dict[str, np.ndarray]:
        """Separate ``condition.mixture``; the output is checked against the interface.

        Raises
        ------
        SeparationError
            A stem is missing or its shape differs from the mixture's.
        """
        mixture = np.ascontiguousarray(condition.mixture, dtype=np.float32)
        stems = self.separator.separate(mixture, TARGET_RATE)
        missing = [name for name in STEM_NAMES if name not in stems]
        if missing:
            raise SeparationError(f"{self.name} returned no {', '.join(missing)}")
        for name in STEM_NAMES:
            if np.shape(stems[name]) != mixture.shape:
                raise SeparationError(f"{self.name} returned {name} of shape "
                                      f"{np.shape(stems[name])} for a mixture of shape "
                                      f"{mixture.shape}")
        return {name: np.asarray(stems[name], dtype=np.float32) for name in STEM_NAMES}


@dataclass(frozen=True)
class OracleSystem:
    """The true stems: what perfect separation would give."""

    name: str = "oracle"

    def estimate(self, condition: Condition) -> dict[str, np.ndarray]:
        """The condition's true stems."""
        return {name: condition.stems[name] for name in STEM_NAMES}


MIXTURE_ONLY = SeparatorSystem("mixture-only", MixtureOnlySeparator())
ORACLE = OracleSystem()
