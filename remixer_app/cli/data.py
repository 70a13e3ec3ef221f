"""``remixer data classical --out DIR``: make the classical-ensemble dataset."""

from __future__ import annotations

import argparse
import time

from remixer_app.cli.arguments import output_folder
from remixer_app.cli.messages import end_progress, show_progress
from remixer_app.core.progress import ProgressReport
from remixer_app.training.classical.scenes import DataSettings, build_dataset


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``data`` subcommand."""
    p = sub.add_parser("data", help="make training and evaluation data",
                       description="Make datasets here (nothing is downloaded).")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    c = kinds.add_parser(
        "classical", help="small classical ensembles rendered per instrument",
        description="Render 2-5 instrument excerpts of Bach chorales and Haydn/Mozart "
                    "quartets (music21's corpus) with FluidSynth and a General MIDI "
                    "soundfont, one stem per instrument, with varied tempo, dynamics, "
                    "instruments, stereo placement and room. Deterministic from --seed; "
                    "test scenes come only from held-out pieces. Running it again resumes.")
    defaults = DataSettings()
    c.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                   help="dataset folder")
    c.add_argument("--seed", type=int, default=defaults.seed)
    c.add_argument("--train", type=int, default=defaults.train, metavar="N",
                   help=f"training scenes (default {defaults.train})")
    c.add_argument("--test", type=int, default=defaults.test, metavar="N",
                   help=f"held-out scenes (default {defaults.test})")
    c.add_argument("--seconds", type=float, default=defaults.seconds,
                   help=f"length of each scene (default {defaults.seconds:g})")
    c.set_defaults(func=run_classical)


def run_classical(args: argparse.Namespace) -> int:
    settings = DataSettings(seed=args.seed, train=args.train, test=args.test,
                            seconds=args.seconds)
    began = time.monotonic()

    def show(report: ProgressReport) -> None:
        show_progress(f"{report.fraction:6.1%} {report.message:<40}")

    manifest = build_dataset(args.out, settings, progress=show)
    end_progress()
    counts = {k: len(v) for k, v in manifest["scenes"].items()}
    print(f"{args.out}: {counts['train']} training and {counts['test']} held-out scenes "
          f"in {time.monotonic() - began:.0f} s")
    return 0
