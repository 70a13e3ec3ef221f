"""The session database file: opening it safely, its schema versions and SQLite errors.

Crash safety comes from SQLite itself: the file is in WAL mode with
``synchronous=FULL`` and every write is one transaction, so a crash or a power cut
leaves each write either complete and durable or absent, never half done.
``FULL`` rather than ``NORMAL`` because a clinician who pressed *Save* expects the
preference to survive a power cut too; at a few writes a minute its cost is nil.

A file that is not ours (another program's database, a damaged file, one written
by a newer version of the app) is refused with a :class:`StorageError` before
anything is written to it, so the user's data is never overwritten.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from remixer_app.core.errors import RemixerError

SQLITE_HEADER = b"SQLite format 3\x00"
APPLICATION_ID = 0x524D5853  # "RMXS" in the file header marks the database as ours
BUSY_TIMEOUT_S = 5.0         # another instance of the app may be writing

#: Schema migrations, in order: ``MIGRATIONS[v]`` upgrades version ``v`` to ``v + 1``
#: (``PRAGMA user_version``). Append new steps; never edit a released one.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE listeners (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            audiogram TEXT NOT NULL,            -- listener_to_dict() JSON, both ears
            created_at TEXT NOT NULL,           -- ISO-8601 UTC
            updated_at TEXT NOT NULL
        )""",
        # AUTOINCREMENT so the id of a deleted preference is never handed out again:
        # a window still showing it must not end up editing another one.
        """CREATE TABLE preferences (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            listener_id TEXT NOT NULL REFERENCES listeners(id),
            track_key TEXT NOT NULL,            -- content hash or path of the track
            track_name TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL,             -- MixModel.to_dict() JSON
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL            -- ISO-8601 UTC
        )""",
        "CREATE INDEX preferences_by_listener ON preferences (listener_id, created_at)",
        "CREATE INDEX preferences_by_track ON preferences (track_key, created_at)",
    ),
]

# Primary SQLite result codes (extended codes carry them in the low byte).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 26)


class StorageError(RemixerError):
    """The session database cannot be opened, read or written."""


def _untouched(path: Path) -> str:
    return (f"it was left untouched at {path}; move or rename it and a new, empty "
            "database will be created")


def storage_error(exc: sqlite3.Error, path: Path, action: str) -> StorageError:
    """A :class:`StorageError` with one clear sentence for an ``sqlite3`` error."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _FULL:
        return StorageError(f"not enough disk space to {action} ({path})")
    if code in (_CORRUPT, _NOTADB):
        return StorageError(f"the session database is damaged; {_untouched(path)}")
    if code in (_READONLY, _CANTOPEN, _PERM):
        return StorageError(f"cannot {action}: {path} cannot be written ({exc})")
    if code in (_BUSY, _LOCKED):
        return StorageError(f"cannot {action}: {path} is busy in another program")
    if code == _IOERR:
        return StorageError(f"cannot {action}: a disk error occurred on {path} ({exc})")
    return StorageError(f"cannot {action} ({path}): {exc}")


@contextmanager
def translated(path: Path, action: str) -> Iterator[None]:
    """Turn ``sqlite3`` errors raised inside into :class:`StorageError`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise storage_error(exc, path, action) from exc


@contextmanager
def transaction(conn: sqlite3.Connection, path: Path, action: str) -> Iterator[None]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with translated(path, action):
        # IMMEDIATE takes the write lock up front, so a busy database fails here
        # rather than half-way through the block.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                # SQLite may have rolled back already (e.g. disk full): keep the first error.
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _check_header(path: Path) -> None:
    # Checked before SQLite sees the file: it would happily turn a stray empty-looking
    # file into a database, and its errors do not say which file is at fault.
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise StorageError(f"{path} is a folder, not a session database") from None
    except OSError as exc:
        raise StorageError(f"cannot read the session database {path}: "
                           f"{exc.strerror or exc}") from exc
    if head and head != SQLITE_HEADER:  # an empty file is an empty database
        raise StorageError(f"{path} is not a session database (it may be damaged); "
                           f"{_untouched(path)}")


def _check_identity(conn: sqlite3.Connection, path: Path) -> None:
    # One read transaction: another copy of the app creating the tables between two
    # separate reads would show a version 0 with tables in it, "not ours".
    conn.execute("BEGIN")
    try:
        _read_identity(conn, path)
    finally:
        with suppress(sqlite3.Error):  # it only read; the first error is the one to report
            conn.execute("ROLLBACK")


def _read_identity(conn: sqlite3.Connection, path: Path) -> None:
    app_id = _pragma(conn, "application_id")
    version = _pragma(conn, "user_version")
    if app_id not in (0, APPLICATION_ID):
        raise StorageError(f"{path} is another program's database; {_untouched(path)}")
    if version > len(MIGRATIONS):
        raise StorageError(f"{path} was written by a newer version of remixer_app (database "
                           f"version {version}, this version reads up to {len(MIGRATIONS)}); "
                           "update the app. The file was left untouched.")
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise StorageError(f"{path} holds tables that are not remixer_app's; "
                           f"{_untouched(path)}")
    problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        first = problems[0].replace("*** in database main ***", "").strip().splitlines()[0]
        raise StorageError(f"the session database is damaged ({first}); {_untouched(path)}")


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL mode, waiting up to :data:`BUSY_TIMEOUT_S` for other connections.

    While another connection writes (another copy of the app creating the tables of a
    new file at the same moment), SQLite answers "busy" here at once, without waiting
    its busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
            if code not in (_BUSY, _LOCKED) or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the pending :data:`MIGRATIONS` in one transaction; returns the new version.

    Either every pending step is applied or, on any error, none is.
    """
    target = len(MIGRATIONS)
    with translated(path, "read the session database"):
        if _pragma(conn, "user_version") >= target:
            return _pragma(conn, "user_version")
    with transaction(conn, path, "upgrade the session database"):
        version = _pragma(conn, "user_version")  # another process may have upgraded it
        for step in MIGRATIONS[version:target]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {max(version, target)}")
    return max(version, target)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating it and its folder if needed) and upgrade the session database.

    The connection is in autocommit mode: write through :func:`transaction`. It
    may only be used from the thread that opened it.

    Raises
    ------
    StorageError
        The folder cannot be created, or the file cannot be written, is damaged, is
        not a remixer_app database or comes from a newer version.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder {path.parent} for the session "
                           f"database: {exc.strerror or exc}") from exc
    _check_header(path)
    action = "open the session database"
    with translated(path, action):
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        with translated(path, action):
            # Read-only checks first: nothing is written to a file that is not ours.
            _check_identity(conn, path)
            conn.execute("PRAGMA foreign_keys = ON")
            _use_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn
