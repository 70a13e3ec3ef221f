"""``remixer separate TRACK --out DIR``: write a track's vocals, drums, bass and other, or
(``--instruments``) the instruments of a classical ensemble.

An instrument named twice (``violin,violin,cello``: two violins) is one stem, as the
Cadenza 2 challenge counts players; how many players it holds is written beside the
stems (``scene.json``), where the app and ``remixer render`` read it for the level rule.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from remixer_app.cli.arguments import output_folder
from remixer_app.cli.messages import end_progress, load_audio_warning, show_progress, warn
from remixer_app.core.atomic import check_not_input, check_target
from remixer_app.core.audio_io import LoadedAudio
from remixer_app.core.errors import RemixerError
from remixer_app.core.export import SUBTYPES, check_export_target
from remixer_app.core.exporting import export_stems
from remixer_app.core.instruments import INSTRUMENTS, instrument_name
from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation import DEFAULT_ENSEMBLE, Separator, load_separator
from remixer_app.core.separation.cache import StemCache
from remixer_app.core.separation.cached import separate_cached
from remixer_app.core.separation.device import DEVICES
from remixer_app.core.separation.ensemble import CLASSICAL_ENSEMBLE
from remixer_app.core.stems_folder import check_stems_target, players_file, write_players


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``separate`` subcommand."""
    p = sub.add_parser(
        "separate", help="split a track into vocals, drums, bass and other (or instruments)",
        description="Separate a track with an ensemble from models/ (default: the embedded "
                    "one). Results are cached per audio content and ensemble, so running "
                    "it again is instant.")
    p.add_argument("track", help="audio file (wav, flac, mp3, ogg, m4a, .stem.mp4)")
    p.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                   help="folder for the stems (vocals/drums/bass/other, or the "
                        "--instruments)")
    p.add_argument("--ensemble", metavar="NAME",
                   help="ensemble name in models/ or path to an ensemble file "
                        f"(default: {DEFAULT_ENSEMBLE}, or {CLASSICAL_ENSEMBLE} with "
                        "--instruments)")
    p.add_argument("--instruments", metavar="NAME,...",
                   help="a classical ensemble: the 2-5 instruments playing "
                        f"({', '.join(INSTRUMENTS)}); their stems are written. Name an "
                        "instrument once per player (violin,violin,cello): its players "
                        "share one stem, their count goes to scene.json")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="where to run the models (default: auto = CUDA, MPS, else CPU)")
    p.add_argument("--format", default="wav", choices=("wav", "flac"),
                   help="stem file format (default: wav)")
    p.add_argument("--subtype", default=None, choices=SUBTYPES,
                   help="sample format (default: FLOAT for wav, PCM_24 for flac)")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the stem cache (the stems are staged in "
                        "a hidden folder in --out, removed when done)")
    p.add_argument("--offline", action="store_true",
                   help="never download model weights")
    p.add_argument("--overwrite", action="store_true", help="replace existing stem files")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    subtype = args.subtype or ("FLOAT" if args.format == "wav" else "PCM_24")
    instruments = None
    if args.instruments is not None:
        instruments = [i for i in args.instruments.split(",") if i.strip()]
    named = Counter(instrument_name(i) for i in instruments or ())
    ensemble = args.ensemble or (DEFAULT_ENSEMBLE if instruments is None else CLASSICAL_ENSEMBLE)
    separator = load_separator(ensemble, device=args.device, instruments=instruments,
                               allow_download=False if args.offline else None)
    players = {stem: named.get(stem, 1) for stem in separator.stems}
    audio = load_audio_warning(args.track)
    for warning in separator.warnings:
        warn(warning)
    # The folders this run creates, deepest first: removed again if it fails.
    created = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RemixerError(f"cannot create {out}: {exc.strerror or exc}") from exc
    try:  # refuse before minutes of work, not after
        check_stems_target(out, separator.stems, f".{args.format}")
        for stem in separator.stems:
            check_not_input(check_export_target(out / f"{stem}.{args.format}", subtype,
                                                overwrite=args.overwrite), [args.track])
        described = players_file(out, players)
        if described is not None:
            check_target(described, overwrite=args.overwrite)
        with contextlib.ExitStack() as staging:
            scratch = None if not args.no_cache else Path(staging.enter_context(
                tempfile.TemporaryDirectory(prefix=".remixer-separating-", dir=out,
                                            ignore_cleanup_errors=True)))
            stems = _separate(separator, audio, cache=StemCache(scratch) if scratch else None,
                              name=args.track)
            written = export_stems(stems, out, suffix=f".{args.format}", subtype=subtype,
                                   overwrite=args.overwrite)
            del stems  # memory-mapped from the staging folder: closed before it goes
        described = write_players(out, players, overwrite=args.overwrite)
        for target in written if described is None else [*written, described]:
            print(target)
    except BaseException:
        with contextlib.suppress(OSError):  # an interrupted or failed run leaves no
            for folder in created:          # empty folder behind (rmdir stops at a full one)
                folder.rmdir()
        raise
    return 0


def _separate(separator: Separator, audio: LoadedAudio, *, cache: StemCache | None,
              name: str) -> dict[str, np.ndarray]:
    """The track's stems: from the user's stem cache (``cache`` None), or streamed to disk
    through ``cache`` (a throwaway one: a long track's stems never whole in memory)."""
    print(f"separating {name} ({audio.duration:.1f} s) with {separator.identity} "
          f"on {separator.device}", file=sys.stderr)
    result = separate_cached(separator, audio.samples, cache=cache, progress=_show)
    end_progress()
    if result.warning:
        warn(result.warning)
    print("stems from the cache" if result.from_cache else "separated", file=sys.stderr)
    return result.stems


def _show(report: ProgressReport) -> None:
    eta = "" if report.eta_s is None else f", {report.eta_s:.0f} s left"
    show_progress(f"{report.percent:5.1f} %{eta}")
