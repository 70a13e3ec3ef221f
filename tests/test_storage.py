"""Tests for remixer_app.core.storage: round trips, migrations, refusals, crashes, CSV."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.errors import ExportError
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import SettingsError
from remixer_app.core.paths import user_data_dir
from remixer_app.core.storage import (
    CSV_COLUMNS,
    MIGRATIONS,
    SessionStore,
    StorageError,
    database,
)
from remixer_app.core.storage.csv_export import csv_columns

ROOT = Path(__file__).resolve().parents[1]


def make_listener(lid: str, name: str = "", top: float = 60) -> Listener:
    ear = Audiogram(frequencies=[250, 1000, 4000], levels=[10, 30, top])
    return Listener(id=lid, left=ear, right=Audiogram(frequencies=[500, 2000], levels=[5, 40]),
                    name=name)


def ticking_clock(start: datetime | None = None) -> Callable[[], datetime]:
    """A clock one second later at every call, so ordering does not rest on timing."""
    now = [start or datetime(2024, 5, 1, 9, 0, tzinfo=UTC)]

    def clock() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]

    return clock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "clinic" / "sessions.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SessionStore]:
    with SessionStore(db_path, clock=ticking_clock()) as s:
        s.save_listener(make_listener("L1", "Ann"))
        s.save_listener(make_listener("L2", "bob"))
        yield s


def settings(**gains: float) -> dict[str, object]:
    model = MixModel()
    model.set_gains(gains)
    return model.to_dict()


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# ---------------------------------------------------------------------------- opening


def test_default_location_and_durable_settings() -> None:
    with SessionStore() as s:
        assert s.path == user_data_dir() / "sessions.sqlite3" and s.path.is_file()
        conn = s._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


# ---------------------------------------------------------------------------- listeners


def test_listeners_round_trip_sorted_and_updated(store: SessionStore, db_path: Path) -> None:
    store.save_listener(make_listener("A0"))  # no name: sorted by its id
    assert [x.id for x in store.listeners()] == ["A0", "L1", "L2"]
    assert store.listener("L1") == make_listener("L1", "Ann")
    assert store.listener("nobody") is None
    with raw(db_path) as conn:
        created, updated = conn.execute(
            "SELECT created_at, updated_at FROM listeners WHERE id = 'L1'").fetchone()
    changed = make_listener("L1", "Ann B.", top=80)
    store.save_listener(changed)
    assert store.listener("L1") == changed and len(store.listeners()) == 3
    with raw(db_path) as conn:
        row = conn.execute("SELECT created_at, updated_at FROM listeners WHERE id = 'L1'"
                           ).fetchone()
    assert row[0] == created and row[1] > updated


def test_add_listener_keeps_a_saved_profile(store: SessionStore) -> None:
    assert not store.add_listener(make_listener("L1", "Ann edited", top=90))
    assert store.listener("L1") == make_listener("L1", "Ann")
    assert store.add_listener(make_listener("L9", "New"))
    assert store.listener("L9") == make_listener("L9", "New")


def test_delete_listener_needs_cascade_for_preferences(store: SessionStore) -> None:
    store.add_preference("L1", "k1", "Song", settings())
    store.add_preference("L1", "k2", "Song 2", settings())
    store.add_preference("L2", "k1", "Song", settings())
    with pytest.raises(StorageError, match="2 saved preference"):
        store.delete_listener("L1")
    assert len(store.preferences("L1")) == 2 and store.listener("L1") is not None
    assert store.delete_listener("L1", cascade=True) == 2
    assert store.listener("L1") is None and store.preferences("L1") == []
    assert len(store.preferences()) == 1
    with pytest.raises(StorageError, match="no listener 'L1'"):
        store.delete_listener("L1")


# ---------------------------------------------------------------------------- preferences


def test_preference_round_trip(store: SessionStore) -> None:
    model = MixModel()
    model.set_gains({"vocals": 5, "drums": -8})
    model.set_muted("other")
    model.set_compressor_enabled(True)
    pid = store.add_preference("L1", "sha256:abc", "My song.flac", model.to_dict(), "clearer")
    (pref,) = store.preferences()
    assert (pref.id, pref.listener_id, pref.track_key, pref.track_name, pref.note) == (
        pid, "L1", "sha256:abc", "My song.flac", "clearer")
    assert pref.settings == model.to_dict()
    assert pref.mix_state() == model.state
    assert pref.created_at.tzinfo is not None and pref.created_at.utcoffset() == timedelta(0)


def test_preferences_newest_first_and_filtered(store: SessionStore) -> None:
    ids = {}
    for lid, key in [("L1", "a"), ("L2", "a"), ("L1", "b"), ("L2", "b"), ("L1", "a")]:
        ids.setdefault((lid, key), []).append(store.add_preference(lid, key, key.upper(),
                                                                   settings()))
    everything = store.preferences()
    assert [p.id for p in everything] == sorted((i for v in ids.values() for i in v),
                                                reverse=True)
    assert [p.created_at for p in everything] == sorted((p.created_at for p in everything),
                                                        reverse=True)
    assert [p.id for p in store.preferences("L1")] == sorted(ids["L1", "a"] + ids["L1", "b"],
                                                             reverse=True)
    assert [p.id for p in store.preferences(track_key="b")] == sorted(
        ids["L1", "b"] + ids["L2", "b"], reverse=True)
    assert [p.id for p in store.preferences("L1", "a")] == sorted(ids["L1", "a"], reverse=True)
    assert store.preferences("L3") == []


def test_same_timestamp_falls_back_to_insertion_order(db_path: Path) -> None:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    with SessionStore(db_path, clock=lambda: moment) as s:
        s.save_listener(make_listener("L1"))
        first = s.add_preference("L1", "k", "t", settings())
        second = s.add_preference("L1", "k", "t", settings())
        assert [p.id for p in s.preferences()] == [second, first]


def test_notes_and_deletion(store: SessionStore) -> None:
    a = store.add_preference("L1", "k", "t", settings(vocals=1))
    b = store.add_preference("L1", "k", "t", settings(vocals=2))
    store.update_note(a, "liked it")
    store.delete_preference(b)
    assert [(p.id, p.note) for p in store.preferences()] == [(a, "liked it")]
    c = store.add_preference("L1", "k", "t", settings())
    assert c > b  # a deleted id is never handed out again
    for call in (lambda: store.update_note(b, "x"), lambda: store.delete_preference(b)):
        with pytest.raises(StorageError, match=f"no saved preference {b}"):
            call()


def test_bad_preferences_are_refused(store: SessionStore) -> None:
    with pytest.raises(StorageError, match="save the listener first"):
        store.add_preference("nobody", "k", "t", settings())
    with pytest.raises(SettingsError, match="version"):
        store.add_preference("L1", "k", "t", {"gains_db": {}})
    with pytest.raises(StorageError, match="track key"):
        store.add_preference("L1", "", "t", settings())
    assert store.preferences() == []


# ---------------------------------------------------------------------------- migrations


def _empty_sqlite_file(path: Path) -> None:
    with raw(path) as conn:  # a real SQLite file at version 0 with no tables
        conn.execute("CREATE TABLE t (x)")
        conn.execute("DROP TABLE t")
    conn.close()


@pytest.mark.parametrize("make", [lambda p: p.write_bytes(b""), _empty_sqlite_file],
                         ids=["zero-byte file", "version-0 database"])
def test_version_0_database_is_migrated(db_path: Path, make: Callable[[Path], None]) -> None:
    db_path.parent.mkdir()
    make(db_path)
    with SessionStore(db_path) as s:
        s.save_listener(make_listener("L1"))
        s.add_preference("L1", "k", "t", settings())
    conn = raw(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == database.APPLICATION_ID
    conn.close()


def test_pending_migrations_apply_once_and_keep_data(db_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with SessionStore(db_path) as s:
        s.save_listener(make_listener("L1"))
        pid = s.add_preference("L1", "k", "t", settings(bass=3), "note")
    newer = [*MIGRATIONS, ("ALTER TABLE preferences ADD COLUMN rating INTEGER",)]
    monkeypatch.setattr(database, "MIGRATIONS", newer)
    for _ in range(2):  # applied again, the ALTER TABLE would fail
        with SessionStore(db_path) as s:
            (pref,) = s.preferences()
            assert (pref.id, pref.note, pref.settings) == (pid, "note", settings(bass=3))
    conn = raw(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(newer)
    assert "rating" in [row[1] for row in conn.execute("PRAGMA table_info(preferences)")]
    conn.close()


def test_failed_migration_changes_nothing(db_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    SessionStore(db_path).close()
    broken = [*MIGRATIONS, ("CREATE TABLE extra (x)",), ("THIS IS NOT SQL",)]
    monkeypatch.setattr(database, "MIGRATIONS", broken)
    with pytest.raises(StorageError, match="upgrade the session database"):
        SessionStore(db_path)
    conn = raw(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'"
                        ).fetchone()[0] == 0
    conn.close()


# ---------------------------------------------------------------------------- refusals


def _damage_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 2 * page
    data[page:] = bytes([0xA5]) * (len(data) - page)  # keep the header page only
    path.write_bytes(bytes(data))


def _damage_one_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) - 4096 + 1] ^= 0xFF  # the last page's free-block pointer
    path.write_bytes(bytes(data))


def _newer_version(path: Path) -> None:
    with raw(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()


def _foreign_tables(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        (path.parent / name).unlink(missing_ok=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.close()


def _foreign_app_id(path: Path) -> None:
    with raw(path) as conn:
        conn.execute("PRAGMA application_id = 1234")
    conn.close()


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda p: p.write_bytes(b"<html>not a database</html>" * 50), "not a session database"),
    (lambda p: p.write_bytes(b"SQLite"), "not a session database"),
    (_damage_pages, "damaged"),
    (_damage_one_page, r"damaged \(Page \d+: free space corruption\)"),
    (_newer_version, "newer version"),
    (_foreign_tables, "not remixer_app's"),
    (_foreign_app_id, "another program's database"),
], ids=["text", "truncated header", "damaged pages", "damaged page", "newer", "foreign tables",
        "foreign id"])
def test_files_that_are_not_ours_are_refused_and_left_untouched(
        db_path: Path, spoil: Callable[[Path], None], message: str) -> None:
    with SessionStore(db_path) as s:
        s.save_listener(make_listener("L1"))
        for i in range(40):  # a few pages, for the damage to hit
            s.add_preference("L1", f"k{i}", "t", settings(), "n" * 300)
    spoil(db_path)
    before = db_path.read_bytes()
    with pytest.raises(StorageError, match=message) as info:
        SessionStore(db_path)
    assert str(db_path) in str(info.value)
    assert db_path.read_bytes() == before


def test_unusable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create the folder"):
        SessionStore(blocker / "sessions.sqlite3")
    with pytest.raises(StorageError, match="is a folder"):
        SessionStore(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="cannot be written"):
            SessionStore(folder / "sessions.sqlite3")
    finally:
        folder.chmod(0o700)


def test_full_disk_is_a_clear_error_and_loses_nothing(store: SessionStore) -> None:
    kept = store.add_preference("L1", "k", "t", settings())
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # what a full disk looks like
    with pytest.raises(StorageError, match="not enough disk space"):
        for i in range(100):
            store.add_preference("L1", f"k{i}", "t", settings(), "n" * 4000)
    assert kept in [p.id for p in store.preferences()]
    assert not store._conn.in_transaction
    store.update_note(kept, "still writable for small changes")


# ---------------------------------------------------------------------------- crash safety

WRITER = textwrap.dedent("""
    import sys
    from remixer_app.core.audiogram import Audiogram, Listener
    from remixer_app.core.mix_model import MixModel
    from remixer_app.core.storage import SessionStore

    store = SessionStore(sys.argv[1])
    ear = Audiogram(frequencies=[250, 1000, 4000], levels=[10, 30, 60])
    store.save_listener(Listener(id="L1", left=ear, right=ear))
    model = MixModel()
    i = 0
    while True:
        model.set_gain("vocals", i % 12)
        pid = store.add_preference("L1", f"track-{i}", "Track", model.to_dict(), "n" * 3000)
        store.update_note(pid, "edited")
        print(pid, flush=True)
        i += 1
""")


def test_killed_writer_leaves_a_sound_database_with_every_commit(db_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    watchdog = threading.Timer(60, proc.kill)  # never hang the suite on a stuck child
    watchdog.start()
    committed: list[int] = []
    try:
        stop = None
        # Write for 0.4 s after the first commit (the imports take longer), and at
        # least a few commits on a slow disk.
        while stop is None or time.monotonic() < stop or len(committed) < 5:
            line = proc.stdout.readline()
            if not line:
                break
            committed.append(int(line))
            stop = stop or time.monotonic() + 0.4
    finally:
        proc.kill()  # SIGKILL: no cleanup, most likely in the middle of a transaction
        # Read through the text wrappers: communicate() reads the raw pipes and would
        # drop lines that readline() already buffered.
        rest, errors = proc.stdout.read(), proc.stderr.read()
        proc.wait()
        watchdog.cancel()
    committed += [int(line) for line in rest.split("\n")[:-1]]  # only whole lines
    assert len(committed) >= 5, errors
    conn = raw(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with SessionStore(db_path) as s:
        saved = {p.id: p for p in s.preferences()}
    assert set(committed) <= set(saved)
    assert all(saved[i].note == "edited" for i in committed)
    assert len(saved) - len(committed) <= 1  # at most the one being written when killed


# ---------------------------------------------------------------------------- CSV


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_csv_export(store: SessionStore, tmp_path: Path) -> None:
    store.save_listener(make_listener("L3", "Zoë"))
    model = MixModel()
    model.set_gains({"vocals": 4.5, "bass": -30})
    model.set_muted("drums")
    model.set_soloed("vocals")
    model.set_soloed("other")
    model.set_compressor_enabled(True)
    model.set_clip("soft")
    store.add_preference("L1", "k1", "First, song", settings())
    store.add_preference("L3", "k2", "Second \"song\"", model.to_dict(), "line 1\nline 2")
    out = store.export_csv(tmp_path / "prefs.csv")
    header, newest, oldest = read_csv(out)
    assert tuple(header) == CSV_COLUMNS
    row = dict(zip(header, newest, strict=True))
    assert row == {
        "created_at": row["created_at"], "listener_id": "L3", "listener": "Zoë",
        "track_key": "k2", "track": "Second \"song\"", "vocals_db": "4.5", "drums_db": "0",
        "bass_db": "-30", "other_db": "0", "muted": "drums", "soloed": "vocals;other",
        "hearing_aid": "nalr", "compressor": "on", "clip": "soft", "note": "line 1\nline 2"}
    assert datetime.fromisoformat(row["created_at"]).utcoffset() == timedelta(0)
    assert dict(zip(header, oldest, strict=True))["track"] == "First, song"
    assert oldest[header.index("compressor")] == "off"

    with pytest.raises(ExportError, match="already exists"):
        store.export_csv(out, "L1")
    store.export_csv(out, "L1", overwrite=True)
    assert [r[1] for r in read_csv(out)[1:]] == ["L1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic", "prefs.csv"]  # no temp left


def test_csv_text_that_a_spreadsheet_would_run_is_quoted(store: SessionStore,
                                                        tmp_path: Path) -> None:
    store.save_listener(make_listener("-L4", "=HYPERLINK(\"http://x\")"))
    model = MixModel()
    model.set_stems(("=cmd", "violin"))
    model.set_gains({"violin": -6.5})
    model.set_muted("=cmd")
    store.add_preference("-L4", "+k", "@track", model.to_dict(), "\rnote")
    store.add_preference("-L4", "k", "\tsong", settings(bass=-3), "a = b - c")
    header, song, trio = read_csv(store.export_csv(tmp_path / "prefs.csv"))  # newest first
    assert header[5:11] == ["vocals_db", "drums_db", "bass_db", "other_db", "violin_db",
                            "'=cmd_db"]
    assert trio[1:5] == ["'-L4", "'=HYPERLINK(\"http://x\")", "'+k", "'@track"]
    assert trio[5:11] == ["", "", "", "", "-6.5", "0"]  # numbers stay numbers
    assert (trio[11], trio[-1]) == ("'=cmd", "'\rnote")
    assert (song[4], song[7], song[-1]) == ("'\tsong", "-3", "a = b - c")


def test_instrument_preferences_keep_their_gains_and_get_their_own_columns(
        store: SessionStore, tmp_path: Path) -> None:
    model = MixModel()
    model.set_stems(("cello", "flute", "violin"))
    model.set_gains({"violin": 5, "cello": -2.5})
    model.set_muted("flute")
    pid = store.add_preference("L1", "k3", "Trio", model.to_dict())
    (pref,) = store.preferences(track_key="k3")
    assert pref.id == pid and pref.mix_state() == model.state
    assert pref.mix_state().hearing_aid == "multiband"
    store.add_preference("L2", "k1", "Song", settings(vocals=6))
    header, *rows = read_csv(store.export_csv(tmp_path / "both.csv"))
    assert header == list(csv_columns(
        ("vocals", "drums", "bass", "other", "cello", "flute", "violin")))
    song, trio = (dict(zip(header, row, strict=True)) for row in rows)
    assert (song["vocals_db"], song["violin_db"], song["hearing_aid"]) == ("6", "", "nalr")
    assert (trio["vocals_db"], trio["violin_db"], trio["cello_db"]) == ("", "5", "-2.5")
    assert trio["muted"] == "flute" and trio["hearing_aid"] == "multiband"
    header, row = read_csv(store.export_csv(tmp_path / "trio.csv", "L1"))
    assert header == list(csv_columns(("cello", "flute", "violin")))


def test_old_pop_preferences_still_load(store: SessionStore, db_path: Path) -> None:
    old = ('{"format": "remixer-mix", "version": 1, "gains_db": {"vocals": 3, "drums": 0, '
           '"bass": 0, "other": -2}, "muted": [], "soloed": ["vocals"], '
           '"compressor": {"enabled": false}, "clip": "hard", "listener": null}')
    with raw(db_path) as conn:
        conn.execute("INSERT INTO preferences (listener_id, track_key, track_name, settings, "
                     "note, created_at) VALUES ('L1', 'old', 'Old', ?, '', "
                     "'2024-01-01T00:00:00+00:00')", (old,))
    (pref,) = store.preferences(track_key="old")
    state = pref.mix_state()
    assert state.stems == ("vocals", "drums", "bass", "other") and state.hearing_aid == "nalr"
    assert state.gains_db["other"] == -2 and state.soloed == {"vocals"}
