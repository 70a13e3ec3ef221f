"""``remixer listeners FILE`` and ``remixer presets``: show listeners and built-ins."""

from __future__ import annotations

import argparse

from remixer_app.cli.messages import warn
from remixer_app.core.audiogram import Listener, presets
from remixer_app.core.listener_io import left_out_text, load_listeners


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``listeners`` and ``presets`` subcommands."""
    p = sub.add_parser("listeners", help="list the listeners in a listener file")
    p.add_argument("file", help="Clarity listener JSON or a remixer listener file")
    p.set_defaults(func=_list_file)
    p = sub.add_parser("presets", help="list the built-in audiograms (Bisgaard N1-N7, S1-S3, NH)")
    p.set_defaults(func=_list_presets)


def _describe(listener: Listener) -> str:
    def ear(levels: object) -> str:
        return " ".join(f"{v:g}" for v in levels)  # type: ignore[attr-defined]

    freqs = " ".join(f"{f:g}" for f in listener.left.frequencies)
    lines = [f"{listener.id}  {listener.name}".rstrip(), f"  Hz     {freqs}",
             f"  left   {ear(listener.left.levels)}", f"  right  {ear(listener.right.levels)}"]
    if not (listener.right.frequencies.shape == listener.left.frequencies.shape
            and (listener.right.frequencies == listener.left.frequencies).all()):
        lines[-1] += "  (at Hz " + " ".join(f"{f:g}" for f in listener.right.frequencies) + ")"
    return "\n".join(lines)


def _list_file(args: argparse.Namespace) -> int:
    left_out: dict[str, str] = {}
    found = load_listeners(args.file, left_out)
    print(f"{len(found)} listener(s) in {args.file} (levels in dB HL)")
    for listener in found.values():
        print(_describe(listener))
    if left_out:
        warn(left_out_text(args.file, left_out))
    return 0


def _list_presets(args: argparse.Namespace) -> int:
    print("built-in listeners (levels in dB HL, same for both ears); use --listener NAME")
    for listener in presets().values():
        print(_describe(listener))
    return 0
