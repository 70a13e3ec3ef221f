"""Observers of a model: subscription, and delivery of each change in one order to all.

Delivery is synchronous, on the thread that made the change. An observer that raises
is logged and the others still run. A change made by an observer while a change is
being delivered is queued and delivered after it, so every observer sees the changes
in the same order.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Event = TypeVar("Event")


class Observers(Generic[Event]):
    """The observers of one model, called with its ``Event`` objects.

    Parameters
    ----------
    describe
        Names an event in the log line when an observer fails on it.
    """

    def __init__(self, describe: Callable[[Event], str] = repr) -> None:
        self._describe = describe
        self._observers: dict[int, Callable[[Event], None]] = {}
        self._next_token = 0
        self._pending: deque[Event] = deque()
        self._delivering = False

    def subscribe(self, observer: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``observer`` with every event from now on, after those subscribed earlier.

        Returns
        -------
        Callable[[], None]
            Unsubscribes ``observer``; calling it again does nothing.
        """
        token = self._next_token
        self._next_token += 1
        self._observers[token] = observer

        def unsubscribe() -> None:
            self._observers.pop(token, None)

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every observer (after any event being delivered now)."""
        self._pending.append(event)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._pending:
                current = self._pending.popleft()
                for token, observer in list(self._observers.items()):
                    if token not in self._observers:  # unsubscribed by an earlier observer
                        continue
                    try:
                        observer(current)
                    except Exception:
                        log.exception("observer %r failed on %s", observer,
                                      self._describe(current))
        finally:
            self._delivering = False
            self._pending.clear()
