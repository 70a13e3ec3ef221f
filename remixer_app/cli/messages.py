"""Warnings on the command line: one prefixed line each, on stderr.

The core returns warnings (a clipping file, extra channels, a device fallback) rather
than printing them; a command shows the ones its user should see through :func:`warn`.
"""

from __future__ import annotations

import os
import sys

from remixer_app.core.audio_io import LoadedAudio, load_audio


def warn(message: str) -> None:
    """Print ``remixer: warning: message`` on stderr."""
    print(f"remixer: warning: {message}", file=sys.stderr)


def load_audio_warning(path: str | os.PathLike[str]) -> LoadedAudio:
    """:func:`~remixer_app.core.audio_io.load_audio`, warning about what it found."""
    audio = load_audio(path)
    for message in audio.warnings:
        warn(message)
    return audio
