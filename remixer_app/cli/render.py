"""``remixer render``: stems + listener + gains -> hearing-aid output file."""

from __future__ import annotations

import argparse
import math
import sys

from remixer_app.cli.messages import load_audio_warning, warn
from remixer_app.core.atomic import check_not_input
from remixer_app.core.audio_io import is_silent
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.clip import CLIP_MODES
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import AudioError
from remixer_app.core.evaluation.protocol import MAX_GAIN_DB
from remixer_app.core.export import (
    DEFAULT_EXPORT_RATE,
    DEFAULT_SUBTYPE,
    EXPORT_RATES,
    SUBTYPES,
    check_export_target,
)
from remixer_app.core.exporting import export_aided, export_remix
from remixer_app.core.instruments import HEARING_AIDS, default_hearing_aid, instrument_name
from remixer_app.core.listener_io import resolve_listener
from remixer_app.core.stems_folder import (
    align_lengths,
    ignored_files_note,
    load_stems_dir,
    stem_files,
    stem_players,
)

_DEFAULT_COMPRESSOR = CompressorParams()
#: (option, CompressorParams field, metavar) of the compressor's settings.
COMPRESSOR_OPTIONS = (("--comp-threshold", "threshold", "RMS"),
                      ("--comp-attenuation", "attenuation", "RATIO"),
                      ("--comp-attack", "attack", "MS"), ("--comp-release", "release", "MS"),
                      ("--comp-rms-window", "rms_buffer_size", "S"),
                      ("--comp-makeup", "makeup_gain", "GAIN"))


def parse_gains(text: str) -> dict[str, float]:
    """``"vocals=6,drums=0,bass=-3"`` -> ``{"vocals": 6.0, ...}``; ``mute`` or ``-inf`` mutes.

    Stem names are read as :func:`~remixer_app.core.instruments.instrument_name` reads
    them (``Bassoon`` is ``bassoon``, ``Sax`` is ``saxophone``)."""
    gains: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"gain {item!r} is not of the form STEM=DB (e.g. vocals=6)")
        value = value.strip().lower()
        try:
            gain = -math.inf if value in ("mute", "-inf") else float(value)
        except ValueError:
            raise ValueError(f"gain {item!r}: {value!r} is not a number of dB") from None
        if not math.isfinite(gain) and gain != -math.inf:
            raise ValueError(f"gain {item!r} must be a finite number of dB or 'mute'")
        if math.isfinite(gain) and abs(gain) > MAX_GAIN_DB:
            raise ValueError(f"gain {item!r} is beyond +-{MAX_GAIN_DB:g} dB (use 'mute' to "
                             "silence a stem)")
        stem = instrument_name(name)
        if stem in gains:
            raise ValueError(f"stem {stem!r} is given two gains")
        gains[stem] = gain
    return gains


def gains_argument(text: str) -> dict[str, float]:
    """:func:`parse_gains` as an argparse ``type`` (errors become usage errors)."""
    try:
        return parse_gains(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``render`` subcommand."""
    p = sub.add_parser(
        "render", help="render the hearing-aid output of a remix",
        description="Apply per-stem gains, loudness-match to the mixture, NAL-R per ear, "
                    "optional compressor, then resample, clip and write (Cadenza chain); or, "
                    "for a classical ensemble, gains, the Cadenza 2 level rule and the "
                    "listener's multiband compressor per ear.")
    p.add_argument("--stems", required=True, metavar="DIR",
                   help="folder with vocals, drums, bass and other audio files, or with 2-5 "
                        "instrument files (violin.flac, cello.wav, ...)")
    p.add_argument("--hearing-aid", choices=HEARING_AIDS,
                   help="nalr (Cadenza 1) or multiband (Cadenza 2); default: multiband for "
                        "instrument stems, nalr otherwise")
    p.add_argument("--listener-file", metavar="FILE",
                   help="listener JSON (Clarity or remixer); omit to use a built-in preset")
    p.add_argument("--listener", metavar="ID", help="listener id in the file, or a preset name")
    p.add_argument("--gains", action="append", default=[], type=gains_argument,
                   metavar="STEM=DB,...",
                   help="per-stem gains in dB, e.g. vocals=6,drums=0,bass=-3,other=0 (may "
                        "be repeated)")
    p.add_argument("--mixture", metavar="FILE",
                   help="loudness target of the NAL-R aid (default: the sum of the stems)")
    p.add_argument("--compressor", action="store_true",
                   help="switch the NAL-R aid's compressor on (--comp-* set it up)")
    c = _DEFAULT_COMPRESSOR
    for option, field, metavar in COMPRESSOR_OPTIONS:
        p.add_argument(option, type=float, metavar=metavar,
                       help=f"(default {getattr(c, field):g}; needs --compressor)")
    p.add_argument("--clip", choices=CLIP_MODES, default="hard")
    p.add_argument("--sample-rate", type=int, default=DEFAULT_EXPORT_RATE, metavar="HZ")
    p.add_argument("--subtype", choices=SUBTYPES, default=DEFAULT_SUBTYPE)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--out", required=True, metavar="FILE", help="output .flac or .wav")
    p.add_argument("--remix-out", metavar="FILE",
                   help="also write the remix as the hearing aid takes it in (hard-clipped, "
                        "at --sample-rate; the multiband aid's at -40 LUFS): `remixer haaqi "
                        "--level-from` takes its level")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render and write the output; returns the exit code."""
    out = check_export_target(args.out, args.subtype, overwrite=args.overwrite)
    remix_out = (check_export_target(args.remix_out, args.subtype, overwrite=args.overwrite)
                 if args.remix_out else None)
    if remix_out is not None and remix_out.resolve() == out.resolve():
        raise ValueError("--remix-out and --out name the same file")
    inputs = [path for paths in stem_files(args.stems)[0].values() for path in paths]
    for target in (out, remix_out) if remix_out else (out,):
        check_not_input(target, [*inputs, args.mixture] if args.mixture else inputs)
    low, high = EXPORT_RATES
    if not low <= args.sample_rate <= high:
        raise ValueError(f"--sample-rate must be {low} to {high} Hz")
    listener = resolve_listener(args.listener_file, args.listener)
    given = {(option, field): value for option, field, _ in COMPRESSOR_OPTIONS
             if (value := getattr(args, option[2:].replace("-", "_"))) is not None}
    if given and not args.compressor:  # else silently ignored
        raise ValueError(f"{', '.join(option for option, _ in given)} set up the compressor: "
                         "add --compressor")
    compressor = None
    if args.compressor:
        compressor = CompressorParams(**{field: value for (_, field), value in given.items()})
    gains: dict[str, float] = {}
    for more in args.gains:
        twice = set(gains) & set(more)
        if twice:
            raise ValueError(f"--gains gives {', '.join(sorted(twice))} two gains")
        gains.update(more)
    settings = ChainSettings(gains_db=gains, compressor=compressor, clip=args.clip)

    noticed: list[str] = []
    stems = load_stems_dir(args.stems, noticed)
    note = ignored_files_note(args.stems)
    for warning in (*noticed, note) if note else noticed:
        warn(warning)
    if all(is_silent(stem) for stem in stems.values()):
        raise AudioError(f"every stem in {args.stems} is silent; there is nothing to render")
    mixture = None
    if args.mixture:
        loaded = load_audio_warning(args.mixture).samples
        if is_silent(loaded):
            raise AudioError(f"the mixture {args.mixture} is silent, so it cannot set the "
                             "loudness; omit --mixture to match the sum of the stems")
        tracks = align_lengths({**stems, "mixture": loaded},
                               f"the stems in {args.stems} and the mixture {args.mixture}")
        mixture = tracks.pop("mixture")
        stems = tracks
    hearing_aid = args.hearing_aid or default_hearing_aid(stems)
    if args.compressor and hearing_aid == "multiband":
        raise ValueError("--compressor is the NAL-R aid's; the multiband aid has its own")
    if args.mixture and hearing_aid == "multiband":  # else silently ignored
        raise ValueError("--mixture is the NAL-R aid's loudness target; the multiband aid "
                         "levels by the Cadenza 2 rule instead")
    engine = HearingAidEngine(stems, listener, mixture=mixture, hearing_aid=hearing_aid,
                              players=stem_players(args.stems))
    done = export_aided(engine, settings, out, rate=args.sample_rate, subtype=args.subtype,
                        overwrite=args.overwrite)
    if done.clipped:
        print(f"note: {done.clip_note(args.clip, args.subtype)}", file=sys.stderr)
    print(f"wrote {out} ({done.seconds:.2f} s, {args.sample_rate} Hz, "
          f"{args.subtype}) for listener {listener.id}, {hearing_aid} hearing aid")
    if remix_out is not None:
        export_remix(engine, stems, settings, remix_out, rate=args.sample_rate,
                     subtype=args.subtype, overwrite=args.overwrite, aid_input=True)
        print(f"wrote {remix_out}, the remix as the hearing aid takes it in")
    return 0
