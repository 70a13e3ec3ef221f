"""Immutable mix settings: stem gains, mute/solo, compressor, clip mode, listener.

:class:`MixState` is what the app plays; :class:`MixChange` tells observers what changed.
The mutable, observable, undoable holder is :class:`remixer_app.core.mix_model.MixModel`;
saving and loading is :mod:`remixer_app.core.mix_state_io`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import Listener
from remixer_app.core.dsp.clip import CLIP_MODES, ClipMode
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.errors import RemixerError

if TYPE_CHECKING:
    from remixer_app.core.engine import ChainSettings

GAIN_MIN_DB = -30.0  # slider bottom; a stem is silenced by muting it, not by its gain
GAIN_MAX_DB = 12.0   # above this the loudness-matched remix mostly just clips

#: What a :class:`MixChange` can name in its ``fields``.
CHANGE_FIELDS = ("gains", "mute", "solo", "compressor", "clip", "listener")
# MixState attribute -> the change field it belongs to
_FIELD_OF = {"gains_db": "gains", "muted": "mute", "soloed": "solo", "compressor_on": "compressor",
             "compressor": "compressor", "clip": "clip", "listener": "listener"}

#: Demo-booth presets: stem -> gain in dB (stems not named get 0 dB). The engine matches
#: the remix loudness to the original, so only the differences between stems matter.
SCENARIOS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "original balance": MappingProxyType({}),
    "clearer vocals": MappingProxyType({"vocals": 6.0, "drums": -3.0, "bass": -3.0,
                                        "other": -3.0}),
    "less drums": MappingProxyType({"drums": -10.0}),
    "more bass": MappingProxyType({"bass": 6.0}),
})


class SettingsError(RemixerError):
    """Saved mix settings are malformed, from another version, or out of range."""


def clamp_gain(db: float) -> float:
    """``db`` as a float limited to :data:`GAIN_MIN_DB` .. :data:`GAIN_MAX_DB`.

    Raises
    ------
    ValueError
        ``db`` is NaN.
    """
    value = float(db)
    if math.isnan(value):
        raise ValueError("a gain must be a number of dB, not NaN")
    return min(GAIN_MAX_DB, max(GAIN_MIN_DB, value))


def _stem_set(value: object, what: str) -> frozenset[str]:
    if isinstance(value, str):  # frozenset("bass") would be a set of letters
        raise TypeError(f"{what} must be a collection of stem names, not a string")
    stems = frozenset(value)  # type: ignore[arg-type]
    unknown = stems - set(STEM_NAMES)
    if unknown:
        raise ValueError(f"unknown stem(s) in {what}: {', '.join(sorted(map(str, unknown)))}; "
                         f"stems are {', '.join(STEM_NAMES)}")
    return stems


@dataclass(frozen=True)
class MixState:
    """An immutable snapshot of everything a :class:`MixModel` holds.

    Attributes
    ----------
    gains_db
        Stem -> gain in dB, every stem of :data:`STEM_NAMES` present (missing ones get
        0 dB), clamped to :data:`GAIN_MIN_DB` .. :data:`GAIN_MAX_DB`; read-only.
    muted, soloed
        The muted and the soloed stems.
    compressor_on
        Whether the compressor runs; its parameters are kept while it is off.
    compressor
        Compressor parameters.
    clip
        Output clip mode, one of :data:`CLIP_MODES`.
    listener
        Whose hearing the chain is fitted to, or ``None`` before one is chosen.
    """

    gains_db: Mapping[str, float] = field(default_factory=dict)
    muted: frozenset[str] = frozenset()
    soloed: frozenset[str] = frozenset()
    compressor_on: bool = False
    compressor: CompressorParams = field(default_factory=CompressorParams)
    clip: ClipMode = "hard"
    listener: Listener | None = None

    def __post_init__(self) -> None:
        unknown = set(self.gains_db) - set(STEM_NAMES)
        if unknown:
            raise ValueError(f"unknown stem(s) {', '.join(sorted(map(str, unknown)))}; "
                             f"stems are {', '.join(STEM_NAMES)}")
        gains = {name: clamp_gain(self.gains_db.get(name, 0.0)) for name in STEM_NAMES}
        object.__setattr__(self, "gains_db", MappingProxyType(gains))
        object.__setattr__(self, "muted", _stem_set(self.muted, "muted"))
        object.__setattr__(self, "soloed", _stem_set(self.soloed, "soloed"))
        object.__setattr__(self, "compressor_on", bool(self.compressor_on))
        if not isinstance(self.compressor, CompressorParams):
            raise TypeError("compressor must be a CompressorParams")
        if self.clip not in CLIP_MODES:
            raise ValueError(f"clip must be one of {', '.join(CLIP_MODES)}, not {self.clip!r}")

    def __hash__(self) -> int:
        # The generated hash would fail on the mapping proxy.
        return hash((tuple(self.gains_db.values()), self.muted, self.soloed, self.compressor_on,
                     self.compressor, self.clip, self.listener))

    def audible(self, stem: str) -> bool:
        """Whether ``stem`` is heard: not muted, and soloed when any stem is (mute wins)."""
        return stem not in self.muted and (not self.soloed or stem in self.soloed)

    def chain_settings(self) -> ChainSettings:
        """A new :class:`~remixer_app.core.engine.ChainSettings` for this state.

        Stems that are not :meth:`audible` get ``-inf`` dB, which the engine renders
        as silence; the compressor is ``None`` while it is off.
        """
        # Imported here: the engine pulls in scipy.signal (seconds), which code that
        # only edits or stores settings (the CLI, the session database) should not pay.
        from remixer_app.core.engine import ChainSettings

        gains = {name: gain if self.audible(name) else -math.inf
                 for name, gain in self.gains_db.items()}
        return ChainSettings(gains_db=MappingProxyType(gains),
                             compressor=self.compressor if self.compressor_on else None,
                             clip=self.clip)


def changed_fields(old: MixState, new: MixState) -> frozenset[str]:
    """The :data:`CHANGE_FIELDS` in which ``old`` and ``new`` differ."""
    return frozenset(name for attr, name in _FIELD_OF.items()
                     if getattr(old, attr) != getattr(new, attr))


def scenario_of(state: MixState) -> str | None:
    """The :data:`SCENARIOS` entry ``state`` sounds like (no mute or solo), if any."""
    if state.muted or state.soloed:
        return None
    for name, gains in SCENARIOS.items():
        if all(state.gains_db[s] == gains.get(s, 0.0) for s in STEM_NAMES):
            return name
    return None


@dataclass(frozen=True)
class MixChange:
    """What an observer of a :class:`MixModel` receives.

    Attributes
    ----------
    fields
        Which parts changed, a non-empty subset of :data:`CHANGE_FIELDS`.
    state
        The state after the change.
    previous
        The state before it.
    """

    fields: frozenset[str]
    state: MixState
    previous: MixState
