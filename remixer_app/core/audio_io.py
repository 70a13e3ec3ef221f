"""Reading audio files into the app's working format: float32 stereo at 44.1 kHz.

Everything downstream (separation, loudness, hearing-aid processing) assumes one
format, so every quirk of the input (mono, surround, odd rates, AAC priming, stem
files) is dealt with here, and every way a file can be unusable becomes an
:class:`~remixer_app.core.errors.AudioError` with one clear sentence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from remixer_app.core.dsp.resample import resample
from remixer_app.core.errors import AudioError, Cancelled
from remixer_app.core.progress import CancelCheck, check_cancelled

TARGET_RATE = 44100
STEM_NAMES = ("vocals", "drums", "bass", "other")
MAX_SECONDS = 7200
MIN_SECONDS = 0.4

# Suffixes that go straight to PyAV: libsndfile cannot read AAC in MP4 containers.
PYAV_SUFFIXES = frozenset({".m4a", ".mp4", ".aac"})
AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif",
                            ".aiff", ".aifc", ".caf", ".w64", ".rf64"}) | PYAV_SUFFIXES

# Native Instruments stem order: 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals.
_NI_STEM_STREAMS = {"vocals": 4, "drums": 1, "bass": 2, "other": 3}
_NI_STREAM_COUNT = 5

# Full scale of integer sample formats PyAV may hand out (planar suffix "p" stripped).
_INT_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}

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


_READ_FRAMES = 1 << 18  # frames decoded between checks for cancellation (about 6 s)


class _OpenFailed(Exception):
    """A decoder does not recognise the file at all (so another decoder may try)."""


def mixture_of(stems: Iterable[np.ndarray]) -> np.ndarray:
    """The mixture of ``stems`` (same shapes): their sum, float32."""
    return np.asarray(np.sum(list(stems), axis=0, dtype=np.float32))


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
        The mixture in ``samples``; for a five-stream stem file also ``stems``.

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
        if p.suffix.lower() in PYAV_SUFFIXES:
            tracks = _read_pyav(p, cancelled)
        else:
            try:
                tracks = [_read_soundfile(p, cancelled)]
            except _OpenFailed:
                # Formats libsndfile lacks (e.g. a WAV holding MP3) may still decode via FFmpeg.
                tracks = _read_pyav(p, cancelled)
    except _OpenFailed:
        if p.suffix.lower() in AUDIO_SUFFIXES:
            raise _read_failure(p, None) from None
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
    if mix.shape[0] < MIN_SECONDS * source_rate:
        raise AudioError(f"{p} is too short: the loudness measurement needs at least "
                         f"{MIN_SECONDS:g} s (it has {mix.shape[0] / source_rate:.2f} s)")
    if mix.shape[1] > 2:
        warnings.append(f"{p.name} has {mix.shape[1]} channels; only the first two are used")

    stereo = [_to_stereo(data) for data, _ in tracks]
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
    if len(converted) == _NI_STREAM_COUNT:
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
        raise _read_failure(p, exc) from exc


def _read_failure(p: Path, exc: BaseException | None) -> AudioError:
    """Why ``p`` could not be read: the system's reason for an ``OSError``, otherwise (a
    decoder's error, or ``None``) that its contents are damaged."""
    if isinstance(exc, OSError):
        return AudioError(f"cannot read {p}: {exc.strerror or exc}")
    return AudioError(f"{p} cannot be decoded; the file is damaged or incomplete")


def _read_soundfile(p: Path, cancelled: CancelCheck | None) -> tuple[np.ndarray, int]:
    """Decode with libsndfile; ``_OpenFailed`` when it does not recognise the file."""
    try:
        f = sf.SoundFile(p)
    except Exception as exc:  # soundfile raises several types for unreadable input
        raise _OpenFailed from exc
    with f:
        _check_duration(p, f.frames / f.samplerate if f.samplerate else None)
        data = np.empty((max(f.frames, 0), f.channels), np.float32)
        done = 0
        try:
            while done < len(data):  # in blocks, into place: cancellable, no second copy
                check_cancelled(cancelled)
                count = f.read(frames=min(_READ_FRAMES, len(data) - done), dtype="float32",
                               always_2d=True, out=data[done:done + _READ_FRAMES]).shape[0]
                if count == 0:
                    break  # the header promised more frames than the file holds
                done += count
        except Exception as exc:
            if isinstance(exc, Cancelled):
                raise
            raise _read_failure(p, exc) from exc
        return data[:done], int(f.samplerate)


def _read_pyav(p: Path, cancelled: CancelCheck | None) -> list[tuple[np.ndarray, int]]:
    """Decode with FFmpeg: the first audio stream, or all five of a stem file."""
    try:
        container = av.open(str(p))
    except Exception as exc:  # PyAV raises FFmpegError subclasses and plain OSError/ValueError
        raise _OpenFailed from exc
    with container:
        audio = list(container.streams.audio)
        if not audio:
            raise _OpenFailed
        streams = audio if len(audio) == _NI_STREAM_COUNT else audio[:1]
        rates = {s.index: int(s.codec_context.sample_rate or 0) for s in streams}
        if not all(rates.values()):
            raise _OpenFailed
        for s in streams:
            seconds = None
            if s.duration and s.time_base:
                seconds = float(s.duration * s.time_base)
            elif container.duration:
                seconds = container.duration / av.time_base
            _check_duration(p, seconds)

        chunks: dict[int, list[np.ndarray]] = {s.index: [] for s in streams}
        counts = dict.fromkeys(chunks, 0)
        try:
            for packet in container.demux(*streams):
                check_cancelled(cancelled)
                index = packet.stream.index
                for frame in packet.decode():
                    assert isinstance(frame, av.AudioFrame)  # only audio streams are demuxed
                    block = _frame_to_array(frame)
                    chunks[index].append(block)
                    counts[index] += block.shape[0]
                    # Headers can lie or be absent (raw AAC), so also stop while decoding.
                    if counts[index] > MAX_SECONDS * rates[index]:
                        _check_duration(p, counts[index] / rates[index])
        except (AudioError, Cancelled):
            raise
        except Exception as exc:
            raise _read_failure(p, exc) from exc

        # Stream objects are invalid once the container closes, so assemble in here.
        tracks = []
        for s in streams:
            blocks = chunks[s.index]
            channels = s.codec_context.channels or 1
            data = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
            tracks.append((data, rates[s.index]))
    return tracks


def _frame_to_array(frame: av.AudioFrame) -> np.ndarray:
    """One decoded frame as ``(n, channels)`` float32 in [-1, 1]."""
    raw = frame.to_ndarray()
    channels = frame.layout.nb_channels
    data = raw.T if frame.format.is_planar else raw.reshape(-1, channels)
    kind = frame.format.name.rstrip("p")
    if kind == "u8":
        return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if kind in _INT_SCALE:
        return (data.astype(np.float64) / _INT_SCALE[kind]).astype(np.float32)
    return data.astype(np.float32)


def _check_duration(p: Path, seconds: float | None) -> None:
    """Refuse files that would not fit in memory once decoded."""
    if seconds is not None and seconds > MAX_SECONDS:
        raise AudioError(f"{p} is too long ({seconds / 3600:.1f} h); at most "
                         f"{MAX_SECONDS / 3600:g} h of audio can be loaded")


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
