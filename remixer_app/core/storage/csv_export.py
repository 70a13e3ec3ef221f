"""Saved preferences as a CSV table for clinicians' spreadsheets and reports.

Each stem has a ``<stem>_db`` column. Tracks differ in their stems (the four pop stems,
or a classical ensemble's instruments), so a table has the columns of the stem sets of
its rows: pop stems first, then instruments, in their usual orders; a row leaves the
columns of stems its track lacks empty.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.mix_state import MixState
from remixer_app.core.storage.records import Preference, read_rows, tell_skipped

_BEFORE = ("created_at", "listener_id", "listener", "track_key", "track")
_AFTER = ("muted", "soloed", "hearing_aid", "compressor", "clip", "note")
# First characters that make Excel or LibreOffice read a cell as a formula (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_columns(stems: Sequence[str] = STEM_NAMES) -> tuple[str, ...]:
    """The header row of a table whose stem columns are those of ``stems``, in order."""
    return (*_BEFORE, *(f"{stem}_db" for stem in stems), *_AFTER)


#: The header row of a table of pop tracks (and of an empty one), in order.
CSV_COLUMNS: tuple[str, ...] = csv_columns()


def stem_columns(states: Iterable[MixState]) -> tuple[str, ...]:
    """The stems that get a column in a table of ``states``: pop stems, then
    instruments, then any other stem in order of appearance; the pop stems alone when
    there are no states."""
    seen: dict[str, None] = {}
    for state in states:
        seen.update(dict.fromkeys(state.stems))
    if not seen:
        return STEM_NAMES
    known = (*STEM_NAMES, *INSTRUMENTS)
    return (*(s for s in known if s in seen), *(s for s in seen if s not in known))


def _stems(stems: frozenset[str], order: Sequence[str]) -> str:
    return ";".join(s for s in order if s in stems)


def _text_cell(value: str) -> str:
    """``value`` as a cell that spreadsheets show as text, never run as a formula.

    Names and notes are typed by users (or come from file names), so one starting
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``,
    the spreadsheets' own mark for "this is text".
    """
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def preference_row(pref: Preference, listener_name: str,
                   stems: Sequence[str] = STEM_NAMES) -> list[str]:
    """One CSV row for ``pref``, in the columns of :func:`csv_columns` of ``stems``.

    Every text cell passes through :func:`_text_cell`; the gains stay numbers.
    """
    state: MixState = pref.mix_state()
    before = (pref.created_at.isoformat(timespec="seconds"), pref.listener_id, listener_name,
              pref.track_key, pref.track_name)
    after = (_stems(state.muted, state.stems), _stems(state.soloed, state.stems),
             state.hearing_aid, "on" if state.compressor_on else "off", state.clip, pref.note)
    return [
        *map(_text_cell, before),
        *(f"{state.gains_db[stem]:g}" if stem in state.gains_db else "" for stem in stems),
        *map(_text_cell, after),
    ]


def write_preferences_csv(path: str | os.PathLike[str],
                          rows: Iterable[tuple[Preference, str]], *,
                          overwrite: bool = False,
                          skipped: Callable[[str], object] | None = None,
                          counted: Callable[[int], object] | None = None) -> Path:
    """Write ``(preference, listener display name)`` rows as CSV, atomically.

    The file is UTF-8 with a byte-order mark, which spreadsheet programs need to
    show accented names correctly; lists of stems are joined with ``;``. The stem
    columns are those of :func:`stem_columns`. Text that a spreadsheet would run as a
    formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR) starts with ``'``.
    A preference whose settings cannot be read (damaged, or saved by a newer version
    of the app) is left out, and ``skipped`` is called with a sentence saying so;
    ``counted`` is called with the number of preferences written.

    Raises
    ------
    ExportError
        The file exists and ``overwrite`` is false, or it cannot be written.
    """
    kept, unreadable = read_rows(rows, lambda row: (row, row[0].mix_state()))
    tell_skipped(skipped, unreadable)
    stems = stem_columns(state for _, state in kept)
    # Stem names, and so the gain columns' names, may be any text too.
    header = [_text_cell(column) for column in csv_columns(stems)]
    table = [header, *(preference_row(p, name, stems) for (p, name), _ in kept)]

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(table)

    written = atomic_write(path, write, overwrite=overwrite)
    if counted is not None:
        counted(len(kept))
    return written
