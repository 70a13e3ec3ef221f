"""What a command prints on stderr: a progress line, warnings, and where they meet.

The core returns warnings (a clipping file, extra channels, a device fallback) rather
than printing them; a command shows the ones its user should see through :func:`warn`.
Progress rewrites one line (``\r``); anything else printed while it is open, an error
included, first ends that line (:func:`end_progress`), so it does not land on its tail.
"""

from __future__ import annotations

import os
import sys

from remixer_app.core.audio_io import LoadedAudio, load_audio

_progress_open = False


def show_progress(text: str) -> None:
    """Rewrite the progress line with ``text``."""
    global _progress_open
    print(f"\r{text}   ", end="", file=sys.stderr, flush=True)
    _progress_open = True


def end_progress() -> None:
    """End the progress line, if one is open."""
    global _progress_open
    if _progress_open:
        print(file=sys.stderr)
        _progress_open = False


def warn(message: str) -> None:
    """Print ``remixer: warning: message`` on stderr."""
    end_progress()
    print(f"remixer: warning: {message}", file=sys.stderr)


def load_audio_warning(path: str | os.PathLike[str]) -> LoadedAudio:
    """:func:`~remixer_app.core.audio_io.load_audio`, warning about what it found."""
    audio = load_audio(path)
    for message in audio.warnings:
        warn(message)
    return audio
