"""Stored rows as objects: listeners and preferences, read one row at a time.

One row that cannot be read (damaged, or written by a newer version of the app)
must not hide the others: :func:`read_rows` keeps the readable ones and names each
one left out. Reading never changes a row, so a newer version still finds its data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from remixer_app.core.audiogram import Listener
from remixer_app.core.errors import ListenerError, NewerVersionError, RemixerError
from remixer_app.core.listener_json import parse_listeners
from remixer_app.core.mix_state import MixState
from remixer_app.core.mix_state_io import state_from_dict
from remixer_app.core.storage.database import StorageError

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class Preference:
    """One saved preference: a listener's settings for a track.

    Attributes
    ----------
    id
        Database id; never reused after a deletion.
    listener_id, track_key, track_name, note
        As given to :meth:`SessionStore.add_preference` (the note may have changed).
    settings
        The settings as :meth:`~remixer_app.core.mix_model.MixModel.to_dict` writes
        them (a fresh dict per read).
    created_at
        When it was saved, timezone-aware UTC.
    """

    id: int
    listener_id: str
    track_key: str
    track_name: str
    settings: Mapping[str, Any]
    note: str
    created_at: datetime

    def mix_state(self) -> MixState:
        """The settings as a :class:`MixState`, e.g. for ``MixModel.restore``.

        Raises
        ------
        SettingsError
            The settings are invalid, or were saved by a newer version of the app.
        """
        return state_from_dict(self.settings,
                               source=f"preference {self.id} ({self.track_name or self.track_key})")


def listener_from_row(lid: str, audiogram: str) -> Listener:
    """The listener of a ``listeners`` row; ``StorageError`` if it cannot be read."""
    what = f"listener {lid}"
    try:
        (listener,) = parse_listeners(json.loads(audiogram), what).values()
    except NewerVersionError as exc:  # not damaged: only newer than this version reads
        raise StorageError(str(exc)) from None
    except (ValueError, ListenerError) as exc:
        raise StorageError(f"{what} is damaged: {exc}") from None
    return listener


def preference_from_row(row: tuple[Any, ...]) -> Preference:
    """The preference of a ``preferences`` row; ``StorageError`` if it cannot be read."""
    pid, lid, key, name, settings, note, created = row
    try:
        data = json.loads(settings)
        when = datetime.fromisoformat(created)
    except ValueError as exc:
        raise StorageError(f"preference {pid} is damaged: {exc}") from None
    return Preference(pid, lid, key, name, data, note, when)


def read_rows(rows: Iterable[R], read: Callable[[R], T]) -> tuple[list[T], list[str]]:
    """``read`` of each row that it can read, and the error of each one it cannot.

    Returns
    -------
    tuple[list[T], list[str]]
        The results in the rows' order, and one sentence per row left out.
    """
    results: list[T] = []
    unreadable: list[str] = []
    for row in rows:
        try:
            results.append(read(row))
        except RemixerError as exc:
            unreadable.append(str(exc))
    return results, unreadable


def tell_skipped(skipped: Callable[[str], object] | None, unreadable: Iterable[str]) -> None:
    """Call ``skipped`` (when given) with each sentence of ``unreadable``."""
    if skipped is not None:
        for text in unreadable:
            skipped(text)


def left_out(unreadable: Sequence[str]) -> str:
    """A sentence for the user naming the rows :func:`read_rows` left out; ``""`` if none."""
    if not unreadable:
        return ""
    return (f"Left out {len(unreadable)} saved item(s) that cannot be read: "
            + "; ".join(unreadable) + ".")


def _readable(pref: Preference) -> Preference:
    pref.mix_state()
    return pref


def readable_preferences(prefs: Iterable[Preference]) -> tuple[list[Preference], list[str]]:
    """The preferences whose settings can be read (to export), and a sentence for each
    one that cannot (to tell the user what was left out)."""
    return read_rows(prefs, _readable)
