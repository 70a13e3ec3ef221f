"""Saved preferences as a CSV table for clinicians' spreadsheets and reports."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.mix_state import MixState

if TYPE_CHECKING:
    from remixer_app.core.storage.sessions import Preference

#: The header row, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "created_at", "listener_id", "listener", "track_key", "track",
    *(f"{stem}_db" for stem in STEM_NAMES),
    "muted", "soloed", "compressor", "clip", "note",
)


def _stems(stems: frozenset[str]) -> str:
    return ";".join(s for s in STEM_NAMES if s in stems)


def preference_row(pref: Preference, listener_name: str) -> list[str]:
    """One CSV row (:data:`CSV_COLUMNS`) for ``pref``."""
    state: MixState = pref.mix_state()
    return [
        pref.created_at.isoformat(timespec="seconds"),
        pref.listener_id,
        listener_name,
        pref.track_key,
        pref.track_name,
        *(f"{state.gains_db[stem]:g}" for stem in STEM_NAMES),
        _stems(state.muted),
        _stems(state.soloed),
        "on" if state.compressor_on else "off",
        state.clip,
        pref.note,
    ]


def write_preferences_csv(path: str | os.PathLike[str],
                          rows: Iterable[tuple[Preference, str]], *,
                          overwrite: bool = False) -> Path:
    """Write ``(preference, listener display name)`` rows as CSV, atomically.

    The file is UTF-8 with a byte-order mark, which spreadsheet programs need to
    show accented names correctly; lists of stems are joined with ``;``.

    Raises
    ------
    ExportError
        The file exists and ``overwrite`` is false, or it cannot be written.
    """
    table = [list(CSV_COLUMNS), *(preference_row(p, name) for p, name in rows)]

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(table)

    return atomic_write(path, write, overwrite=overwrite)
