"""Reading audio files into the app's working format: float32 stereo at 44.1 kHz.

Everything downstream (separation, loudness, hearing-aid processing) assumes one
format, so every quirk of the input (mono, surround, odd rates, AAC priming, stem
files) is dealt with here and in :mod:`~remixer_app.core.audio_decode`, and every way
a file can be unusable becomes an :class:`~remixer_app.core.errors.AudioError` with
one clear sentence.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.audio_decode import (
    NI_STREAM_COUNT,
    PYAV_SUFFIXES,
    OpenFailed,
    decode,
    read_failure,
)
from remixer_app.core.dsp.resample import resample
from remixer_app.core.errors import AudioError
from remixer_app.core.progress import CancelCheck

TARGET_RATE = 44100
STEM_NAMES = ("vocals", "drums", "bass", "other")
MAX_SECONDS = 7200
MIN_SECONDS = 0.4

AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif",
                            ".aiff", ".aifc", ".caf", ".w64", ".rf64"}) | PYAV_SUFFIXES

# Native Instruments stem order: 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals.
_NI_STEM_STREAMS = {"vocals": 4, "drums": 1, "bass": 2, "other": 3}

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LoadedAudio:
    """A decoded audio file in the app's working format.

    ``samples`` and every entry of ``stems`` are ``(n, 2)`` float32 arrays at
    ``sample_rate`` (always :data:`TARGET_RATE`) and all have the same length.
    """

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    path: Path
    stems: dict[str, np.ndarray] | None
    warnings: tuple[str, ...]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sample_rate


def mixture_of(stems: Iterable[np.ndarray]) -> np.ndarray:
    """The mixture of ``stems`` (same shapes): their sum, float32."""
    return np.asarray(np.sum(list(stems), axis=0, dtype=np.float32))


def is_silent(samples: np.ndarray) -> bool:
    """Whether every sample of ``samples`` is 0 (a peak of 0)."""
    return not any(np.any(block) for block in _blocks(samples))


def load_audio(path: str | os.PathLike[str], cancelled: CancelCheck | None = None
               ) -> LoadedAudio:
    """Load an audio file as float32 stereo at 44.1 kHz.

    Parameters
    ----------
    path
        WAV, FLAC, OGG, MP3 or anything else libsndfile reads; M4A/MP4/AAC and
        Native Instruments ``.stem.mp4`` files through PyAV.
    cancelled
        Polled while decoding (every few seconds of audio); when it returns True,
        :class:`~remixer_app.core.errors.Cancelled` is raised.

    Returns
    -------
    LoadedAudio
        The mixture in ``samples``; for a five-stream stem file also ``stems``. Its
        ``warnings`` say what the user should know: channels dropped, clipping, silence.

    Raises
    ------
    AudioError
        The file is missing, unreadable, empty, damaged, in an unsupported format, silent of
        samples, shorter than 0.4 s, longer than :data:`MAX_SECONDS`, or holds NaN/inf.
    Cancelled
        ``cancelled()`` became true.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(f"audio file {p} does not exist")
    if p.is_dir():
        raise AudioError(f"{p} is a folder, not an audio file")
    if p.stat().st_size == 0:
        raise AudioError(f"audio file {p} is empty (0 bytes)")
    _check_readable(p)

    warnings: list[str] = []
    try:
        tracks = decode(p, cancelled, MAX_SECONDS)
    except OpenFailed:
        if p.suffix.lower() in AUDIO_SUFFIXES:
            raise read_failure(p, None) from None
        raise AudioError(f"{p} is not in a supported audio format "
                         "(WAV, FLAC, OGG, MP3, M4A/AAC or .stem.mp4)") from None

    if len(tracks) == 1 and p.name.lower().endswith(".stem.mp4"):
        warnings.append(f"{p.name} is named like a stem file but has no stem streams; "
                        "it is treated as a plain mixture")

    mix, source_rate = tracks[0]
    for data, _ in tracks:
        if data.shape[0] == 0:
            raise AudioError(f"{p} contains no audio samples")
        if not all(np.isfinite(block).all() for block in _blocks(data)):
            raise AudioError(f"{p} contains invalid (NaN or infinite) sample values")
    needed = math.ceil(MIN_SECONDS * source_rate)
    if mix.shape[0] < needed:
        # Seconds rounded down: 17639 samples are "0.39 s", not "0.40 s" against 0.4 s.
        had = math.floor(mix.shape[0] / source_rate * 100) / 100
        raise AudioError(f"{p} is too short: the loudness measurement needs at least "
                         f"{MIN_SECONDS:g} s ({needed} samples at {source_rate} Hz); it has "
                         f"{had:.2f} s ({mix.shape[0]} samples). Open a longer recording.")
    if mix.shape[1] > 2:
        warnings.append(f"{p.name} has {mix.shape[1]} channels; only the first two are used")

    stereo = [_to_stereo(data) for data, _ in tracks]
    if is_silent(stereo[0]):
        warnings.append(f"{p.name} is silent: every sample is 0")
    clipped = sum(int(np.count_nonzero(np.abs(block) >= 1.0)) for block in _blocks(stereo[0]))
    if clipped:
        warnings.append(f"{p.name} clips: {clipped} samples are at or beyond full scale, "
                        "so the remix may sound distorted")
    converted = [_as_output(resample(data, rate, TARGET_RATE))
                 for data, (_, rate) in zip(stereo, tracks, strict=True)]
    # AAC priming/padding makes stem streams differ by a few samples.
    n = min(c.shape[0] for c in converted)
    converted = [c[:n] for c in converted]
    stems = None
    if len(converted) == NI_STREAM_COUNT:
        stems = {name: converted[_NI_STEM_STREAMS[name]] for name in STEM_NAMES}

    for message in warnings:
        logger.info(message)  # shown by the caller (LoadedAudio.warnings), not twice
    return LoadedAudio(samples=converted[0], sample_rate=TARGET_RATE, source_rate=source_rate,
                       path=p, stems=stems, warnings=tuple(warnings))


def _check_readable(p: Path) -> None:
    """Read the first byte, so that a file the system refuses to read (no permission, a
    failing disk) is reported as such rather than by the decoders as damaged."""
    try:
        with p.open("rb") as f:
            f.read(1)
    except OSError as exc:
        raise read_failure(p, exc) from exc


def _blocks(data: np.ndarray, frames: int = 1 << 20) -> Iterator[np.ndarray]:
    """Views of ``data`` a million frames at a time, so checks of an hour-long track need
    no full-size temporaries (peak memory stays near the decoded audio itself)."""
    for start in range(0, data.shape[0], frames):
        yield data[start:start + frames]


def _to_stereo(data: np.ndarray) -> np.ndarray:
    """Duplicate mono, keep the first two of more channels."""
    if data.shape[1] == 1:
        return np.repeat(data, 2, axis=1)
    return data[:, :2]


def _as_output(data: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(data, dtype=np.float32)
