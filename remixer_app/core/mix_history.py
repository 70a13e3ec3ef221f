"""Undo and redo of a :class:`~remixer_app.core.mix_model.MixModel`'s mix.

A step is the state before a change. Inside a gesture (a slider drag: begin .. end,
nested) the changes make one step, recorded when the outermost gesture ends, and only
if it changed the mix: the listener is not part of the history (see the model's notes).
"""

from __future__ import annotations

from collections import deque

from remixer_app.core.mix_state import MixState, changed_fields

HISTORY_LIMIT = 200  # undo steps kept; the oldest are dropped


def _mix_changed(old: MixState, new: MixState) -> bool:
    return bool(changed_fields(old, new) - {"listener"})


class MixHistory:
    """The undo and redo stacks of one model, and the gesture in progress.

    Parameters
    ----------
    start
        The model's state when the history starts.
    limit
        How many steps each stack keeps; the oldest are dropped.
    """

    def __init__(self, start: MixState, limit: int) -> None:
        if limit < 1:
            raise ValueError("history_limit must be at least 1")
        self._undo: deque[MixState] = deque(maxlen=limit)
        self._redo: deque[MixState] = deque(maxlen=limit)
        self._depth = 0
        self._gesture_start = start

    def record(self, previous: MixState) -> None:
        """A change away from ``previous``: a step, unless a gesture is collecting them."""
        if not self._depth:
            self._push(previous)

    def begin_gesture(self, current: MixState) -> None:
        """Start a gesture (or nest one in the gesture in progress)."""
        if self._depth == 0:
            self._gesture_start = current
        self._depth += 1

    def end_gesture(self, current: MixState) -> None:
        """End a gesture; the outermost one becomes a step if it changed the mix."""
        if self._depth == 0:
            raise RuntimeError("end_gesture() without begin_gesture()")
        self._depth -= 1
        if self._depth == 0:
            self._close_gesture(current)

    def restart(self) -> None:
        """Forget every step and any gesture (the model now holds another stem set)."""
        self._depth = 0
        self._undo.clear()
        self._redo.clear()

    def follow(self, current: MixState) -> None:
        """The model moved to ``current`` outside the history (another stem set)."""
        if not self._depth:
            self._gesture_start = current

    def can_undo(self, current: MixState) -> bool:
        """Whether :meth:`undo` would give a state."""
        return (any(_mix_changed(step, current) for step in self._undo)
                or (self._depth > 0 and _mix_changed(self._gesture_start, current)))

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` would give a state."""
        return bool(self._redo)

    def undo(self, current: MixState) -> MixState | None:
        """The state to go back to from ``current``, or ``None``.

        Steps that would not change the mix (where a change made outside the history
        already went back) are dropped on the way.

        Within a gesture, what it changed so far becomes a step first and is what
        gets undone; the gesture then goes on as a new step (call :meth:`moved`).
        """
        if self._depth:
            self._close_gesture(current)
        while self._undo:
            step = self._undo.pop()
            if _mix_changed(step, current):  # a step back to here changes nothing: skipped
                self._redo.append(current)
                return step
        return None

    def redo(self, current: MixState) -> MixState | None:
        """The state an undo left, or ``None``."""
        if not self._redo:
            return None
        self._undo.append(current)
        return self._redo.pop()

    def moved(self, current: MixState) -> None:
        """The model went to ``current`` by undo or redo; a gesture goes on from there."""
        self._gesture_start = current

    def _close_gesture(self, current: MixState) -> None:
        if _mix_changed(self._gesture_start, current):
            self._push(self._gesture_start)
        self._gesture_start = current

    def _push(self, previous: MixState) -> None:
        self._undo.append(previous)
        self._redo.clear()
