"""``remixer evaluate``: SDR and HAAQI of a separation system on MUSDB18 stem files, or
(``--classical``) on classical-ensemble scenes by the Cadenza 2 rules."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from remixer_app.cli.messages import warn
from remixer_app.cli.render import gains_argument
from remixer_app.core.atomic import check_target
from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE
from remixer_app.core.audiogram import Listener, get_preset, presets
from remixer_app.core.dsp.clip import CLIP_MODES
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.haaqi import haaqi_implementation
from remixer_app.core.evaluation.harness import EvaluationSetup, evaluate
from remixer_app.core.evaluation.hrir import load_speaker_hrirs
from remixer_app.core.evaluation.protocol import (
    FORMAT_VERSION,
    GAINS_FORMAT,
    GainsScenario,
    default_listener_ids,
    load_gains_scenarios,
    parse_gains_scenarios,
)
from remixer_app.core.evaluation.results import Summary, summarise, write_results
from remixer_app.core.evaluation.systems import MIXTURE_ONLY, ORACLE, SeparatorSystem, System
from remixer_app.core.evaluation.tracks import MIN_EXCERPT_SECONDS, list_tracks
from remixer_app.core.listener_io import left_out_text, load_listeners, resolve_listener
from remixer_app.core.progress import ProgressReport

# Defaults beside the MUSDB18 folder, as ../shared/data lays them out.
DEFAULT_HRIR = Path("hrir") / "VP_N6-BTE_fr.mat"
DEFAULT_LISTENER_FILE = Path("listeners") / "clarity_listeners.json"
DEFAULT_ANGLE = 30.0
DEFAULT_CLIP = "hard"


def _excerpt_seconds(text: str) -> float:
    """``--excerpt``, checked when the arguments are read rather than at the first track."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds >= MIN_EXCERPT_SECONDS:  # also NaN
        raise argparse.ArgumentTypeError(f"an excerpt must last at least "
                                         f"{MIN_EXCERPT_SECONDS:g} s, not {text}")
    return seconds


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``evaluate`` subcommand."""
    p = sub.add_parser(
        "evaluate", help="score a separation system by SDR and HAAQI (Cadenza ICASSP 2024)",
        description="Separate MUSDB18 stem files as played over loudspeakers (plain) and as "
                    "heard at BTE hearing-aid microphones (at-ear); report SDR per stem on "
                    "both and HAAQI of the hearing-aid output on at-ear scenes (track, "
                    "listener, gains). A separator is scored with its floor (mixture only) "
                    "and ceiling (oracle stems) on the same scenes.")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--musdb", metavar="DIR",
                      help="folder with train/ and test/ holding *.stem.mp4 files")
    data.add_argument("--classical", metavar="DIR",
                      help="a dataset from `remixer data classical`: score per-instrument "
                           "separation through the Cadenza 2 hearing aid (multiband "
                           "compressor), with floor and ceiling; needs --ensemble; "
                           "listeners: the built-in hearing-loss presets N1-N7, S1-S3 "
                           "unless --listener-file or --listeners say otherwise")
    p.add_argument("--split", choices=("train", "test"), default="test")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--ensemble", metavar="NAME", help="a separator ensemble to score")
    which.add_argument("--oracle", action="store_true", help="score the true stems (ceiling)")
    which.add_argument("--mixture-only", action="store_true",
                       help="score no separation at all (floor)")
    # After the group: argparse shows a group's brackets only when nothing sits between.
    p.add_argument("--member", metavar="ID",
                   help="with --ensemble: score only this member (same residual/blend "
                        "options), to compare an ensemble with its members")
    p.add_argument("--listener-file", metavar="FILE",
                   help=f"Clarity listener JSON (default: {DEFAULT_LISTENER_FILE} beside the "
                        "--musdb folder)")
    p.add_argument("--listeners", metavar="ID,...",
                   help="listener ids (default: the shipped choice for the default file, "
                        "every listener of another file)")
    gains = p.add_mutually_exclusive_group()
    gains.add_argument("--gains-file", metavar="FILE",
                       help="gains scenarios JSON (default: resources/evaluation/gains.json)")
    gains.add_argument("--gains", type=gains_argument, metavar="STEM=DB,...",
                       help="one ad-hoc scenario instead of a file, e.g. vocals=6")
    p.add_argument("--hrir", metavar="FILE",
                   help=f"BTE HRIR .mat file (default: {DEFAULT_HRIR} beside --musdb)")
    p.add_argument("--angle", type=float, default=DEFAULT_ANGLE, metavar="DEG",
                   help="loudspeakers at +-DEG degrees azimuth (default 30)")
    p.add_argument("--excerpt", type=_excerpt_seconds, metavar="SECONDS",
                   help="score only the middle SECONDS of each track (a shorter track is "
                        f"scored whole; at least {MIN_EXCERPT_SECONDS:g})")
    p.add_argument("--compressor", action="store_true",
                   help="switch the hearing aid's compressor on (the reference never has it)")
    p.add_argument("--clip", choices=CLIP_MODES, default=DEFAULT_CLIP)
    p.add_argument("--all-pairs", action="store_true",
                   help="score every listener x scenario per track (default: one pair per "
                        "track, cycling so that all pairs occur)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes for HAAQI (default 1)")
    p.add_argument("--reference-impl", action="store_true",
                   help="score HAAQI with pyclarity's compute_haaqi (about 10x slower) "
                        "instead of ours, to check")
    p.add_argument("--no-bounds", action="store_true",
                   help="with --ensemble: skip scoring the floor and ceiling of each scene "
                        "(they depend only on the protocol; a third of the HAAQI time)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N tracks by name")
    p.add_argument("--device", default="auto", help="device for --ensemble: auto, cpu, cuda, mps")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results file")
    p.add_argument("--out", required=True, metavar="FILE", help="results CSV, one row per scene")
    p.set_defaults(func=run)


def _listeners(args: argparse.Namespace, data_root: Path) -> list[Listener]:
    if args.classical and not args.listener_file and not args.listeners:
        # shipped with the app, so a fresh clone can run the whole classical pipeline
        return [p for p in presets().values() if p.id != "NH"]
    if args.classical and not args.listener_file:
        return [get_preset(i.strip()) for i in args.listeners.split(",") if i.strip()]
    file = Path(args.listener_file) if args.listener_file else data_root / DEFAULT_LISTENER_FILE
    if args.listeners:
        ids = [i.strip() for i in args.listeners.split(",") if i.strip()]
    elif args.listener_file:
        left_out: dict[str, str] = {}
        ids = list(load_listeners(file, left_out))
        if left_out:
            warn(left_out_text(str(file), left_out))
    else:
        ids = default_listener_ids()
    if not ids:
        raise ValueError("--listeners names no listener")
    # resolve_listener gives the one-line "not in FILE; available: ..." message.
    return [resolve_listener(file, lid) for lid in dict.fromkeys(ids)]


def _scenarios(args: argparse.Namespace) -> list[GainsScenario]:
    if args.gains is None:
        return load_gains_scenarios(args.gains_file)
    document = {"format": GAINS_FORMAT, "version": FORMAT_VERSION,
                "scenarios": [{"id": "custom", "gains": args.gains}]}
    return parse_gains_scenarios(document, "--gains")


def _system(args: argparse.Namespace) -> tuple[System, bool]:
    """The system to score, and whether to score its floor and ceiling too."""
    if args.oracle:
        return ORACLE, False
    if args.mixture_only:
        return MIXTURE_ONLY, False
    from remixer_app.core.separation import load_separator

    separator = load_separator(args.ensemble, device=args.device, member=args.member)
    name = args.ensemble if args.member is None else f"{args.ensemble}[{args.member}]"
    print(f"separator {name}: {separator.identity}", file=sys.stderr)
    for warning in separator.warnings:  # e.g. a device fallback
        warn(warning)
    return SeparatorSystem(name, separator), not args.no_bounds


def _default_beside(data_root: Path, relative: Path, option: str) -> Path:
    path = data_root / relative
    if not path.is_file():
        raise RemixerError(f"no {option} given and {path} does not exist; pass {option} FILE")
    return path


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the CSV and print the summary; returns the exit code."""
    out = check_target(args.out, overwrite=args.overwrite)
    if args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    if args.member is not None and args.ensemble is None:  # else silently ignored
        raise ValueError("--member needs --ensemble: only an ensemble has members to score")
    if args.classical:
        from remixer_app.cli.evaluate_classical import run_classical

        return run_classical(args, out, _listeners(args, Path(args.classical)))
    musdb = Path(args.musdb)
    if not musdb.is_dir():
        raise RemixerError(f"MUSDB18 folder {musdb} does not exist")
    data_root = musdb.resolve().parent
    tracks = list_tracks(musdb, args.split, args.limit)
    hrir = Path(args.hrir) if args.hrir else _default_beside(data_root, DEFAULT_HRIR, "--hrir")
    if not hrir.is_file():
        raise RemixerError(f"HRIR file {hrir} does not exist")
    setup = EvaluationSetup(
        tracks=tuple(tracks), listeners=tuple(_listeners(args, data_root)),
        scenarios=tuple(_scenarios(args)),
        hrirs=load_speaker_hrirs(hrir, args.angle, TARGET_RATE), excerpt=args.excerpt,
        compressor=CompressorParams() if args.compressor else None, clip=args.clip,
        all_pairs=args.all_pairs)
    system, bounds = _system(args)

    start = time.monotonic()

    def show(report: ProgressReport) -> None:
        eta = "" if report.eta_s is None else f", ETA {report.eta_s:.0f} s"
        print(f"{report.message} (elapsed {time.monotonic() - start:.0f} s{eta})",
              file=sys.stderr, flush=True)

    with haaqi_implementation("reference" if args.reference_impl else "fast"):
        results = evaluate(setup, system, bounds=bounds, jobs=args.jobs, progress=show)
    write_results(out, results, overwrite=args.overwrite)
    print_summary(summarise(results))
    print(f"wrote {out} ({len(results)} scenes, {time.monotonic() - start:.0f} s)")
    return 0


def print_summary(summary: Summary) -> None:
    """The summary table on stdout."""
    print(f"system {summary.system}: {summary.tracks} tracks, {summary.scenes} scenes")
    keys = (*STEM_NAMES, "mean")
    print("SDR (dB)  " + "".join(f"{k:>9}" for k in keys))
    for cond, label in (("plain", "plain"), ("atear", "at-ear")):
        print(f"  {label:<8}" + "".join(f"{summary.sdr[cond][k]:9.2f}" for k in keys))
    line = f"HAAQI     system {summary.haaqi:.4f}"
    if summary.haaqi_floor is not None and summary.haaqi_ceiling is not None:
        line += f"  floor {summary.haaqi_floor:.4f}  ceiling {summary.haaqi_ceiling:.4f}"
        closed = "n/a" if summary.gap_closed is None else f"{100 * summary.gap_closed:.1f} %"
        line += f"  gap closed {closed}"
    print(line)
