"""Training material: multitrack stems in memory, plain and as heard at the ears.

A training set is a list of tracks, each the four stems (``vocals``, ``drums``,
``bass``, ``other``) as ``(frames, 2)`` float32 arrays at 44.1 kHz. They come from a
folder of ``.stem.mp4`` files (MUSDB18 layout) or of per-track stem folders
(``TRACK/vocals.wav`` ...). The at-ear version plays every stem over the
loudspeaker pair through real BTE head-related responses, the way the Cadenza
challenge made its at-ear data (:mod:`remixer_app.core.evaluation.at_ear`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, load_stems_dir
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.at_ear import at_ear
from remixer_app.core.evaluation.hrir import SpeakerHrirs
from remixer_app.core.evaluation.tracks import load_stems

Track = dict[str, np.ndarray]


def find_tracks(data: str | os.PathLike[str]) -> list[Path]:
    """The training tracks in ``data``: ``*.stem.mp4`` files and stem folders, sorted.

    Raises
    ------
    RemixerError
        ``data`` is not a folder or holds no track.
    """
    root = Path(data)
    if not root.is_dir():
        raise RemixerError(f"training data folder {root} does not exist")
    stem_files = sorted(root.glob("*.stem.mp4"))
    stem_dirs = sorted(d for d in root.iterdir()
                       if d.is_dir() and any(f.name.lower().startswith(f"{name}.")
                                             for name in STEM_NAMES for f in d.iterdir()))
    tracks = stem_files + stem_dirs
    if not tracks:
        raise RemixerError(f"{root} holds no training track: expected *.stem.mp4 files or "
                           "folders with vocals/drums/bass/other audio files")
    return tracks


def load_track(path: Path) -> Track:
    """The four stems of one track (a stem file or a stem folder)."""
    stems = load_stems_dir(path) if path.is_dir() else load_stems(path)
    return {name: np.ascontiguousarray(stems[name], dtype=np.float32) for name in STEM_NAMES}


def load_tracks(paths: Sequence[Path], progress: Callable[[float, str], None] | None = None
                ) -> list[Track]:
    """Decode every track, reporting ``progress(fraction, message)``."""
    tracks = []
    for i, path in enumerate(paths):
        tracks.append(load_track(path))
        if progress:
            progress((i + 1) / len(paths), f"decoded {path.name}")
    return tracks


def at_ear_tracks(tracks: Sequence[Track], hrirs: SpeakerHrirs) -> list[Track]:
    """Every track's stems as picked up at the hearing-aid microphones."""
    result = []
    for track in tracks:
        stems, _ = at_ear(track, hrirs)
        result.append({name: stems[name].astype(np.float32) for name in STEM_NAMES})
    return result
