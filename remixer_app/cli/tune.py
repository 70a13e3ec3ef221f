"""``remixer tune-ensemble NAME --data DIR``: per-stem member weights from training tracks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from remixer_app.core.errors import RemixerError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``tune-ensemble`` subcommand."""
    p = sub.add_parser(
        "tune-ensemble", help="choose an ensemble's per-stem member weights on training tracks",
        description="Separate the first N training tracks with every member of an ensemble "
                    "(plain and, with --hrir, at-ear mixtures), pick for each stem the member "
                    "weights with the best mean SDR on a grid over the tracks where it "
                    "plays (not silent), and write them into the ensemble file (with "
                    "NAME.tuning.json beside it). Tune on training data only, never on the "
                    "tracks you report scores on.")
    p.add_argument("ensemble", help="ensemble name in models/ or path to an ensemble file")
    p.add_argument("--data", required=True, metavar="DIR", help="folder of training tracks")
    p.add_argument("--hrir", metavar="FILE", help="also tune on at-ear mixtures (+-30 degrees)")
    p.add_argument("--limit", type=int, default=24, metavar="N",
                   help="tracks to use, first by name (default: 24)")
    p.add_argument("--steps", type=int, default=10, metavar="N",
                   help="grid resolution: weights in multiples of 1/N (default: 10)")
    p.add_argument("--choose-remask", action="store_true",
                   help="tune with the Wiener remask and without it, and write whichever "
                        "scores higher (default: keep the file's setting)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Tune and write the weights; returns the exit code."""
    from remixer_app.training.tuning import tune_ensemble

    if args.limit < 1 or args.steps < 1:
        raise ValueError("--limit and --steps must be at least 1")
    hrir = Path(args.hrir) if args.hrir else None
    if hrir is not None and not hrir.is_file():
        raise RemixerError(f"HRIR file {hrir} does not exist")
    report = tune_ensemble(args.ensemble, Path(args.data), limit=args.limit, hrir=hrir,
                           steps=args.steps, choose_remask=args.choose_remask,
                           log=lambda m: print(m, file=sys.stderr))
    for stem, result in report["stems"].items():
        # Stems are scored only where they play: say how many tracks that was.
        print(f"{stem}: {result['weights']} -> {result['ensemble_sdr']:.2f} dB on "
              f"{result['tracks']} of {report['tracks']} tracks")
    print(f"wiener_remask: {'true' if report['wiener_remask'] else 'false'}")
    return 0
