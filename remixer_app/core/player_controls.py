"""What the listener sets on playback, as the player's callback reads it.

The source heard, the master volume, the loop, the chain settings played (and the remix
weights they resolve to) and each source's level-match gain
(:mod:`remixer_app.core.player_levels`). :class:`Controls` keeps them on the GUI thread
and, at each change, publishes them as a new immutable
:class:`~remixer_app.core.player_mixer.Params`, which the callback picks up by reference
at its next block.

Sources:

``"original"``
    The track's mixture.
``"remix"``
    The stems with the current gains, ``sum_k plan.weights[k] * stem_k`` in the order of
    ``engine.stem_names``; the plan's weights already hold the engine's loudness match
    of the remix to the mixture. No hearing aid.
``"aided"``
    The hearing-aid output of a :class:`~remixer_app.core.stream.StreamRenderer`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from remixer_app.core.aid_effect import AidEffect, measure_aid_effect
from remixer_app.core.chain_settings import ChainSettings, RenderPlan
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.player_levels import UNITY_GAINS, LevelMatcher
from remixer_app.core.player_mixer import SPLICE_FRAMES, Params
from remixer_app.core.progress import CancelCheck, check_cancelled

Source = Literal["original", "remix", "aided"]
SOURCES: tuple[Source, ...] = ("original", "remix", "aided")
MIN_LOOP_SECONDS = 0.1


class Controls:
    """The playback controls of one track (GUI thread) and the :class:`Params` they make.

    Parameters
    ----------
    engine
        The prepared engine of the track: resolves settings into remix weights.
    mixture
        The track's mixture, (frames, 2): the loudness every source is matched to.
    settings
        The chain settings to start with.
    cancelled
        Polled between the steps of building (each up to a second for a song); when
        it turns true, :class:`~remixer_app.core.errors.Cancelled` is raised.

    Attributes
    ----------
    params
        What the callback reads: replaced, never changed, at every change.
    """

    def __init__(self, engine: HearingAidEngine, mixture: np.ndarray,
                 settings: ChainSettings, cancelled: CancelCheck | None = None) -> None:
        self._engine = engine
        start = fitted(settings, engine.stem_names)
        self._matcher = LevelMatcher(mixture, engine.aided, engine.rate,
                                     match_remix=engine.hearing_aid == "multiband",
                                     input_gain=engine.input_gain)
        check_cancelled(cancelled)
        self._aid_effect = measure_aid_effect(engine, start)
        check_cancelled(cancelled)
        self._source = 2
        self._volume = 1.0
        self._loop: tuple[int, int] | None = None
        self._level_match = True
        self.apply(start)
        self.publish()

    @property
    def source(self) -> Source:
        """The source being heard."""
        return SOURCES[self._source]

    @property
    def volume(self) -> float:
        """Master volume, a linear gain in 0 .. 1."""
        return self._volume

    @property
    def loop(self) -> tuple[int, int] | None:
        """The loop region ``(start, end)`` in frames, or ``None``."""
        return self._loop

    @property
    def settings(self) -> ChainSettings:
        """The chain settings being played."""
        return self._settings

    @property
    def aid_effect(self) -> AidEffect:
        """What the aid adds to its linear part, as last measured (:meth:`set_aid_effect`)."""
        return self._aid_effect

    @property
    def level_gains(self) -> dict[Source, float]:
        """The linear level-match gain of each source (all 1 while matching is off)."""
        return dict(zip(SOURCES, self._match, strict=True))

    def set_source(self, source: Source) -> None:
        """Switch to ``"original"``, ``"remix"`` or ``"aided"`` (``ValueError`` otherwise)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        self._source = SOURCES.index(source)
        self.publish()

    def set_volume(self, volume: float) -> None:
        """Set the master volume (linear, clamped to 0 .. 1)."""
        value = float(volume)
        if math.isnan(value):
            raise ValueError("volume must be a number")
        self._volume = min(1.0, max(0.0, value))
        self.publish()

    def set_loop(self, region: tuple[int, int] | None, duration: int, rate: int) -> None:
        """Loop ``(start, end)`` (frames, clamped to a track of ``duration`` frames) or
        nothing (``None``).

        An ``end`` within :data:`~remixer_app.core.player_mixer.SPLICE_FRAMES` of the
        track's end is moved back that far (12 ms), so that the wrap crossfades into
        audio past it.

        Raises
        ------
        ValueError
            The region is shorter than :data:`MIN_LOOP_SECONDS`.
        """
        if region is not None:
            start, end = (int(np.clip(x, 0, duration)) for x in region)
            if end - start < MIN_LOOP_SECONDS * rate:
                raise ValueError(f"a loop must last at least {MIN_LOOP_SECONDS} s")
            region = (start, min(end, duration - SPLICE_FRAMES))
        self._loop = region
        self.publish()

    def into_loop(self, frame: int) -> int:
        """Where ``frame``, past the loop's end, would be had the loop wrapped in time."""
        if self._loop is None or frame < self._loop[1]:
            return frame
        start, end = self._loop
        return start + (frame - end) % (end - start)

    def set_level_match(self, enabled: bool) -> None:
        """Switch level matching on or off."""
        self._level_match = bool(enabled)
        self._match = self._match_gains()
        self.publish()

    def apply(self, settings: ChainSettings) -> RenderPlan:
        """Take ``settings`` (:func:`fitted` to the track) and return their plan.

        Not yet published: call :meth:`publish` once the renderers have the plan.
        """
        self._settings = fitted(settings, self._engine.stem_names)
        plan = self._engine.plan(self._settings)  # once per change, for all the renderers
        self._weights = _frozen(plan.weights)
        self._match = self._match_gains()
        return plan

    def set_aid_effect(self, effect: AidEffect) -> None:
        """Level-match the aided source with ``effect`` from now on."""
        self._aid_effect = effect
        self._match = self._match_gains()
        self.publish()

    def publish(self) -> None:
        """Hand the callback the controls as they are now."""
        self.params = Params(self._source, self._volume, self._match, self._weights,
                             self._loop)

    def _match_gains(self) -> tuple[float, float, float]:
        if not self._level_match:
            return UNITY_GAINS
        return self._matcher.gains(self._weights, self._aid_effect.gain_db)


def fitted(settings: ChainSettings, stem_names: Sequence[str]) -> ChainSettings:
    """``settings`` without gains of stems this track lacks (the model names all four)."""
    names = set(stem_names)
    if set(settings.gains_db) <= names:
        return settings
    gains = {k: v for k, v in settings.gains_db.items() if k in names}
    return ChainSettings(gains, settings.compressor, settings.clip)


def _frozen(weights: np.ndarray) -> np.ndarray:
    copy = np.array(weights, dtype=np.float64)
    copy.setflags(write=False)
    return copy
