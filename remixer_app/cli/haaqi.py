"""``remixer haaqi``: HAAQI of a processed file against a reference, per ear.

Both files are read at 44.1 kHz (any format ``load_audio`` reads), the ear's channel
is taken (left 0, right 1) and resampled to 24 kHz, as the Cadenza evaluation
prepares its signals, and scored with the listener's audiogram for that ear.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from remixer_app.cli.messages import load_audio_warning, warn
from remixer_app.core.audio_io import TARGET_RATE
from remixer_app.core.dsp.resample import resample
from remixer_app.core.errors import AudioError
from remixer_app.core.listener_io import resolve_listener
from remixer_app.core.metrics import haaqi_score
from remixer_app.core.metrics.alignment import MODEL_RATE
from remixer_app.core.metrics.haaqi import Implementation

EARS = {"left": (0,), "right": (1,), "both": (0, 1)}
EAR_NAMES = ("left", "right")
LENGTH_TOLERANCE = 0.05  # s; files that differ by more probably do not belong together


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``haaqi`` subcommand."""
    p = sub.add_parser(
        "haaqi", help="HAAQI of a processed file against a reference file",
        description="Score hearing-aid output with the Hearing-Aid Audio Quality Index "
                    "(Kates & Arehart 2016) per ear, as the Cadenza evaluation does: both "
                    "files at 24 kHz, the listener's audiogram for that ear.")
    p.add_argument("--processed", required=True, metavar="FILE", help="hearing-aid output")
    p.add_argument("--reference", required=True, metavar="FILE",
                   help="reference (with NAL-R already applied for --equalisation 2)")
    p.add_argument("--listener-file", metavar="FILE",
                   help="listener JSON (Clarity or remixer); omit to use a built-in preset")
    p.add_argument("--listener", metavar="ID", help="listener id in the file, or a preset name")
    p.add_argument("--ear", choices=tuple(EARS), default="both")
    level = p.add_mutually_exclusive_group()
    level.add_argument("--level1", type=float, metavar="DB",
                       help="dB SPL of an RMS of 1 (default: 65 - 20 log10(RMS of the "
                            "--level-from file's ear, else of the reference's))")
    level.add_argument("--level-from", metavar="FILE",
                       help="the remix the hearing aid takes in (`remixer render "
                            "--remix-out`): "
                            "the Cadenza recipes put its RMS at 65 dB SPL (the reference, "
                            "through the aid, is louder)")
    p.add_argument("--equalisation", type=int, choices=(1, 2), default=2,
                   help="1: HAAQI adds NAL-R to the reference; 2: it has NAL-R (default)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="seed numpy's global generator once, before the first ear, for "
                        "repeatable scores (HAAQI adds random threshold noise)")
    p.add_argument("--reference-impl", action="store_true",
                   help="score with pyclarity's compute_haaqi (slow) instead of ours")
    p.set_defaults(func=run)


def default_level1(ear_signal: np.ndarray, path: str) -> float:
    """The recipe's rule: the ear's RMS (of the remix before the aid) at 65 dB SPL."""
    rms = float(np.sqrt(np.mean(np.square(ear_signal, dtype=np.float64))))
    if rms == 0.0:
        raise AudioError(f"{path} is silent in this ear; pass --level1")
    return 65.0 - 20.0 * float(np.log10(rms))


def run(args: argparse.Namespace) -> int:
    """Score the requested ears and print one line each; returns the exit code."""
    listener = resolve_listener(args.listener_file, args.listener)
    processed = load_audio_warning(args.processed).samples.astype(np.float64)
    reference = load_audio_warning(args.reference).samples.astype(np.float64)
    if abs(len(processed) - len(reference)) > LENGTH_TOLERANCE * TARGET_RATE:
        shorter = min(len(processed), len(reference)) / TARGET_RATE
        warn(f"the processed file lasts {len(processed) / TARGET_RATE:.2f} s and the reference "
             f"{len(reference) / TARGET_RATE:.2f} s; only the first {shorter:.2f} s are scored")
    implementation: Implementation = "reference" if args.reference_impl else "fast"
    if args.level1 is not None and not math.isfinite(args.level1):
        raise ValueError("--level1 must be a finite number of dB SPL")
    # Every ear's level first: a silent ear must fail the run before any score is printed.
    if args.level1 is None:
        if not args.level_from:
            warn("HAAQI's level is taken from the reference, which has been through the "
                 "hearing aid; the Cadenza recipes take it from the remix before the aid "
                 "(write it with `remixer render --remix-out FILE`, pass --level-from FILE), "
                 "and a reference through the multiband aid scores far lower this way")
        source, path = ((load_audio_warning(args.level_from).samples, args.level_from)
                        if args.level_from else (reference, args.reference))
        levels = {ear: default_level1(source[:, ear], path) for ear in EARS[args.ear]}
    else:
        levels = dict.fromkeys(EARS[args.ear], args.level1)
    if args.seed is not None:
        np.random.seed(args.seed)
    print(f"listener {listener.id}, equalisation {args.equalisation}, "
          f"{'pyclarity' if args.reference_impl else 'fast'} implementation")
    for ear, level1 in levels.items():
        name = EAR_NAMES[ear]
        score = haaqi_score(resample(processed[:, ear], TARGET_RATE, MODEL_RATE),
                            resample(reference[:, ear], TARGET_RATE, MODEL_RATE),
                            MODEL_RATE, MODEL_RATE, getattr(listener, name),
                            equalisation=args.equalisation, level1=level1,
                            implementation=implementation)
        print(f"{name:<5}  HAAQI {score:.6f}  (level1 {level1:.2f} dB SPL)")
    return 0
