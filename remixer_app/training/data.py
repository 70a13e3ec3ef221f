"""Training material: multitrack stems in memory, plain and as heard at the ears.

A training set is a list of tracks, each its stems as ``(frames, 2)`` float32 arrays
at 44.1 kHz: the four pop stems (``vocals``, ``drums``, ``bass``, ``other``) from a
folder of ``.stem.mp4`` files (MUSDB18 layout) or of per-track stem folders
(``TRACK/vocals.wav`` ...), or the instruments of a classical scene from folders of
instrument files (``SCENE/violin.flac`` ..., as ``remixer data classical`` makes).
The at-ear version plays every stem over the loudspeaker pair through real BTE
head-related responses, the way the Cadenza challenge made its at-ear data
(:mod:`remixer_app.core.evaluation.at_ear`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.at_ear import at_ear
from remixer_app.core.evaluation.hrir import SpeakerHrirs
from remixer_app.core.evaluation.tracks import load_stems
from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.stems_folder import load_stems_dir, stem_name

if TYPE_CHECKING:  # recipes -> augment -> this module
    from remixer_app.training.recipes import Recipe

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
    stem_dirs = sorted(d for d in root.iterdir() if d.is_dir() and _stem_names(d))
    tracks = stem_files + stem_dirs
    if not tracks:
        raise RemixerError(f"{root} holds no training track: expected *.stem.mp4 files, "
                           "folders with vocals/drums/bass/other audio files, or folders "
                           f"of instrument files ({', '.join(INSTRUMENTS)})")
    return tracks


def _stem_names(folder: Path) -> set[str]:
    """Pop-stem or instrument names of the audio files in ``folder``."""
    names = {stem_name(f) for f in folder.iterdir() if f.is_file()}
    return names & set(STEM_NAMES + INSTRUMENTS)


def load_track(path: Path) -> Track:
    """The stems of one track: a stem file, a pop-stem folder or an instrument folder."""
    stems = load_stems_dir(path) if path.is_dir() else load_stems(path)
    return {name: np.ascontiguousarray(audio, dtype=np.float32) for name, audio in stems.items()}


def load_tracks(paths: Sequence[Path], progress: Callable[[float, str], None] | None = None
                ) -> list[Track]:
    """Decode every track, reporting ``progress(fraction, message)``."""
    tracks = []
    for i, path in enumerate(paths):
        tracks.append(load_track(path))
        if progress:
            progress((i + 1) / len(paths), f"decoded {path.name}")
    return tracks


def check_sources(paths: Sequence[Path], tracks: Sequence[Track], recipe: Recipe,
                  sources: Sequence[str]) -> None:
    """Every track must hold every stem the model learns or, for a recipe told which
    sources each example holds (the classical ones), at least one of them."""
    for path, track in zip(paths, tracks, strict=True):
        usable = set(track) & set(sources) if recipe.presence else set(sources) <= set(track)
        if not usable:
            raise RemixerError(f"{recipe.name} learns {', '.join(sources)}; {path} holds "
                               f"{', '.join(track)}: choose a recipe for these stems")


def at_ear_tracks(tracks: Sequence[Track], hrirs: SpeakerHrirs) -> list[Track]:
    """Every track's stems as picked up at the hearing-aid microphones."""
    result = []
    for track in tracks:
        stems, _ = at_ear(track, hrirs)
        result.append({name: stems[name].astype(np.float32) for name in track})
    return result
