"""Tests for remixer_app.core.audio_io: formats, conversion, stems and user-facing errors."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path
from typing import IO, Any

import av
import numpy as np
import pytest
import soundfile as sf

from remixer_app.core import audio_io
from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE, load_audio
from remixer_app.core.errors import AudioError, Cancelled
from remixer_app.core.stems_folder import (
    ignored_files_note,
    load_stems_dir,
    stem_files,
    stem_players,
)
from remixer_app.core.track_loader import open_track

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Distinct frequencies per NI stem stream (mixture, drums, bass, other, vocals).
STREAM_FREQS = (440.0, 220.0, 110.0, 880.0, 660.0)


def sine(freq: float, seconds: float, rate: int, channels: int = 2,
         amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def peak_freq(x: np.ndarray, rate: int) -> float:
    mono = x.mean(axis=1) if x.ndim == 2 else x
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[np.argmax(spectrum)])


def write_aac(path: Path, tracks: list[np.ndarray], rate: int = TARGET_RATE) -> Path:
    """Encode each (n, 2) track as its own AAC stream of one mp4 container."""
    with av.open(str(path), "w", format="mp4") as out:
        streams = [out.add_stream("aac", rate=rate, layout="stereo") for _ in tracks]
        for stream, track in zip(streams, tracks, strict=True):
            encode(out, stream, track, rate, "stereo")
    return path


def encode(out: Any, stream: Any, x: np.ndarray, rate: int, layout: str) -> None:
    """Encode ``(n, channels)`` samples into ``stream`` of the open container ``out``."""
    planar = np.ascontiguousarray(x.T.astype(np.float32))
    for start in range(0, planar.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start:start + 1024]),
                                           format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def write_stem_file(path: Path, seconds: float = 1.0) -> Path:
    return write_aac(path, [sine(f, seconds, TARGET_RATE, amp=0.2) for f in STREAM_FREQS])


def test_wav_at_target_rate_is_unchanged(tmp_path: Path) -> None:
    x = sine(1000, 1.0, TARGET_RATE)
    sf.write(tmp_path / "a.wav", x, TARGET_RATE, subtype="FLOAT")
    loaded = load_audio(tmp_path / "a.wav")
    assert loaded.samples.dtype == np.float32
    assert loaded.sample_rate == loaded.source_rate == TARGET_RATE
    assert loaded.stems is None and loaded.warnings == ()
    assert loaded.path == tmp_path / "a.wav"
    np.testing.assert_array_equal(loaded.samples, x)


def test_mono_becomes_stereo(tmp_path: Path) -> None:
    x = sine(500, 0.5, TARGET_RATE, channels=1)
    sf.write(tmp_path / "m.flac", x, TARGET_RATE)
    loaded = load_audio(str(tmp_path / "m.flac"))
    assert loaded.samples.shape == (x.shape[0], 2)
    np.testing.assert_array_equal(loaded.samples[:, 0], loaded.samples[:, 1])


def test_more_than_two_channels_keeps_first_two(tmp_path: Path) -> None:
    x = np.stack([sine(f, 0.5, TARGET_RATE, 1)[:, 0] for f in (300, 600, 900, 1200)], axis=1)
    sf.write(tmp_path / "quad.wav", x, TARGET_RATE, subtype="FLOAT")
    loaded = load_audio(tmp_path / "quad.wav")
    np.testing.assert_array_equal(loaded.samples, x[:, :2])
    assert any("4 channels" in w for w in loaded.warnings)


@pytest.mark.parametrize("rate", [48000, 22050])
def test_resampled_to_target_rate(tmp_path: Path, rate: int) -> None:
    sf.write(tmp_path / "r.wav", sine(1000, 1.0, rate), rate, subtype="FLOAT")
    loaded = load_audio(tmp_path / "r.wav")
    assert loaded.source_rate == rate and loaded.sample_rate == TARGET_RATE
    assert abs(loaded.samples.shape[0] - TARGET_RATE) <= 1
    assert loaded.samples.dtype == np.float32 and loaded.samples.shape[1] == 2
    assert peak_freq(loaded.samples, TARGET_RATE) == pytest.approx(1000, abs=2)


@pytest.mark.parametrize("suffix, fmt", [(".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3")])
def test_compressed_formats(tmp_path: Path, suffix: str, fmt: str) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write {fmt}")
    path = tmp_path / f"c{suffix}"
    sf.write(path, sine(750, 1.0, TARGET_RATE), TARGET_RATE, format=fmt)
    loaded = load_audio(path)
    assert loaded.samples.shape[1] == 2
    assert abs(loaded.samples.shape[0] - TARGET_RATE) < 0.1 * TARGET_RATE
    assert peak_freq(loaded.samples, TARGET_RATE) == pytest.approx(750, abs=3)


def test_m4a_single_stream(tmp_path: Path) -> None:
    path = write_aac(tmp_path / "song.m4a", [sine(1000, 1.0, 48000)], rate=48000)
    loaded = load_audio(path)
    assert loaded.stems is None
    assert loaded.source_rate == 48000
    assert abs(loaded.samples.shape[0] - TARGET_RATE) < 0.1 * TARGET_RATE
    assert peak_freq(loaded.samples, TARGET_RATE) == pytest.approx(1000, abs=3)


def test_stem_file_exposes_stems_in_order(tmp_path: Path) -> None:
    loaded = load_audio(write_stem_file(tmp_path / "song.stem.mp4"))
    assert peak_freq(loaded.samples, TARGET_RATE) == pytest.approx(STREAM_FREQS[0], abs=3)
    assert loaded.stems is not None and tuple(loaded.stems) == STEM_NAMES
    expected = {"vocals": STREAM_FREQS[4], "drums": STREAM_FREQS[1], "bass": STREAM_FREQS[2],
                "other": STREAM_FREQS[3]}
    for name, stem in loaded.stems.items():
        assert stem.shape == loaded.samples.shape and stem.dtype == np.float32
        assert peak_freq(stem, TARGET_RATE) == pytest.approx(expected[name], abs=3)


def test_clipping_is_warned_and_logged_once(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    x = sine(440, 0.5, TARGET_RATE, amp=0.5)
    x[:7, 0] = 1.0
    x[100:103, 1] = -1.2
    sf.write(tmp_path / "clip.wav", x, TARGET_RATE, subtype="FLOAT")
    with caplog.at_level(logging.INFO, logger=audio_io.__name__):
        loaded = load_audio(tmp_path / "clip.wav")
    assert len(loaded.warnings) == 1 and "10 samples" in loaded.warnings[0]
    assert "10 samples" in caplog.text
    # Below WARNING: with no logging set up Python would print it beside the caller's copy.
    assert all(record.levelno < logging.WARNING for record in caplog.records)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope.wav", "does not exist"),
    (lambda d: d, "is a folder"),
    (lambda d: write_bytes(d / "empty.wav", b""), "empty"),
    (lambda d: write_bytes(d / "bad.wav", os.urandom(5000)), "cannot be decoded"),
    (lambda d: write_bytes(d / "bad.m4a", os.urandom(5000)), "cannot be decoded"),
    (lambda d: write_bytes(d / "notes.txt", os.urandom(5000)), "not in a supported audio format"),
])
def test_unreadable_files(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        load_audio(make(tmp_path))


@pytest.mark.parametrize("code", [errno.EACCES, errno.EIO], ids=["EACCES", "EIO"])
@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_a_file_the_system_refuses_is_not_called_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, suffix: str) -> None:
    path = tmp_path / f"locked{suffix}"
    if suffix == ".wav":
        sf.write(path, sine(440, 1.0, TARGET_RATE), TARGET_RATE)
    else:
        write_aac(path, [sine(440, 1.0, TARGET_RATE)])
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> IO[Any]:
        # Root reads any file, so the refusal is simulated.
        if self == path:
            raise OSError(code, os.strerror(code), str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(AudioError) as caught:
        load_audio(path)
    assert str(caught.value) == f"cannot read {path}: {os.strerror(code)}"


def test_an_error_while_reading_is_reported_as_one(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "disk.wav"
    sf.write(path, sine(440, 1.0, TARGET_RATE), TARGET_RATE)

    def failing_disk(*_args: object, **_kwargs: object) -> np.ndarray:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(sf.SoundFile, "read", failing_disk)
    with pytest.raises(AudioError) as caught:
        load_audio(path)
    assert str(caught.value) == f"cannot read {path}: {os.strerror(errno.EIO)}"


def test_zero_frames(tmp_path: Path) -> None:
    sf.write(tmp_path / "z.wav", np.zeros((0, 2), np.float32), TARGET_RATE)
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(tmp_path / "z.wav")


def test_too_short(tmp_path: Path) -> None:
    sf.write(tmp_path / "s.wav", sine(440, 0.3, TARGET_RATE), TARGET_RATE)
    message = "too short: the loudness measurement needs at least 0.4 s"
    with pytest.raises(AudioError, match=message):
        load_audio(tmp_path / "s.wav")
    # One sample short: it must not say it has the 0.40 s it needs.
    sf.write(tmp_path / "s.wav", np.zeros((17639, 2)), TARGET_RATE)
    with pytest.raises(AudioError, match=r"0.4 s \(17640 samples at 44100 Hz\); it has "
                                         r"0.39 s \(17639 samples\)\. Open a longer"):
        load_audio(tmp_path / "s.wav")


def test_non_finite_samples(tmp_path: Path) -> None:
    x = sine(440, 0.5, TARGET_RATE)
    x[10, 1] = np.nan
    sf.write(tmp_path / "nan.wav", x, TARGET_RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_too_long_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    monkeypatch.setattr(audio_io, "MAX_SECONDS", 0.5)
    path = tmp_path / f"long{suffix}"
    if suffix == ".wav":
        sf.write(path, sine(440, 1.0, TARGET_RATE), TARGET_RATE)
    else:
        write_aac(path, [sine(440, 1.0, TARGET_RATE)])
    with pytest.raises(AudioError, match="too long"):
        load_audio(path)


def write_stems(folder: Path, seconds: dict[str, float], suffix: str = ".wav") -> None:
    folder.mkdir(exist_ok=True)
    for i, (name, secs) in enumerate(seconds.items()):
        sf.write(folder / f"{name}{suffix}", sine(200 * (i + 1), secs, TARGET_RATE),
                 TARGET_RATE, subtype="FLOAT")


def test_stems_dir_ok(tmp_path: Path) -> None:
    lengths = {"other": 1.0, "bass": 1.02, "vocals": 1.0, "drums": 1.05}
    write_stems(tmp_path, lengths)
    (tmp_path / "vocals.json").write_text("{}")  # non-audio files are ignored
    stems = load_stems_dir(tmp_path)
    assert tuple(stems) == STEM_NAMES
    assert {s.shape for s in stems.values()} == {(TARGET_RATE, 2)}
    assert peak_freq(stems["bass"], TARGET_RATE) == pytest.approx(400, abs=3)


def test_stems_dir_missing(tmp_path: Path) -> None:
    write_stems(tmp_path, {"vocals": 1.0, "drums": 1.0})
    with pytest.raises(AudioError, match="bass, other"):
        load_stems_dir(tmp_path)


def test_stems_dir_given_a_file_says_it_needs_a_folder(tmp_path: Path) -> None:
    track = tmp_path / "song.stem.mp4"  # a user may expect a stem file to do
    track.write_bytes(b"x")
    with pytest.raises(AudioError, match=r"song\.stem\.mp4 is a file; stems are read from a "
                                         r"folder of stem files \(make one with `remixer "
                                         r"separate TRACK --out DIR`\)"):
        load_stems_dir(track)
    with pytest.raises(AudioError, match="does not exist or is not a folder"):
        load_stems_dir(tmp_path / "none")


def test_stems_dir_ambiguous(tmp_path: Path) -> None:
    write_stems(tmp_path, dict.fromkeys(STEM_NAMES, 1.0))
    sf.write(tmp_path / "drums.flac", sine(100, 1.0, TARGET_RATE), TARGET_RATE)
    with pytest.raises(AudioError, match="several files for drums"):
        load_stems_dir(tmp_path)


def test_stems_dir_length_mismatch(tmp_path: Path) -> None:
    write_stems(tmp_path, {"vocals": 1.0, "drums": 1.0, "bass": 1.3, "other": 1.0})
    with pytest.raises(AudioError, match="different lengths"):
        load_stems_dir(tmp_path)


def test_stems_dir_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not a folder"):
        load_stems_dir(tmp_path / "missing")


def test_real_musdb_stem_file() -> None:
    files = sorted((SHARED_DATA / "musdb18_7s" / "train").glob("*.stem.mp4"))
    if not files:
        pytest.skip(f"no .stem.mp4 files in {SHARED_DATA / 'musdb18_7s' / 'train'}")
    loaded = load_audio(files[0])
    assert loaded.stems is not None and tuple(loaded.stems) == STEM_NAMES
    total = sum(loaded.stems.values())
    corr = np.corrcoef(total.ravel(), loaded.samples.ravel())[0, 1]
    assert corr > 0.99


def test_stems_dir_of_instruments(tmp_path: Path) -> None:
    write_stems(tmp_path, {"violin": 1.0, "cello": 1.02, "flute": 1.0})
    sf.write(tmp_path / "mixture.wav", sine(300, 1.0, TARGET_RATE), TARGET_RATE)
    (tmp_path / "notes.txt").write_text("not audio")
    stems = load_stems_dir(tmp_path)
    assert tuple(stems) == ("cello", "flute", "violin")  # INSTRUMENTS order, no mixture
    assert {s.shape for s in stems.values()} == {(TARGET_RATE, 2)}
    files, mixture = stem_files(tmp_path)
    assert files["cello"] == (tmp_path / "cello.wav",) and mixture == tmp_path / "mixture.wav"


def test_numbered_players_of_an_instrument_are_one_stem(tmp_path: Path) -> None:
    write_stems(tmp_path, {"violin_1": 1.0, "Violin 2": 1.0, "viola": 1.0, "cello": 1.0})
    stems = load_stems_dir(tmp_path)
    assert tuple(stems) == ("cello", "viola", "violin")
    first, _ = sf.read(tmp_path / "violin_1.wav", dtype="float32", always_2d=True)
    second, _ = sf.read(tmp_path / "Violin 2.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(stems["violin"], first + second, atol=1e-6)
    assert ignored_files_note(tmp_path) is None
    assert len(stem_files(tmp_path)[0]["violin"]) == 2
    write_stems(tmp_path, {"vocals_1": 1.0, "vocals_2": 1.0})  # not an instrument: ignored
    assert "vocals_1.wav" in str(ignored_files_note(tmp_path))
    (tmp_path / "violin_1.flac").write_bytes((tmp_path / "violin_1.wav").read_bytes())
    with pytest.raises(AudioError, match=r"several files for violin_1 \(violin_1.flac, "
                                         r"violin_1.wav\)"):
        load_stems_dir(tmp_path)


def test_a_scenes_parts_count_its_players(tmp_path: Path) -> None:
    # `remixer data classical` writes both bassoon parts into one file; its scene.json
    # lists them, and the level rule counts both (as evaluate does, so the app does too).
    write_stems(tmp_path, {"clarinet": 1.0, "bassoon": 1.0, "oboe": 1.0})
    parts = [{"part": p, "instrument": i} for p, i in (("Soprano", "clarinet"),
             ("Alto", "bassoon"), ("Tenor", "oboe"), ("Bass", "Bassoon"))]
    (tmp_path / "scene.json").write_text(json.dumps({"parts": parts}))
    assert stem_players(tmp_path) == {"bassoon": 2, "clarinet": 1, "oboe": 1}
    assert open_track(tmp_path, None).players == stem_players(tmp_path)
    parts.append({"part": "Extra", "instrument": "flute"})
    (tmp_path / "scene.json").write_text(json.dumps({"parts": parts}))
    with pytest.raises(AudioError, match="lists parts for flute, which"):
        stem_players(tmp_path)
    (tmp_path / "scene.json").write_text("{not json")
    with pytest.raises(AudioError, match="cannot read the parts of"):
        stem_players(tmp_path)
    (tmp_path / "scene.json").unlink()
    assert stem_players(tmp_path) == {"bassoon": 1, "clarinet": 1, "oboe": 1}


def test_cadenza2_names_for_the_saxophone(tmp_path: Path) -> None:
    # The Cadenza 2 data call it "Sax": left out, it silently dropped from the remix.
    write_stems(tmp_path, {"Violin_1": 1.0, "Sax": 1.0, "Cello": 1.0})
    assert tuple(load_stems_dir(tmp_path)) == ("cello", "saxophone", "violin")
    assert ignored_files_note(tmp_path) is None
    write_stems(tmp_path, {"saxophone": 1.0})
    with pytest.raises(AudioError, match=r"several files for saxophone \(Sax.wav, "
                                         r"saxophone.wav\)"):
        load_stems_dir(tmp_path)


@pytest.mark.parametrize(("names", "message"), [
    (("violin", "vocals", "drums"), r"mixes pop stems \(vocals, drums\) with instruments "
                                    r"\(violin\)"),
    (("violin",), "2 to 5 different instruments, not 1"),
    (("bassoon", "cello", "clarinet", "flute", "oboe", "viola"), "not 6"),
    (("piano", "guitar"), "no audio file for: vocals, drums, bass, other .nor for 2 to 5"),
])
def test_stems_dir_refuses_bad_sets_clearly(tmp_path: Path, names: tuple[str, ...],
                                            message: str) -> None:
    write_stems(tmp_path, dict.fromkeys(names, 0.5))
    with pytest.raises(AudioError, match=message):
        load_stems_dir(tmp_path)


@pytest.mark.parametrize("suffix", [".flac", ".m4a"])
def test_decoding_stops_when_cancelled(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"long{suffix}"
    if suffix == ".m4a":
        write_aac(path, [sine(440, 20.0, TARGET_RATE)], rate=TARGET_RATE)
    else:
        sf.write(path, sine(440, 20.0, TARGET_RATE), TARGET_RATE)
    polls: list[int] = []

    def cancel_on_the_second_poll() -> bool:
        polls.append(1)
        return len(polls) > 1

    with pytest.raises(Cancelled):
        load_audio(path, cancelled=cancel_on_the_second_poll)
    assert len(polls) == 2  # stopped early, not after decoding 20 s
    assert load_audio(path, cancelled=lambda: False).duration == pytest.approx(20.0, abs=0.1)


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_ogg_surround_keeps_front_left_and_right(tmp_path: Path, subtype: str) -> None:
    # Vorbis and Opus store FL, FC, FR, ... (libsndfile writes and reads that order).
    rate = 48000
    freqs = (300, 600, 900, 1200, 1500, 1800)
    x = np.concatenate([sine(f, 1.0, rate, channels=1, amp=0.1) for f in freqs], axis=1)
    path = tmp_path / f"surround.{subtype.lower()}.ogg"
    sf.write(path, x, rate, format="OGG", subtype=subtype)
    loaded = load_audio(path)
    assert peak_freq(loaded.samples[:, :1], TARGET_RATE) == pytest.approx(300, abs=3)
    assert peak_freq(loaded.samples[:, 1:], TARGET_RATE) == pytest.approx(900, abs=3)
    assert any("6 channels" in w for w in loaded.warnings)


def write_adts(path: Path, x: np.ndarray, rate: int) -> Path:
    """Encode ``(n, channels)`` samples as a raw ADTS AAC stream."""
    layout = "mono" if x.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format="adts") as out:
        encode(out, out.add_stream("aac", rate=rate, layout=layout), x, rate, layout)
    return path


@pytest.mark.parametrize("second_rate, second_channels", [(22050, 2), (44100, 1), (48000, 1)])
def test_a_stream_that_changes_rate_or_channels_midway_is_converted(
        tmp_path: Path, second_rate: int, second_channels: int) -> None:
    # Two ADTS clips joined end to end, as `cat a.aac b.aac` makes them.
    first = write_adts(tmp_path / "a.aac", sine(440, 1.0, TARGET_RATE), TARGET_RATE)
    second = write_adts(tmp_path / "b.aac", sine(440, 1.0, second_rate, second_channels),
                        second_rate)
    joined = tmp_path / "joined.aac"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    loaded = load_audio(joined)
    assert loaded.source_rate == TARGET_RATE
    assert loaded.duration == pytest.approx(2.0, abs=0.15)  # AAC priming and padding
    n = loaded.samples.shape[0]
    for part in (loaded.samples[n // 10:n // 3], loaded.samples[-n // 3:-n // 10]):
        assert peak_freq(part, TARGET_RATE) == pytest.approx(440, abs=5)
        assert np.sqrt(np.mean(part ** 2)) > 0.2


def test_mp3_clips_joined_end_to_end_are_read_whole(tmp_path: Path) -> None:
    # libsndfile stopped at the first clip's end: 3 s of a 6 s file, nothing said.
    first, second = tmp_path / "a.mp3", tmp_path / "b.mp3"
    sf.write(first, sine(440, 3.0, TARGET_RATE), TARGET_RATE, format="MP3")
    sf.write(second, sine(660, 3.0, TARGET_RATE), TARGET_RATE, format="MP3")
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    loaded = load_audio(joined)
    assert loaded.duration == pytest.approx(6.0, abs=0.15)  # MP3 priming and padding
    n = loaded.samples.shape[0]
    assert peak_freq(loaded.samples[n // 10:n // 3], TARGET_RATE) == pytest.approx(440, abs=5)
    assert peak_freq(loaded.samples[-n // 3:-n // 10], TARGET_RATE) == pytest.approx(660, abs=5)


def test_a_silent_file_is_warned(tmp_path: Path) -> None:
    sf.write(tmp_path / "quiet.wav", np.zeros((TARGET_RATE, 2), np.float32), TARGET_RATE)
    assert load_audio(tmp_path / "quiet.wav").warnings == ("quiet.wav is silent: every sample "
                                                           "is 0",)


def test_a_wav_whose_header_gives_no_length_is_read_to_its_end(tmp_path: Path) -> None:
    # A recorder that crashed before filling in the RIFF and data chunk sizes.
    x = sine(440, 1.0, TARGET_RATE)
    sf.write(tmp_path / "rec.wav", x, TARGET_RATE, subtype="PCM_16")
    raw = bytearray((tmp_path / "rec.wav").read_bytes())
    data = raw.index(b"data")
    raw[4:8] = raw[data + 4:data + 8] = bytes(4)
    (tmp_path / "rec.wav").write_bytes(bytes(raw))
    assert sf.info(tmp_path / "rec.wav").frames == 0
    loaded = load_audio(tmp_path / "rec.wav")
    np.testing.assert_allclose(loaded.samples, x, atol=1 / 2**15)
