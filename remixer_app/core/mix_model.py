"""The one settings model: stem gains, mute/solo, hearing aid, clip mode and listener.

The UI and the audio engine both observe a :class:`MixModel`. Every change replaces
its immutable :class:`MixState` and sends one :class:`MixChange` to the observers,
synchronously, on the thread that made the change. A change that leaves the state
as it was sends nothing, so two-way widget bindings cannot loop.

Thread model: mutate a model from one thread only (the GUI thread); it holds no
lock. Other threads may read :attr:`MixModel.state` or a
:meth:`MixModel.chain_settings` result at any time: both are immutable objects
swapped by reference, which is what the audio callback needs.

Undo covers the mix (gains, mute, solo, compressor, hearing aid, clip) but not the
listener: the listener is *who* is listening, not a slip of the hand, and undoing a
balance must never silently re-prescribe the hearing aid for somebody else. Nor does
it cover the stem set, which belongs to the open track: opening a track with other
stems (:meth:`MixModel.set_stems`) starts a new history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from remixer_app.core.audiogram import Listener
from remixer_app.core.dsp.clip import ClipMode
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.instruments import HearingAid
from remixer_app.core.mix_history import HISTORY_LIMIT, MixHistory
from remixer_app.core.mix_state import (
    MixChange,
    MixState,
    SettingsError,
    changed_fields,
    for_stems,
    with_scenario,
)
from remixer_app.core.mix_state_io import state_from_dict, state_to_dict
from remixer_app.core.observers import Observers

if TYPE_CHECKING:
    from remixer_app.core.chain_settings import ChainSettings


Observer = Callable[[MixChange], None]


class MixModel:
    """The settings being listened to, with change events and undo.

    Parameters
    ----------
    state
        The initial state; the defaults of :class:`MixState` when ``None``.
    history_limit
        How many undo steps to keep.

    Notes
    -----
    Every call that changes the mix is one undo step, except inside a gesture
    (:meth:`begin_gesture` .. :meth:`end_gesture`, e.g. a slider drag), which is one
    step however many calls it holds. A new step clears the redo history.
    """

    def __init__(self, state: MixState | None = None, *,
                 history_limit: int = HISTORY_LIMIT) -> None:
        self._state = state if state is not None else MixState()
        self._history = MixHistory(self._state, history_limit)
        self._observers: Observers[MixChange] = Observers(
            lambda change: "a change of " + ", ".join(sorted(change.fields)))
        self._chain: tuple[MixState, ChainSettings] | None = None

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> MixState:
        """The current state (immutable; replaced, never modified, on each change)."""
        return self._state

    @property
    def listener(self) -> Listener | None:
        """The current listener."""
        return self._state.listener

    def chain_settings(self) -> ChainSettings:
        """The engine settings for the current state, with mute and solo applied.

        The same object is returned until the state changes, then a new one, so the
        audio thread can tell a change by identity and swap it by reference.
        """
        state, cached = self._state, self._chain
        if cached is not None and cached[0] is state:
            return cached[1]
        settings = state.chain_settings()
        self._chain = (state, settings)
        return settings

    # ------------------------------------------------------------------ observers

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer`` with a :class:`MixChange` after every change.

        Observers are called in subscription order. One that raises is logged and
        the others still run. A change made by an observer is delivered after the
        current one has reached every observer, so all observers see the same order.

        Returns
        -------
        Callable[[], None]
            Unsubscribes ``observer``; calling it again does nothing.
        """
        return self._observers.subscribe(observer)

    def _commit(self, new: MixState, *, record: bool = True) -> None:
        old = self._state
        fields = changed_fields(old, new)
        if not fields:
            return
        if record:
            self._history.record(old)
        self._state = new
        self._observers.emit(MixChange(fields, new, old))

    # ------------------------------------------------------------------ changing

    def set_gain(self, stem: str, db: float) -> None:
        """Set one stem's gain in dB, clamped to :data:`GAIN_MIN_DB` .. :data:`GAIN_MAX_DB`.

        Raises
        ------
        ValueError
            Unknown stem, or ``db`` is NaN.
        """
        self.set_gains({stem: db})

    def set_gains(self, gains: Mapping[str, float]) -> None:
        """Set several stems' gains at once (one undo step); others keep theirs."""
        state = self._state
        self._commit(replace(state, gains_db={**state.gains_db, **gains}))

    def set_muted(self, stem: str, muted: bool = True) -> None:
        """Mute or unmute a stem."""
        current = self._state.muted
        self._commit(replace(self._state, muted=current | {stem} if muted else current - {stem}))

    def set_soloed(self, stem: str, soloed: bool = True) -> None:
        """Solo or unsolo a stem; while any stem is soloed only soloed stems are heard."""
        current = self._state.soloed
        self._commit(replace(self._state,
                             soloed=current | {stem} if soloed else current - {stem}))

    def set_compressor_enabled(self, enabled: bool) -> None:
        """Switch the compressor on or off (its parameters are kept)."""
        self._commit(replace(self._state, compressor_on=enabled))

    def set_compressor(self, params: CompressorParams) -> None:
        """Replace the compressor parameters."""
        self._commit(replace(self._state, compressor=params))

    def set_hearing_aid(self, hearing_aid: HearingAid, *, record: bool = True) -> None:
        """Choose the hearing aid; ``ValueError`` unless one of :data:`HEARING_AIDS`.

        ``record=False`` makes it no undo step: a cancelled choice going back, whose
        own step then undoes to where the mix already is, and is skipped."""
        self._commit(replace(self._state, hearing_aid=hearing_aid), record=record)

    def set_stems(self, stems: Iterable[str], *, hearing_aid: HearingAid | None = None) -> None:
        """Follow a track with the stem set ``stems`` (see
        :func:`~remixer_app.core.mix_state.for_stems` for what is kept).

        Not an undo step, and another stem set clears the undo history (the steps
        were another track's) and ends any gesture.

        Raises
        ------
        ValueError, TypeError
            ``stems`` is not a sequence of different names.
        """
        new = for_stems(self._state, stems, hearing_aid)
        if new.stems != self._state.stems:
            # A gesture in progress ends here: the sliders it moved belong to the old
            # track and are gone, so no end_gesture() will come from them.
            self._history.restart()
        self._commit(new, record=False)
        self._history.follow(self._state)

    def set_clip(self, mode: ClipMode) -> None:
        """Set the clip mode; ``ValueError`` unless it is one of :data:`CLIP_MODES`."""
        self._commit(replace(self._state, clip=mode))

    def set_listener(self, listener: Listener | None) -> None:
        """Change the listener. Not an undo step (see the module notes)."""
        self._commit(replace(self._state, listener=listener), record=False)

    def reset(self) -> None:
        """All gains to 0 dB, nothing muted or soloed (one undo step).

        The compressor, clip mode and listener are kept: they belong to the hearing
        aid, not to the balance being reset.
        """
        self._commit(replace(self._state, gains_db={}, muted=frozenset(), soloed=frozenset()))

    def apply_scenario(self, name: str) -> None:
        """Set the gains of a :data:`SCENARIOS` preset and clear mute and solo (one step).

        Mute and solo are cleared so that the preset is heard as its name promises.

        Raises
        ------
        SettingsError
            No scenario of the current stem set
            (:func:`~remixer_app.core.mix_state.scenarios_for`) has that name; the
            message lists them.
        """
        self._commit(with_scenario(self._state, name))

    def restore(self, snapshot: MixState) -> None:
        """Return to ``snapshot``'s mix (one undo step); the listener stays as it is.

        Raises
        ------
        SettingsError
            ``snapshot`` is for another stem set than the model's (another kind of
            track): its gains would mean nothing here.
        """
        self.check_stems(snapshot)
        self._commit(replace(snapshot, listener=self._state.listener))

    def check_stems(self, snapshot: MixState) -> None:
        """``SettingsError`` unless ``snapshot`` has the model's stems (see :meth:`restore`)."""
        stems = self._state.stems
        if snapshot.stems != stems:
            raise SettingsError(f"these settings are for a track with the stems "
                                f"{', '.join(snapshot.stems)}, but this track's stems are "
                                f"{', '.join(stems)}")

    # ------------------------------------------------------------------ undo

    def begin_gesture(self) -> None:
        """Start a gesture: changes until the matching :meth:`end_gesture` are one step.

        Events are still sent for every change, so the sound follows the slider.
        Gestures nest; only the outermost one makes the step.
        """
        self._history.begin_gesture(self._state)

    def end_gesture(self) -> None:
        """End a gesture; it becomes one undo step if it changed the mix at all."""
        self._history.end_gesture(self._state)

    @contextmanager
    def gesture(self) -> Iterator[None]:
        """``with model.gesture():`` brackets changes as one undo step."""
        self.begin_gesture()
        try:
            yield
        finally:
            self.end_gesture()

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` would change anything."""
        return self._history.can_undo(self._state)

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` would change anything."""
        return self._history.can_redo

    def undo(self) -> bool:
        """Go back one step; returns whether there was one.

        Within a gesture, what the gesture changed so far becomes a step first and
        is what gets undone; the gesture then goes on as a new step.
        """
        return self._go_to(self._history.undo(self._state))

    def redo(self) -> bool:
        """Redo the last undone step; returns whether there was one."""
        return self._go_to(self._history.redo(self._state))

    def _go_to(self, snapshot: MixState | None) -> bool:
        if snapshot is None:
            return False
        self._commit(replace(snapshot, listener=self._state.listener), record=False)
        self._history.moved(self._state)
        return True

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON-ready data; see :func:`state_to_dict`."""
        return state_to_dict(self._state)

    @classmethod
    def from_dict(cls, data: object, *, source: str = "mix settings") -> MixModel:
        """A new model (empty history) holding the state in ``data``.

        To load settings into an existing model, as an undo step, use
        ``model.restore(state_from_dict(data))`` and ``model.set_listener(...)``.

        Raises
        ------
        SettingsError
            ``data`` is not valid; see :func:`state_from_dict`.
        """
        return cls(state_from_dict(data, source=source))
