"""Immutable mix settings: stem gains, mute/solo, compressor, clip mode, listener.

:class:`MixState` is what the app plays; :class:`MixChange` tells observers what changed.
The stem set is the track's: the four pop stems (:data:`STEM_NAMES`) or the 2 to 5
instruments of a classical ensemble (:mod:`remixer_app.core.instruments`), whose
hearing aid is by default the Cadenza 2 multiband compressor.
The mutable, observable, undoable holder is :class:`remixer_app.core.mix_model.MixModel`;
saving and loading is :mod:`remixer_app.core.mix_state_io`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.clip import CLIP_MODES, ClipMode
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.errors import NewerVersionError, RemixerError
from remixer_app.core.instruments import (
    HEARING_AIDS,
    HearingAid,
    default_hearing_aid,
    instrument_list,
    is_instrument_set,
)

GAIN_MIN_DB = -30.0  # slider bottom; a stem is silenced by muting it, not by its gain
GAIN_MAX_DB = 12.0   # above this the loudness-matched remix mostly just clips

#: What a :class:`MixChange` can name in its ``fields``.
CHANGE_FIELDS = ("stems", "gains", "mute", "solo", "compressor", "hearing_aid", "clip",
                 "listener")
# MixState attribute -> the change field it belongs to
_FIELD_OF = {"stems": "stems", "gains_db": "gains", "muted": "mute", "soloed": "solo",
             "compressor_on": "compressor", "compressor": "compressor",
             "hearing_aid": "hearing_aid", "clip": "clip", "listener": "listener"}
SCENARIO_BOOST_DB = 6.0  # what a classical track's "more <instrument>" scenario adds

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


class NewerSettingsError(SettingsError, NewerVersionError):
    """Mix settings written by a newer version of the app."""


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


def track_stems(names: Iterable[str]) -> tuple[str, ...]:
    """The stem set of a track whose stems are ``names``, in display order.

    Instruments are put in :data:`~remixer_app.core.instruments.INSTRUMENTS` order
    (``RemixerError`` unless 2 to 5); anything else is a pop track, which always has
    the four :data:`STEM_NAMES` (a stem it lacks is simply silent).
    """
    names = tuple(names)
    return instrument_list(names) if is_instrument_set(names) else STEM_NAMES


def scenarios_for(stems: Iterable[str]) -> Mapping[str, Mapping[str, float]]:
    """The booth presets for a stem set: :data:`SCENARIOS` for pop stems; for an
    ensemble the original balance and each instrument brought forward."""
    stems = tuple(stems)
    if not is_instrument_set(stems):
        return SCENARIOS
    return {"original balance": {},
            **{f"more {name}": {name: SCENARIO_BOOST_DB} for name in stems}}


def _stem_names(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("stems must be a sequence of stem names")
    names = tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"stems must be one or more non-empty names, not {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"stems must be different, not {', '.join(names)}")
    return names


def _stem_set(value: object, what: str, stems: tuple[str, ...]) -> frozenset[str]:
    if isinstance(value, str):  # frozenset("bass") would be a set of letters
        raise TypeError(f"{what} must be a collection of stem names, not a string")
    chosen = frozenset(value)  # type: ignore[call-overload]
    unknown = chosen - set(stems)
    if unknown:
        raise ValueError(f"unknown stem(s) in {what}: {', '.join(sorted(map(str, unknown)))}; "
                         f"stems are {', '.join(stems)}")
    return chosen


@dataclass(frozen=True)
class MixState:
    """An immutable snapshot of everything a :class:`MixModel` holds.

    Attributes
    ----------
    gains_db
        Stem -> gain in dB, every stem of :attr:`stems` present (missing ones get
        0 dB), clamped to :data:`GAIN_MIN_DB` .. :data:`GAIN_MAX_DB`; read-only.
    muted, soloed
        The muted and the soloed stems.
    compressor_on
        Whether the single-band compressor runs (after NAL-R); its parameters are kept
        while it is off, and it never runs with the multiband hearing aid.
    compressor
        Compressor parameters.
    clip
        Output clip mode, one of :data:`CLIP_MODES`.
    listener
        Whose hearing the chain is fitted to, or ``None`` before one is chosen.
    hearing_aid
        Which hearing aid, one of :data:`HEARING_AIDS`.
    stems
        The track's stem names, in display order (:data:`STEM_NAMES` by default; see
        :func:`track_stems`). Gains, mute and solo may only name these.
    """

    gains_db: Mapping[str, float] = field(default_factory=dict)
    muted: frozenset[str] = frozenset()
    soloed: frozenset[str] = frozenset()
    compressor_on: bool = False
    compressor: CompressorParams = field(default_factory=CompressorParams)
    clip: ClipMode = "hard"
    listener: Listener | None = None
    hearing_aid: HearingAid = "nalr"
    stems: tuple[str, ...] = STEM_NAMES

    def __post_init__(self) -> None:
        stems = _stem_names(self.stems)
        object.__setattr__(self, "stems", stems)
        unknown = set(self.gains_db) - set(stems)
        if unknown:
            raise ValueError(f"unknown stem(s) {', '.join(sorted(map(str, unknown)))}; "
                             f"stems are {', '.join(stems)}")
        gains = {name: clamp_gain(self.gains_db.get(name, 0.0)) for name in stems}
        object.__setattr__(self, "gains_db", MappingProxyType(gains))
        object.__setattr__(self, "muted", _stem_set(self.muted, "muted", stems))
        object.__setattr__(self, "soloed", _stem_set(self.soloed, "soloed", stems))
        object.__setattr__(self, "compressor_on", bool(self.compressor_on))
        if not isinstance(self.compressor, CompressorParams):
            raise TypeError("compressor must be a CompressorParams")
        if self.clip not in CLIP_MODES:
            raise ValueError(f"clip must be one of {', '.join(CLIP_MODES)}, not {self.clip!r}")
        if self.hearing_aid not in HEARING_AIDS:
            raise ValueError(f"hearing_aid must be one of {', '.join(HEARING_AIDS)}, "
                             f"not {self.hearing_aid!r}")

    def __hash__(self) -> int:
        # The generated hash would fail on the mapping proxy.
        return hash((self.stems, tuple(self.gains_db.values()), self.muted, self.soloed,
                     self.compressor_on, self.compressor, self.clip, self.listener,
                     self.hearing_aid))

    @property
    def single_band_compressor(self) -> bool:
        """Whether the single-band compressor is heard: on, with the NAL-R hearing aid."""
        return self.compressor_on and self.hearing_aid == "nalr"

    def audible(self, stem: str) -> bool:
        """Whether ``stem`` is heard: not muted, and soloed when any stem is (mute wins)."""
        return stem not in self.muted and (not self.soloed or stem in self.soloed)

    def chain_settings(self) -> ChainSettings:
        """A new :class:`~remixer_app.core.chain_settings.ChainSettings` for this state.

        Stems that are not :meth:`audible` get ``-inf`` dB, which the engine renders
        as silence; the compressor is ``None`` unless :attr:`single_band_compressor`.
        """
        gains = {name: gain if self.audible(name) else -math.inf
                 for name, gain in self.gains_db.items()}
        return ChainSettings(gains_db=MappingProxyType(gains),
                             compressor=self.compressor if self.single_band_compressor
                             else None,
                             clip=self.clip)


def changed_fields(old: MixState, new: MixState) -> frozenset[str]:
    """The :data:`CHANGE_FIELDS` in which ``old`` and ``new`` differ."""
    return frozenset(name for attr, name in _FIELD_OF.items()
                     if getattr(old, attr) != getattr(new, attr))


def scenario_of(state: MixState) -> str | None:
    """The :func:`scenarios_for` entry ``state`` sounds like (no mute or solo), if any."""
    if state.muted or state.soloed:
        return None
    for name, gains in scenarios_for(state.stems).items():
        if all(state.gains_db[s] == gains.get(s, 0.0) for s in state.stems):
            return name
    return None


def for_stems(state: MixState, stems: Iterable[str],
              hearing_aid: HearingAid | None = None) -> MixState:
    """``state`` for a track with the stem set ``stems`` (see :func:`track_stems`).

    Gains, mute and solo of the stems both sets share are kept, as they are across
    tracks with the same stems. The hearing aid becomes ``hearing_aid`` if given; else,
    when the track changes kind (pop or classical), that kind's default; else it is kept.

    Raises
    ------
    ValueError, TypeError
        ``stems`` is not a sequence of different names.
    """
    names = tuple(stems)
    if hearing_aid is None:
        same_kind = is_instrument_set(names) == is_instrument_set(state.stems)
        hearing_aid = state.hearing_aid if same_kind else default_hearing_aid(names)
    return replace(state, stems=names, hearing_aid=hearing_aid,
                   gains_db={k: v for k, v in state.gains_db.items() if k in names},
                   muted=state.muted & set(names), soloed=state.soloed & set(names))


def with_scenario(state: MixState, name: str) -> MixState:
    """``state`` with the gains of the :func:`scenarios_for` entry ``name``, nothing
    muted or soloed (so that it is heard as its name promises).

    Raises
    ------
    SettingsError
        No scenario of the state's stem set has that name; the message lists them.
    """
    scenarios = scenarios_for(state.stems)
    if name not in scenarios:
        raise SettingsError(f"unknown scenario {name!r}; choose one of "
                            f"{', '.join(scenarios)}")
    return replace(state, gains_db=dict(scenarios[name]), muted=frozenset(),
                   soloed=frozenset())


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
