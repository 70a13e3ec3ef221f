"""The GUI thread's bookkeeping of the cursors the player's callback plays.

A seek replaces the cursor the callback reads; a loop keeps a spare cursor ready at the
loop start for the callback to jump to. Either way an old cursor leaves the callback's
hands, and its renderer must be freed on the GUI thread, never by the callback dropping
the last reference: :class:`CursorChain` keeps replaced cursors until the next
:meth:`CursorChain.collect` after the one that saw them replaced.
"""

from __future__ import annotations

from collections.abc import Callable

from remixer_app.core.player_mixer import Cursor

#: Cursors kept for freeing when nobody calls collect() (headless use); long idle by then.
GRAVEYARD_LIMIT = 32


class CursorChain:
    """The cursor being played, its loop spare, and the cursors waiting to be freed.

    Parameters
    ----------
    make
        Builds a cursor at a frame (with a renderer seeked there).

    Notes
    -----
    GUI thread only, except :meth:`head`, which the callback also calls: it only reads.
    """

    def __init__(self, make: Callable[[int], Cursor]) -> None:
        self._make = make
        self._current = make(0)
        self._graveyard: list[Cursor] = []
        self._graveyard_old: list[Cursor] = []

    def head(self) -> Cursor:
        """The cursor being played: the last one the callback jumped to."""
        cursor = self._current
        while cursor.successor is not None:
            cursor = cursor.successor
        return cursor

    def replace(self, frame: int, loop: tuple[int, int] | None) -> None:
        """Play from ``frame`` with a new cursor (a seek), re-arming the loop spare."""
        self._bury(self._current)
        self._current = self._make(frame)
        self.arm_spare(loop, rebuild=False)

    def arm_spare(self, loop: tuple[int, int] | None, *, rebuild: bool) -> None:
        """Give the head a spare at the loop start (none without a loop).

        ``rebuild`` replaces a spare already there (the loop or the settings changed).
        """
        head = self.head()
        old = head.spare
        if loop is None:
            head.spare = None
        elif rebuild or old is None or old.position != loop[0]:
            head.spare = self._make(loop[0])
        if old is not None and head.spare is not old:
            self._bury(old)

    def collect(self) -> Cursor:
        """Free what was replaced before the previous call; return the head.

        The cursors the loop jumped from are dropped here too.
        """
        self._graveyard_old, self._graveyard = self._graveyard, []
        head = self.head()
        if head is not self._current:
            self._bury(self._current)
            self._current = head
        return head

    def _bury(self, cursor: Cursor) -> None:
        self._graveyard.append(cursor)
        if len(self._graveyard) > GRAVEYARD_LIMIT:
            del self._graveyard[:GRAVEYARD_LIMIT // 2]
