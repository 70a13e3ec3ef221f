"""The ``remixer`` command line (core only, no Qt).

Each subcommand lives in its own module with an ``add_parser(subparsers)`` that
registers it and sets ``func``; user errors (:class:`RemixerError`, bad arguments,
files the system refuses, too little memory) end with a one-line reason on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn, cast

from remixer_app import __version__
from remixer_app.cli import compare, data, evaluate, haaqi, listeners, render, separate, train, tune
from remixer_app.cli.messages import end_progress
from remixer_app.core.errors import RemixerError

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """Reports bad arguments in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``remixer`` argument parser with all subcommands."""
    parser = _Parser(
        prog="remixer",
        description="Remix music for listeners with hearing loss (Cadenza hearing-aid chain).")
    parser.add_argument("--version", action="version", version=f"remixer {__version__}")
    # Each module only adds parsers and reads them as ArgumentParsers, which _Parsers are.
    sub = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
               parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser))
    render.add_parser(sub)
    separate.add_parser(sub)
    listeners.add_parser(sub)
    evaluate.add_parser(sub)
    compare.add_parser(sub)
    haaqi.add_parser(sub)
    train.add_parser(sub)
    tune.add_parser(sub)
    data.add_parser(sub)
    return parser


def _terminated(signum: int, _frame: FrameType | None) -> NoReturn:
    # As Ctrl-C does, so that partial outputs and cache folders are cleaned up on the way.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already reported
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except (RemixerError, ValueError) as exc:
        return _user_error(str(exc))
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        sys.stderr.close()
        return 0
    except OSError as exc:  # after BrokenPipeError, one of its kind: e.g. an unreadable folder
        return _user_error(_os_error_message(exc))
    except MemoryError:
        return _user_error("not enough memory for this task; try shorter audio or "
                           "smaller settings")
    except KeyboardInterrupt:
        end_progress()
        print("remixer: interrupted", file=sys.stderr)
        return 130


def _user_error(message: str) -> int:
    """End a command with a one-line reason on stderr; returns :data:`EXIT_USER_ERROR`."""
    end_progress()
    print(f"remixer: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def _os_error_message(exc: OSError) -> str:
    """An operating system error as one line: what failed on which file, without a traceback."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason
