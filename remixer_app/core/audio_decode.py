"""Decoding audio files into float32 arrays at their own sample rate and channel count.

Two decoders: libsndfile (WAV, FLAC, OGG, MP3, AIFF, ...) and FFmpeg through PyAV
(AAC in MP4 containers, Native Instruments stem files, and whatever libsndfile cannot
read, or reads differently from FFmpeg). :func:`decode` picks one per file;
:mod:`remixer_app.core.audio_io` turns the result into the app's working format.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf

from remixer_app.core.errors import AudioError, Cancelled
from remixer_app.core.progress import CancelCheck, check_cancelled

# Suffixes that go straight to PyAV: libsndfile cannot read AAC in MP4 containers, and
# stops an MP3 of clips joined end to end (`cat a.mp3 b.mp3`) at the first clip's end.
PYAV_SUFFIXES = frozenset({".m4a", ".mp4", ".aac", ".mp3"})
NI_STREAM_COUNT = 5  #: streams of a Native Instruments stem file: the mixture and 4 stems

# Full scale of integer sample formats PyAV may hand out (planar suffix "p" stripped).
_INT_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}
_READ_FRAMES = 1 << 18  # frames decoded between checks for cancellation (about 6 s)

Track = tuple[np.ndarray, int]  # (frames, channels) float32 samples and their rate in Hz


class OpenFailed(Exception):
    """A decoder does not recognise the file at all (so another decoder may try)."""


def decode(p: Path, cancelled: CancelCheck | None, max_seconds: float) -> list[Track]:
    """Decode ``p``: its first audio stream, or all five streams of a stem file.

    FFmpeg (PyAV) reads the :data:`PYAV_SUFFIXES`; libsndfile reads the rest where it
    can, except where FFmpeg reads the file better: Ogg
    Vorbis/Opus surround (libsndfile keeps the codec's channel order FL, FC, FR, ...,
    FFmpeg gives FL, FR first as WAV does) and files whose header gives no length.

    Raises
    ------
    OpenFailed
        Neither decoder recognises the file.
    AudioError
        The file is damaged, unreadable, or longer than ``max_seconds``.
    Cancelled
        ``cancelled()`` became true.
    """
    if p.suffix.lower() in PYAV_SUFFIXES:
        return _read_pyav(p, cancelled, max_seconds)
    try:
        f = sf.SoundFile(p)
    except Exception:  # soundfile raises several types for unreadable input
        # Formats libsndfile lacks (e.g. a WAV holding MP3) may still decode via FFmpeg.
        return _read_pyav(p, cancelled, max_seconds)
    with f:
        if f.format == "OGG" and f.channels > 2:
            return _read_pyav(p, cancelled, max_seconds)
        if f.frames == 0:
            # A recorder that crashed leaves its header's sizes at 0; FFmpeg reads such a
            # file to its end.
            try:
                return _read_pyav(p, cancelled, max_seconds)
            except OpenFailed:
                return [(np.zeros((0, f.channels), np.float32), int(f.samplerate))]
        return [_read_soundfile(f, p, cancelled, max_seconds)]


def read_failure(p: Path, exc: BaseException | None) -> AudioError:
    """Why ``p`` could not be read: the system's reason for an ``OSError``, otherwise (a
    decoder's error, or ``None``) that its contents are damaged."""
    if isinstance(exc, OSError):
        return AudioError(f"cannot read {p}: {exc.strerror or exc}")
    return AudioError(f"{p} cannot be decoded; the file is damaged or incomplete")


def _read_soundfile(f: sf.SoundFile, p: Path, cancelled: CancelCheck | None,
                    max_seconds: float) -> Track:
    """Decode the open file ``f`` (of ``p``) with libsndfile."""
    _check_duration(p, f.frames / f.samplerate if f.samplerate else None, max_seconds)
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
        raise read_failure(p, exc) from exc
    return data[:done], int(f.samplerate)


def _read_pyav(p: Path, cancelled: CancelCheck | None, max_seconds: float) -> list[Track]:
    """Decode with FFmpeg: the first audio stream, or all five of a stem file."""
    try:
        container = av.open(str(p))
    except Exception as exc:  # PyAV raises FFmpegError subclasses and plain OSError/ValueError
        raise OpenFailed from exc
    with container:
        audio = list(container.streams.audio)
        if not audio:
            raise OpenFailed
        streams = audio if len(audio) == NI_STREAM_COUNT else audio[:1]
        if not all(s.codec_context.sample_rate for s in streams):
            raise OpenFailed
        for s in streams:
            seconds = None
            if s.duration and s.time_base:
                seconds = float(s.duration * s.time_base)
            elif container.duration:
                seconds = container.duration / av.time_base
            _check_duration(p, seconds, max_seconds)

        tracks = {s.index: _StreamTrack(int(s.codec_context.sample_rate),
                                        s.codec_context.channels or 1) for s in streams}
        try:
            for packet in container.demux(*streams):
                check_cancelled(cancelled)
                track = tracks[packet.stream.index]
                for frame in packet.decode():
                    assert isinstance(frame, av.AudioFrame)  # only audio streams are demuxed
                    track.add(frame)
                    # Headers can lie or be absent (raw AAC), so also stop while decoding.
                    if track.frames > max_seconds * track.rate:
                        _check_duration(p, track.frames / track.rate, max_seconds)
            return [track.finish() for track in tracks.values()]
        except (AudioError, Cancelled):
            raise
        except Exception as exc:
            raise read_failure(p, exc) from exc


class _StreamTrack:
    """The decoded frames of one stream, all at its first frame's rate and channels.

    A stream may change them midway (ADTS AAC or MP3 clips joined end to end); FFmpeg
    then decodes each frame as it is, so the odd ones are converted.
    """

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate  # the stream's, until its first frame says otherwise
        self.frames = 0
        self._channels = channels
        self._blocks: list[np.ndarray] = []
        self._layout: av.AudioLayout | None = None
        self._input: tuple[str, str, int] | None = None  # format, layout, rate of the last
        self._resampler: av.AudioResampler | None = None

    def add(self, frame: av.AudioFrame) -> None:
        """Append one decoded frame."""
        if self._layout is None:
            self.rate, self._layout = frame.sample_rate, frame.layout
        kind = (frame.format.name, frame.layout.name, frame.sample_rate)
        if kind != self._input:  # a resampler takes one kind of input: start another
            self._flush()
            self._input = kind
            if (frame.layout.name, frame.sample_rate) != (self._layout.name, self.rate):
                self._resampler = av.AudioResampler("flt", self._layout, self.rate)
        for out in self._resampler.resample(frame) if self._resampler else [frame]:
            self._append(out)

    def finish(self) -> Track:
        """All samples, ``(frames, channels)`` float32, and their rate."""
        self._flush()
        if not self._blocks:
            return np.zeros((0, self._channels), np.float32), self.rate
        return np.concatenate(self._blocks), self.rate

    def _flush(self) -> None:
        """End the conversion under way, if any: the resampler holds the last samples."""
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self._append(out)
            self._resampler = None

    def _append(self, frame: av.AudioFrame) -> None:
        block = _frame_to_array(frame)
        self._blocks.append(block)
        self.frames += block.shape[0]


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


def _check_duration(p: Path, seconds: float | None, max_seconds: float) -> None:
    """Refuse files that would not fit in memory once decoded."""
    if seconds is not None and seconds > max_seconds:
        raise AudioError(f"{p} is too long ({seconds / 3600:.1f} h); at most "
                         f"{max_seconds / 3600:g} h of audio can be loaded")
