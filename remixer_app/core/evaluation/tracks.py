"""Evaluation tracks: MUSDB18-style stem files, excerpts, and the two listening conditions.

A track is evaluated in two conditions, each a mixture with the stems it is made of:

* ``plain``: the loudspeaker signal, as MUSDB18 ships it. The mixture is the sum of
  the four decoded stems, not the file's separately AAC-coded mixture stream, so
  that stems and mixture agree exactly.
* ``atear``: the same music at the hearing-aid microphones
  (:func:`~remixer_app.core.evaluation.at_ear.at_ear`), as in Cadenza ICASSP 2024.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE, load_audio, mixture_of
from remixer_app.core.errors import AudioError, RemixerError
from remixer_app.core.evaluation.at_ear import at_ear
from remixer_app.core.evaluation.hrir import SpeakerHrirs

STEM_SUFFIX = ".stem.mp4"
MIN_EXCERPT_SECONDS = 1.0


@dataclass(frozen=True, eq=False)
class Condition:
    """A mixture and the true stems it is made of, (frames, 2) at 44.1 kHz each."""

    name: str
    mixture: np.ndarray
    stems: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class TrackConditions:
    """One track in both listening conditions."""

    name: str
    plain: Condition
    atear: Condition


def track_name(path: Path) -> str:
    """``"Artist - Title"`` from ``Artist - Title.stem.mp4``."""
    return path.name[: -len(STEM_SUFFIX)] if path.name.endswith(STEM_SUFFIX) else path.stem


def list_tracks(musdb: str | os.PathLike[str], split: str, limit: int | None = None
                ) -> list[Path]:
    """The ``*.stem.mp4`` files of ``musdb/split``, sorted by name, the first ``limit``.

    Raises
    ------
    RemixerError
        The folder is missing or holds no stem files.
    """
    folder = Path(musdb) / split
    if not folder.is_dir():
        raise RemixerError(f"MUSDB18 folder {folder} does not exist (expected {split}/ "
                           f"inside {musdb})")
    tracks = sorted(folder.glob("*" + STEM_SUFFIX), key=lambda p: p.name)
    if not tracks:
        raise RemixerError(f"{folder} holds no {STEM_SUFFIX} files")
    return tracks[:limit] if limit is not None else tracks


def centred_excerpt(length: int, seconds: float | None, rate: int = TARGET_RATE) -> slice:
    """The middle ``seconds`` of ``length`` frames (all of them when shorter or ``None``)."""
    if seconds is None:
        return slice(0, length)
    if seconds < MIN_EXCERPT_SECONDS:
        raise RemixerError(f"an excerpt must last at least {MIN_EXCERPT_SECONDS:g} s, "
                           f"not {seconds:g} s")
    wanted = min(length, round(seconds * rate))
    start = (length - wanted) // 2
    return slice(start, start + wanted)


def load_stems(path: str | os.PathLike[str], excerpt: float | None = None
               ) -> dict[str, np.ndarray]:
    """The four true stems of a stem file, optionally cut to a centred excerpt.

    Raises
    ------
    AudioError
        The file cannot be decoded or is not a five-stream stem file.
    """
    loaded = load_audio(path)
    if loaded.stems is None:
        raise AudioError(f"{path} is not a stem file (it has no separate stem streams)")
    span = centred_excerpt(loaded.samples.shape[0], excerpt)
    return {name: np.ascontiguousarray(loaded.stems[name][span]) for name in STEM_NAMES}


def prepare_track(path: str | os.PathLike[str], hrirs: SpeakerHrirs,
                  excerpt: float | None = None) -> TrackConditions:
    """Load a track and build its ``plain`` and ``atear`` conditions.

    The excerpt is cut first, so everything after (the head, separation, the
    hearing aid) treats it as the whole track.
    """
    if hrirs.rate != TARGET_RATE:
        raise ValueError(f"the HRIRs must be at {TARGET_RATE} Hz, not {hrirs.rate}")
    stems = load_stems(path, excerpt)
    plain_mix = mixture_of(stems[name] for name in STEM_NAMES)
    ear_stems, ear_mix = at_ear(stems, hrirs)
    return TrackConditions(
        name=track_name(Path(path)),
        plain=Condition("plain", plain_mix, stems),
        atear=Condition("atear", ear_mix.astype(np.float32),
                        {k: v.astype(np.float32) for k, v in ear_stems.items()}))
