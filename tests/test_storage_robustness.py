"""One stored row that cannot be read (damaged, or written by a newer version of the app)
hides nothing else and is never changed by reading; a profile changed elsewhere is not
replaced unasked."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import SettingsError
from remixer_app.core.storage import SessionStore, StorageError

NEWER = "saved by a newer version of remixer_app"


def make_listener(lid: str, name: str, top: float = 60) -> Listener:
    ear = Audiogram(frequencies=[250, 1000, 4000], levels=[10, 30, top])
    return Listener(id=lid, left=ear, right=ear, name=name)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SessionStore]:
    """Listeners Ann (L1), Bob (L2) and Cy (L3), each with one preference."""
    with SessionStore(db_path) as s:
        for lid, name in (("L1", "Ann"), ("L2", "Bob"), ("L3", "Cy")):
            s.save_listener(make_listener(lid, name))
            s.add_preference(lid, f"k-{lid}", f"{name}.wav", MixModel().to_dict())
        yield s


def rewrite(db_path: Path, sql: str, args: tuple[object, ...]) -> None:
    """Change the file as another program (or a newer app) would."""
    with sqlite3.connect(db_path, isolation_level=None) as conn:
        conn.execute(sql, args)


def stored_rows(db_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as conn:
        return [*conn.execute("SELECT * FROM listeners ORDER BY id"),
                *conn.execute("SELECT * FROM preferences ORDER BY id")]


def newer_listener(db_path: Path, lid: str) -> None:
    with sqlite3.connect(db_path) as conn:
        (text,) = conn.execute("SELECT audiogram FROM listeners WHERE id = ?", (lid,)).fetchone()
    data = json.loads(text)
    data.update(version=2, bone={})
    rewrite(db_path, "UPDATE listeners SET audiogram = ? WHERE id = ?", (json.dumps(data), lid))


def newer_settings(db_path: Path, track_key: str) -> None:
    settings = json.dumps({"format": "remixer-mix", "version": 3, "gains_db": {"vocals": 3}})
    rewrite(db_path, "UPDATE preferences SET settings = ? WHERE track_key = ?",
            (settings, track_key))


def test_a_listener_of_a_newer_version_hides_no_other(store: SessionStore,
                                                      db_path: Path) -> None:
    newer_listener(db_path, "L2")
    rewrite(db_path, "UPDATE listeners SET audiogram = '{\"format\": ' WHERE id = 'L3'", ())
    before = stored_rows(db_path)
    listeners, unreadable = store.read_listeners()
    assert [li.id for li in listeners] == ["L1"] and store.listeners() == listeners
    newer, damaged = unreadable
    assert newer.startswith(f"listener L2 was {NEWER} (listener version 2")
    assert "damaged" not in newer and damaged.startswith("listener L3 is damaged")
    with pytest.raises(StorageError, match=f"listener L2 was {NEWER}"):
        store.listener("L2")
    assert len(store.preferences()) == 3  # their preferences are all still listed
    assert stored_rows(db_path) == before  # reading changed nothing


def test_a_damaged_preference_row_hides_no_other(store: SessionStore, db_path: Path) -> None:
    rewrite(db_path, "UPDATE preferences SET settings = '{' WHERE track_key = 'k-L2'", ())
    prefs, unreadable = store.read_preferences()
    assert sorted(p.track_key for p in prefs) == ["k-L1", "k-L3"]
    assert len(unreadable) == 1 and "is damaged" in unreadable[0]
    assert [p.track_key for p in store.preferences("L1")] == ["k-L1"]


def test_settings_of_a_newer_version_say_so(store: SessionStore, db_path: Path) -> None:
    newer_settings(db_path, "k-L2")
    (pref,) = store.preferences(track_key="k-L2")
    with pytest.raises(SettingsError, match=f"preference {pref.id} \\(Bob.wav\\) was {NEWER} "
                                            r"\(mix settings version 3"):
        pref.mix_state()


def test_csv_exports_the_readable_preferences_and_names_the_others(
        store: SessionStore, db_path: Path, tmp_path: Path) -> None:
    newer_settings(db_path, "k-L2")
    rewrite(db_path, "UPDATE preferences SET created_at = 'yesterday' WHERE track_key = 'k-L3'",
            ())
    before = stored_rows(db_path)
    skipped: list[str] = []
    out = store.export_csv(tmp_path / "all.csv", skipped=skipped.append)
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["track"] for r in rows] == ["Ann.wav"]
    assert len(skipped) == 2 and "is damaged" in skipped[0] and "(Bob.wav) was" in skipped[1]
    assert NEWER in skipped[1]
    assert store.export_csv(tmp_path / "plain.csv").is_file()  # no callback: still written
    assert stored_rows(db_path) == before


def test_replace_listener_only_replaces_what_the_caller_saw(store: SessionStore,
                                                           db_path: Path) -> None:
    seen = store.listener("L1")
    theirs, mine = make_listener("L1", "Ann", top=80), make_listener("L1", "Ann", top=90)
    with SessionStore(db_path) as other:  # another instance of the app
        other.save_listener(theirs)
    assert not store.replace_listener(mine, seen) and store.listener("L1") == theirs
    assert store.replace_listener(mine, theirs) and store.listener("L1") == mine
    assert not store.replace_listener(make_listener("L9", "New"), mine)
    assert store.listener("L9") is None
    assert store.replace_listener(make_listener("L9", "New"), None)
    newer_listener(db_path, "L2")
    before = stored_rows(db_path)
    with pytest.raises(StorageError, match=NEWER):  # a newer version's row is never replaced
        store.replace_listener(make_listener("L2", "Bob"), make_listener("L2", "Bob"))
    assert stored_rows(db_path) == before
