"""Per-scene results, the CSV they are stored in, and the summary of a run."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import RemixerError

CONDITIONS = ("plain", "atear")
SDR_KEYS = (*STEM_NAMES, "mean")
COLUMNS = ("track", "listener", "gains", "system",
           *(f"sdr_{key}_{cond}" for cond in CONDITIONS for key in SDR_KEYS),
           "haaqi_left", "haaqi_right", "haaqi", "haaqi_floor", "haaqi_ceiling")


@dataclass(frozen=True)
class SceneResult:
    """The scores of one system on one scene.

    ``sdr`` maps condition (``plain``, ``atear``) -> stem or ``mean`` -> dB; it
    depends on the track only and repeats across that track's scenes. The floor
    (mixture only) and ceiling (oracle) HAAQI are None unless they were computed.
    """

    track: str
    listener: str
    gains: str
    system: str
    sdr: dict[str, dict[str, float]]
    haaqi_left: float
    haaqi_right: float
    haaqi_floor: float | None = None
    haaqi_ceiling: float | None = None

    @property
    def haaqi(self) -> float:
        """The scene's score: the mean of the two ears."""
        return (self.haaqi_left + self.haaqi_right) / 2.0

    def row(self) -> dict[str, str]:
        """The CSV row (empty cells for scores that were not computed)."""
        def cell(x: float | None) -> str:
            return "" if x is None else f"{x:.6f}"

        values: dict[str, str] = {"track": self.track, "listener": self.listener,
                                  "gains": self.gains, "system": self.system}
        for cond in CONDITIONS:
            for key in SDR_KEYS:
                values[f"sdr_{key}_{cond}"] = cell(self.sdr[cond][key])
        values.update(haaqi_left=cell(self.haaqi_left), haaqi_right=cell(self.haaqi_right),
                      haaqi=cell(self.haaqi), haaqi_floor=cell(self.haaqi_floor),
                      haaqi_ceiling=cell(self.haaqi_ceiling))
        return values


def write_results(path: str | os.PathLike[str], results: Sequence[SceneResult], *,
                  overwrite: bool = False) -> Path:
    """Write the results as CSV, one row per scene, atomically (see :data:`COLUMNS`)."""
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(r.row() for r in results)

    return atomic_write(path, write, overwrite=overwrite)


def read_results(path: str | os.PathLike[str]) -> list[SceneResult]:
    """Read a CSV that :func:`write_results` wrote (``remixer evaluate --musdb``).

    Raises
    ------
    RemixerError
        The file cannot be read, lacks a column of :data:`COLUMNS`, or holds a cell that
        is not a number where one belongs.
    """
    source = Path(path)
    try:
        with source.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise RemixerError(f"{source} is not a results file of `remixer evaluate "
                                   f"--musdb`: it has no column {missing[0]}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RemixerError(f"cannot read results file {source}: {exc}") from exc

    def number(row: dict[str, str], column: str, line: int) -> float:
        try:
            return float(row[column])
        except (TypeError, ValueError):
            raise RemixerError(f"{source}, line {line}: {column} is {row[column]!r}, "
                               "not a number") from None

    def optional(row: dict[str, str], column: str, line: int) -> float | None:
        return None if row[column] == "" else number(row, column, line)

    results = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        sdr = {cond: {key: number(row, f"sdr_{key}_{cond}", line) for key in SDR_KEYS}
               for cond in CONDITIONS}
        results.append(SceneResult(
            track=row["track"], listener=row["listener"], gains=row["gains"],
            system=row["system"], sdr=sdr, haaqi_left=number(row, "haaqi_left", line),
            haaqi_right=number(row, "haaqi_right", line),
            haaqi_floor=optional(row, "haaqi_floor", line),
            haaqi_ceiling=optional(row, "haaqi_ceiling", line)))
    return results


def gap_closed(system: float, floor: float, ceiling: float) -> float | None:
    """The share of the floor-to-ceiling gap a system closes: ``(s - f) / (c - f)``.

    None when the ceiling is not above the floor (the share means nothing then).
    """
    span = ceiling - floor
    if not span > 1e-12:
        return None
    return (system - floor) / span


@dataclass(frozen=True)
class Summary:
    """Means over a run: SDR over tracks, HAAQI over scenes.

    ``sdr`` maps condition -> stem or ``mean`` -> mean dB over tracks. ``gap_closed``
    is computed from the mean HAAQIs, so it reads against the printed means.
    """

    system: str
    tracks: int
    scenes: int
    sdr: dict[str, dict[str, float]]
    haaqi: float
    haaqi_floor: float | None
    haaqi_ceiling: float | None
    gap_closed: float | None


def _mean_or_none(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return float(np.mean([v for v in values if v is not None]))


def summarise(results: Sequence[SceneResult]) -> Summary:
    """The summary of one system's results.

    Raises
    ------
    ValueError
        No results, or results of several systems.
    """
    if not results:
        raise ValueError("no results to summarise")
    systems = {r.system for r in results}
    if len(systems) != 1:
        raise ValueError(f"results of several systems: {', '.join(sorted(systems))}")
    per_track = {r.track: r.sdr for r in results}  # SDR repeats in each scene of a track
    sdr = {cond: {key: float(np.mean([s[cond][key] for s in per_track.values()]))
                  for key in SDR_KEYS} for cond in CONDITIONS}
    haaqi = float(np.mean([r.haaqi for r in results]))
    floor = _mean_or_none([r.haaqi_floor for r in results])
    ceiling = _mean_or_none([r.haaqi_ceiling for r in results])
    closed = None if floor is None or ceiling is None else gap_closed(haaqi, floor, ceiling)
    return Summary(system=results[0].system, tracks=len(per_track), scenes=len(results),
                   sdr=sdr, haaqi=haaqi, haaqi_floor=floor, haaqi_ceiling=ceiling,
                   gap_closed=closed)

