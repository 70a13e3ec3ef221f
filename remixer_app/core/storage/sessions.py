"""Clinician sessions: listeners and their preferred settings per track, in SQLite.

Thread model: a :class:`SessionStore` is used from the thread that opened it (the
GUI thread); SQLite enforces this. Every call takes milliseconds on a database of
this size, so the GUI does not need a worker for it. Another thread, or another
instance of the app, opens its own store: WAL mode lets readers and one writer
share the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from remixer_app.core.audiogram import Listener
from remixer_app.core.listener_json import listener_to_dict
from remixer_app.core.mix_state_io import state_from_dict, state_to_dict
from remixer_app.core.paths import user_data_dir
from remixer_app.core.storage.csv_export import write_preferences_csv
from remixer_app.core.storage.database import (
    StorageError,
    open_database,
    transaction,
    translated,
)
from remixer_app.core.storage.records import (
    Preference,
    listener_from_row,
    preference_from_row,
    read_rows,
    tell_skipped,
)

DEFAULT_FILE_NAME = "sessions.sqlite3"
_REPLACE = ("DO UPDATE SET name = excluded.name, audiogram = excluded.audiogram, "
            "updated_at = excluded.updated_at")


class SessionStore:
    """The clinician's database of listeners and preferences.

    Parameters
    ----------
    path
        The database file; ``user_data_dir() / "sessions.sqlite3"`` when ``None``.
        Its folder is created.
    clock
        Returns the current time (timezone-aware); for tests.

    Raises
    ------
    StorageError
        See :func:`~remixer_app.core.storage.database.open_database`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path) if path is not None else user_data_dir() / DEFAULT_FILE_NAME
        self._clock = clock or (lambda: datetime.now(UTC))
        self._conn = open_database(self.path)

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        self._conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _now(self) -> str:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now.astimezone(UTC).isoformat(timespec="microseconds")

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with translated(self.path, "read the session database"):
            return self._conn.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ listeners

    def save_listener(self, listener: Listener) -> None:
        """Add a listener, or replace the name and audiograms of one with the same id."""
        self._insert_listener(listener, _REPLACE)

    def replace_listener(self, listener: Listener, expected: Listener | None) -> bool:
        """Save ``listener`` only if the stored listener of its id is still ``expected``.

        Another window or instance of the app may have saved that profile since the
        user last saw it; then nothing is written, so that change is not lost unasked.

        Parameters
        ----------
        listener
            The listener to save.
        expected
            The stored listener of that id as the caller last read it; ``None``:
            there was none.

        Returns
        -------
        bool
            Whether ``listener`` was saved.

        Raises
        ------
        StorageError
            The stored listener cannot be read (a damaged row, or one saved by a
            newer version, is never replaced this way), or the database cannot be
            written.
        """
        with transaction(self._conn, self.path, f"save listener {listener.id}"):
            row = self._conn.execute("SELECT audiogram FROM listeners WHERE id = ?",
                                     (listener.id,)).fetchone()
            current = self._listener(listener.id, row[0]) if row else None
            return current == expected and self._write_listener(listener, _REPLACE)

    def add_listener(self, listener: Listener) -> bool:
        """Add a listener unless one with the same id is saved, which is kept as it is.

        Returns
        -------
        bool
            Whether the listener was added.
        """
        return self._insert_listener(listener, "DO NOTHING")

    def _insert_listener(self, listener: Listener, on_conflict: str) -> bool:
        with transaction(self._conn, self.path, f"save listener {listener.id}"):
            return self._write_listener(listener, on_conflict)

    def _write_listener(self, listener: Listener, on_conflict: str) -> bool:
        """Insert ``listener`` inside a transaction; ``on_conflict`` (SQL) says what an
        existing id gets. Returns whether a row was written."""
        now = self._now()
        cursor = self._conn.execute(
            "INSERT INTO listeners (id, name, audiogram, created_at, updated_at) "
            f"VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) {on_conflict}",
            (listener.id, listener.name, json.dumps(listener_to_dict(listener)), now, now))
        return cursor.rowcount > 0

    def _listener(self, lid: str, audiogram: str) -> Listener:
        try:
            return listener_from_row(lid, audiogram)
        except StorageError as exc:
            raise StorageError(f"{self.path}: {exc}") from None

    def read_listeners(self) -> tuple[list[Listener], list[str]]:
        """Every listener that can be read, as :meth:`listeners` orders them, and one
        sentence per listener left out (damaged, or saved by a newer version of the
        app); those rows stay as they are."""
        rows = self._read("SELECT id, audiogram FROM listeners ORDER BY "
                          "(CASE name WHEN '' THEN id ELSE name END) COLLATE NOCASE, id")
        return read_rows(rows, lambda row: listener_from_row(*row))

    def listeners(self) -> list[Listener]:
        """Every listener that can be read (see :meth:`read_listeners`), by display name
        (case-insensitive), then id."""
        return self.read_listeners()[0]

    def listener(self, listener_id: str) -> Listener | None:
        """The listener with that id, or ``None``; ``StorageError`` if it cannot be read."""
        rows = self._read("SELECT id, audiogram FROM listeners WHERE id = ?", (listener_id,))
        return self._listener(*rows[0]) if rows else None

    def delete_listener(self, listener_id: str, *, cascade: bool = False) -> int:
        """Delete a listener; with ``cascade``, their preferences too.

        A listener's preferences are clinical records, so they are only deleted
        when asked for explicitly.

        Returns
        -------
        int
            How many preferences were deleted.

        Raises
        ------
        StorageError
            No such listener, or they have preferences and ``cascade`` is false.
        """
        with transaction(self._conn, self.path, f"delete listener {listener_id}"):
            (count,) = self._conn.execute(
                "SELECT count(*) FROM preferences WHERE listener_id = ?",
                (listener_id,)).fetchone()
            if count and not cascade:
                raise StorageError(f"listener {listener_id} has {count} saved preference(s); "
                                   "delete those first, or delete them together")
            self._conn.execute("DELETE FROM preferences WHERE listener_id = ?", (listener_id,))
            if not self._conn.execute("DELETE FROM listeners WHERE id = ?",
                                      (listener_id,)).rowcount:
                raise StorageError(f"there is no listener {listener_id!r} in {self.path}")
        return int(count)

    # ------------------------------------------------------------------ preferences

    def add_preference(self, listener_id: str, track_key: str, track_name: str,
                       settings: Mapping[str, Any], note: str = "") -> int:
        """Save a listener's settings for a track; returns the new preference's id.

        ``settings`` is validated and stored in the canonical form of
        :func:`~remixer_app.core.mix_model.state_to_dict` (gains clamped, defaults
        filled in), so every stored preference can be loaded again.

        Raises
        ------
        SettingsError
            ``settings`` is not valid mix settings.
        StorageError
            The listener is not in the database, ``track_key`` is empty, or the
            database cannot be written.
        """
        if not track_key:
            raise StorageError("a preference needs a track key (a content hash or path)")
        canonical = state_to_dict(state_from_dict(dict(settings), source="the settings"))
        text = json.dumps(canonical, allow_nan=False)
        with transaction(self._conn, self.path, "save the preference"):
            if not self._conn.execute("SELECT 1 FROM listeners WHERE id = ?",
                                      (listener_id,)).fetchone():
                raise StorageError(f"there is no listener {listener_id!r} in {self.path}; "
                                   "save the listener first")
            cursor = self._conn.execute(
                "INSERT INTO preferences (listener_id, track_key, track_name, settings, note, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (listener_id, track_key, track_name, text, note, self._now()))
        return int(cursor.lastrowid or 0)

    def read_preferences(self, listener_id: str | None = None, track_key: str | None = None
                         ) -> tuple[list[Preference], list[str]]:
        """Saved preferences that can be read, newest first, optionally of one listener
        and/or track, and one sentence per damaged row left out (it stays as it is)."""
        where, args = [], []
        for column, value in (("listener_id", listener_id), ("track_key", track_key)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = ("SELECT id, listener_id, track_key, track_name, settings, note, created_at "
               "FROM preferences" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY created_at DESC, id DESC")
        return read_rows(self._read(sql, tuple(args)), preference_from_row)

    def preferences(self, listener_id: str | None = None,
                    track_key: str | None = None) -> list[Preference]:
        """Saved preferences that can be read (see :meth:`read_preferences`), newest
        first, optionally of one listener and/or track."""
        return self.read_preferences(listener_id, track_key)[0]

    def _change_preference(self, sql: str, args: tuple[object, ...], pref_id: int,
                           action: str) -> None:
        with transaction(self._conn, self.path, action):
            if not self._conn.execute(sql, args).rowcount:
                raise StorageError(f"there is no saved preference {pref_id} in {self.path}")

    def update_note(self, pref_id: int, note: str) -> None:
        """Replace a preference's note; ``StorageError`` if there is no such preference."""
        self._change_preference("UPDATE preferences SET note = ? WHERE id = ?", (note, pref_id),
                                pref_id, "save the note")

    def delete_preference(self, pref_id: int) -> None:
        """Delete a preference; ``StorageError`` if there is no such preference."""
        self._change_preference("DELETE FROM preferences WHERE id = ?", (pref_id,), pref_id,
                                "delete the preference")

    def export_csv(self, path: str | os.PathLike[str], listener_id: str | None = None, *,
                   overwrite: bool = False,
                   skipped: Callable[[str], object] | None = None,
                   counted: Callable[[int], object] | None = None) -> Path:
        """Write the preferences (of one listener, or all) as CSV, newest first, atomically.

        See :func:`~remixer_app.core.storage.csv_export.write_preferences_csv` for
        the columns. A preference that cannot be read (damaged, or saved by a newer
        version of the app) is left out of the table, and ``skipped`` is called with
        a sentence naming it; ``counted`` gets the number of preferences written.

        Raises
        ------
        ExportError
            The file exists and ``overwrite`` is false, or it cannot be written.
        """
        names = {lid: name or lid for lid, name in self._read("SELECT id, name FROM listeners")}
        prefs, unreadable = self.read_preferences(listener_id=listener_id)
        tell_skipped(skipped, unreadable)
        rows = [(pref, names.get(pref.listener_id, pref.listener_id)) for pref in prefs]
        return write_preferences_csv(path, rows, overwrite=overwrite, skipped=skipped,
                                     counted=counted)
