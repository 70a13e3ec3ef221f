"""``remixer evaluate --classical DIR``: the Cadenza 2 evaluation of a classical ensemble."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from remixer_app.cli.evaluate import DEFAULT_ANGLE, DEFAULT_CLIP
from remixer_app.core.atomic import atomic_write
from remixer_app.core.audiogram import Listener
from remixer_app.core.evaluation.classical import (
    COLUMNS,
    ClassicalResult,
    ClassicalSummary,
    evaluate_classical,
    list_scenes,
    summarise_classical,
)
from remixer_app.core.evaluation.haaqi import haaqi_implementation
from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.progress import ProgressReport

# What --classical does not use, with the parser's defaults (the Cadenza 2 protocol fixes
# the listeners' scenes, the hearing aid and the scoring).
MUSDB_ONLY = {"--gains-file": None, "--gains": None, "--hrir": None, "--angle": DEFAULT_ANGLE,
              "--excerpt": None, "--compressor": False, "--clip": DEFAULT_CLIP,
              "--all-pairs": False, "--jobs": 1}
SPLIT_NAMES = {"test": "held-out", "train": "training"}


def run_classical(args: argparse.Namespace, out: Path, listeners: list[Listener]) -> int:
    """Separate and score every scene of ``--classical``/``--split``; write the CSV."""
    from remixer_app.core.separation import load_separator

    if args.ensemble is None:
        raise ValueError("--classical scores an --ensemble (its floor and ceiling come with "
                         "it); --oracle and --mixture-only apply to --musdb")
    given = [option for option, default in MUSDB_ONLY.items()
             if getattr(args, option.lstrip("-").replace("-", "_")) != default]
    if given:  # else silently ignored: the Cadenza 2 protocol fixes all of these
        raise ValueError(f"{', '.join(given)} apply to --musdb, not to --classical")
    scenes = list_scenes(args.classical, args.split, args.limit)
    first = load_separator(args.ensemble, device=args.device, member=args.member,
                           instruments=INSTRUMENTS[:2])
    print(f"separator {args.ensemble}: {first.identity.split(':')[0]}", file=sys.stderr)

    def separate(mixture: np.ndarray, instruments: tuple[str, ...]) -> dict[str, np.ndarray]:
        separator = load_separator(args.ensemble, device=args.device, member=args.member,
                                   instruments=instruments)
        return separator.separate(mixture, 44100)

    start = time.monotonic()

    def show(report: ProgressReport) -> None:
        print(f"{report.message} (elapsed {time.monotonic() - start:.0f} s)", file=sys.stderr,
              flush=True)

    with haaqi_implementation("reference" if args.reference_impl else "fast"):
        results = evaluate_classical(scenes, separate, listeners, bounds=not args.no_bounds,
                                     progress=show)
    write_classical(out, results, overwrite=args.overwrite)
    print_classical(args.ensemble if args.member is None else f"{args.ensemble}[{args.member}]",
                    summarise_classical(results), args.split)
    print(f"wrote {out} ({len(results)} scenes, {time.monotonic() - start:.0f} s)")
    return 0


def write_classical(path: Path, results: list[ClassicalResult], *, overwrite: bool) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            for result in results:
                writer.writerow(result.row())

    atomic_write(path, write, overwrite=overwrite)


def print_classical(system: str, summary: ClassicalSummary, split: str) -> None:
    print(f"system {system}: {summary.scenes} {SPLIT_NAMES[split]} scenes")
    names = list(summary.sdr)
    print("SDR (dB)  " + "".join(f"{n[:9]:>10}" for n in names)
          + "  (each: mean over the scenes where it plays)")
    print("          " + "".join(f"{summary.sdr[n]:10.2f}" for n in names))
    print(f"SDR (dB)  mean per scene {summary.sdr_mean_per_scene:.2f} (each scene's mean over "
          "its instruments, averaged over the scenes)")
    line = f"HAAQI     system {summary.haaqi:.4f}"
    if summary.haaqi_floor is not None and summary.haaqi_ceiling is not None:
        closed = summary.gap_closed
        line += (f"  floor {summary.haaqi_floor:.4f}  ceiling {summary.haaqi_ceiling:.4f}  "
                 f"gap closed {'n/a' if closed is None else f'{100 * closed:.1f} %'}")
    print(line)
