"""``remixer compare A.csv B.csv``: is system B better than A, or only different by noise?"""

from __future__ import annotations

import argparse

from remixer_app.core.evaluation.comparison import Comparison, compare
from remixer_app.core.evaluation.results import read_results


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare", help="compare two `remixer evaluate` runs scene by scene",
        description="Read two results files of `remixer evaluate --musdb`, scored on the "
                    "same scenes, and print for each SDR (paired by track) and for HAAQI "
                    "(paired by scene) both means, the mean difference B - A and its "
                    "standard error. A '*' marks a difference of more than two standard "
                    "errors; a smaller one is within the noise of these tracks.")
    p.add_argument("a", metavar="A.csv", help="results of the system to compare against")
    p.add_argument("b", metavar="B.csv", help="results of the system being compared")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the comparison; returns the exit code."""
    comparison = compare(read_results(args.a), read_results(args.b), names=(args.a, args.b))
    print_comparison(comparison)
    return 0


def print_comparison(comparison: Comparison) -> None:
    """The comparison table on stdout."""
    print(f"A: {comparison.system_a}")
    print(f"B: {comparison.system_b}")
    print(f"{comparison.tracks} tracks, {comparison.scenes} scenes; '*': |B - A| above "
          "2 standard errors")
    print(f"{'':<20}{'A':>9}{'B':>9}{'B - A':>9}{'std err':>9}")
    for d in comparison.differences:
        digits = 4 if d.metric == "HAAQI" else 2
        error = "n/a" if d.standard_error is None else f"{d.standard_error:.{digits}f}"
        mark = " *" if d.significant else ""
        print(f"{d.metric:<20}{d.mean_a:9.{digits}f}{d.mean_b:9.{digits}f}"
              f"{d.mean_difference:+9.{digits}f}{error:>9}{mark}")
