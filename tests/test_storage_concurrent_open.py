"""Copies of the app opening a new session database at the same moment all open it."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from remixer_app.core.storage import SessionStore, StorageError, database
from remixer_app.core.storage.database import MIGRATIONS, migrate, open_database


def test_tables_made_by_another_copy_while_checking_are_not_taken_for_a_strangers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sessions.sqlite3"
    real_connect = sqlite3.connect
    rival_ran: list[bool] = []

    def other_copy_creates_the_tables(sql: str) -> None:
        # Between reading the version (0) and listing the tables, the other copy
        # creates them; it may instead have to wait for this read, never fail it.
        if "sqlite_master" not in sql or rival_ran:
            return
        rival_ran.append(True)
        rival = real_connect(path, timeout=0, isolation_level=None)
        try:
            migrate(rival, path)
        except StorageError:
            pass  # it waits for this copy's read, which the new code holds
        finally:
            rival.close()

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(other_copy_creates_the_tables)
        return conn

    monkeypatch.setattr(database.sqlite3, "connect", connect)
    conn = open_database(path)
    conn.close()
    monkeypatch.undo()
    assert rival_ran
    with SessionStore(path) as store:
        assert store.read_listeners()[0] == []
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_another_copy_writing_a_new_file_delays_the_switch_to_wal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite refuses the switch at once, without its busy timeout, while another
    # connection holds the write lock (another copy creating its tables, say).
    path = tmp_path / "sessions.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    waits: list[float] = []

    def writer_done(seconds: float) -> None:  # instead of waiting, the writer finishes
        waits.append(seconds)
        if writer.in_transaction:
            writer.execute("ROLLBACK")

    monkeypatch.setattr(time, "sleep", writer_done)
    try:
        conn = open_database(path)
    finally:
        writer.close()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert waits  # it did meet the writer, and waited instead of failing


def test_a_writer_that_never_finishes_is_a_clear_busy_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sessions.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.0)  # its wait is over at once
    try:
        with pytest.raises(StorageError, match="busy in another program"):
            open_database(path)
    finally:
        writer.close()


def test_several_copies_open_a_new_file_at_once(tmp_path: Path) -> None:
    failures: list[str] = []
    for round_ in range(12):
        path = tmp_path / f"round{round_}" / "sessions.sqlite3"
        start = threading.Barrier(4)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                open_database(path).close()
            except StorageError as exc:
                failures.append(str(exc))

        copies = [threading.Thread(target=open_it) for _ in range(4)]
        for copy in copies:
            copy.start()
        for copy in copies:
            copy.join()
    assert failures == []
