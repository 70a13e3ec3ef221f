"""Opening tracks for the app: stems folders, stem files, separation through the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fake_separators import ShareSeparator

from remixer_app.core import memory_check
from remixer_app.core.errors import AudioError, Cancelled, SeparationError
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.cache import StemCache
from remixer_app.core.track_loader import open_track

from tiny_models import write_tiny_ensemble

RATE = 44100


def _write(path: Path, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    data = (0.1 * np.random.default_rng(seed).standard_normal((int(seconds * RATE), 2)))
    sf.write(path, data.astype(np.float32), RATE, subtype="FLOAT")
    return data.astype(np.float32)


def test_stems_folder_needs_no_separator(tmp_path: Path) -> None:
    parts = {s: _write(tmp_path / f"{s}.wav", seed=i)
             for i, s in enumerate(("vocals", "drums", "bass", "other"))}
    track = open_track(tmp_path, None)
    assert track.source == "stems folder" and track.true_stems is track.stems
    np.testing.assert_allclose(track.mixture, sum(parts.values()), atol=1e-6)


def test_plain_file_without_separator_says_what_is_needed(tmp_path: Path) -> None:
    _write(tmp_path / "song.wav")
    with pytest.raises(SeparationError, match="no separator"):
        open_track(tmp_path / "song.wav", None)


def test_stem_file_without_separator_uses_its_stems(shared_data: Path) -> None:
    path = sorted((shared_data / "musdb18_7s" / "test").glob("*.stem.mp4"))[0]
    track = open_track(path, None)
    assert track.stems is track.true_stems and "stems stored in the file" in track.warnings[0]


def test_separation_goes_through_the_cache(tmp_path: Path) -> None:
    _write(tmp_path / "song.wav", seconds=2.5)
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    loads: list[int] = []

    def separator():  # type: ignore[no-untyped-def]
        loads.append(1)
        return load_separator(str(ensemble), device="cpu")

    cache = StemCache(tmp_path / "cache")
    reports = []
    first = open_track(tmp_path / "song.wav", separator, cache=cache, progress=reports.append)
    assert "separated" in first.source and reports[-1].fraction == 1.0
    again = open_track(tmp_path / "song.wav", separator, cache=cache)
    assert "from the cache" in again.source and len(loads) == 2
    for stem in first.stems:
        np.testing.assert_array_equal(first.stems[stem], again.stems[stem])
    assert first.true_stems is None


def test_stem_file_falls_back_when_the_separator_cannot_load(shared_data: Path) -> None:
    path = sorted((shared_data / "musdb18_7s" / "test").glob("*.stem.mp4"))[0]

    def missing():  # type: ignore[no-untyped-def]
        raise SeparationError("the default separation ensemble is not installed")

    track = open_track(path, missing)
    assert track.stems is track.true_stems and "stems stored in the file" in track.warnings[0]


def test_plain_file_reports_why_the_separator_cannot_load(tmp_path: Path) -> None:
    _write(tmp_path / "song.wav")

    def missing():  # type: ignore[no-untyped-def]
        raise SeparationError("the default separation ensemble is not installed")

    with pytest.raises(SeparationError, match="default separation ensemble"):
        open_track(tmp_path / "song.wav", missing)


def test_instrument_folder_uses_its_mixture_file(tmp_path: Path) -> None:
    parts = {s: _write(tmp_path / f"{s}.wav", seed=i)
             for i, s in enumerate(("violin", "viola", "cello"))}
    mixture = _write(tmp_path / "Mixture.wav", seed=9)
    track = open_track(tmp_path, None, instruments=("flute", "oboe"))  # the files decide
    assert tuple(track.stems) == ("cello", "viola", "violin") == track.stem_names
    np.testing.assert_allclose(track.stems["viola"], parts["viola"], atol=1e-6)
    np.testing.assert_allclose(track.mixture, mixture, atol=1e-6)
    (tmp_path / "Mixture.wav").unlink()
    track = open_track(tmp_path, None)
    np.testing.assert_allclose(track.mixture, sum(parts.values()), atol=1e-6)
    assert track.warnings == ()
    assert track.players == {"cello": 1, "viola": 1, "violin": 1}
    (tmp_path / "violin.wav").rename(tmp_path / "violin_1.wav")
    _write(tmp_path / "Violin 2.wav", seed=5)
    assert open_track(tmp_path, None).players["violin"] == 2  # the level rule counts them


def test_audio_files_a_stems_folder_does_not_read_are_named(tmp_path: Path) -> None:
    for i, name in enumerate(("violin", "cello", "piano", "Take 2")):
        _write(tmp_path / f"{name}.wav", seed=i)
    (tmp_path / "notes.txt").write_text("not audio", encoding="utf-8")
    track = open_track(tmp_path, None)
    assert track.stem_names == ("cello", "violin")
    (warning,) = track.warnings
    assert warning.startswith(f"{tmp_path.name}: ignored Take 2.wav, piano.wav (not one of")


def test_a_classical_file_is_separated_into_its_instruments_and_cached_apart(
        tmp_path: Path) -> None:
    _write(tmp_path / "quartet.wav")
    cache = StemCache(tmp_path / "cache")
    trio = ShareSeparator(("cello", "flute", "violin"), "classical")
    track = open_track(tmp_path / "quartet.wav", lambda: trio,
                       instruments=["violin", "flute", "cello"], cache=cache)
    assert track.stem_names == ("cello", "flute", "violin") and track.true_stems is None
    assert track.source == "classical (separated)"
    duo = ShareSeparator(("cello", "violin"), "classical")
    again = open_track(tmp_path / "quartet.wav", lambda: duo, instruments=["cello", "violin"],
                       cache=cache)
    assert again.source == "classical (separated)" and duo.runs == 1  # another cache entry
    assert open_track(tmp_path / "quartet.wav", lambda: trio, instruments=trio.stems,
                      cache=cache).source == "classical (from the cache)"
    with pytest.raises(SeparationError, match="gives cello, violin, not the instruments"):
        open_track(tmp_path / "quartet.wav", lambda: duo, instruments=trio.stems, cache=cache)


def test_a_classical_stem_file_needs_its_separator(shared_data: Path) -> None:
    path = sorted((shared_data / "musdb18_7s" / "test").glob("*.stem.mp4"))[0]

    def missing():  # type: ignore[no-untyped-def]
        raise SeparationError("ensemble 'classical' is not installed")

    with pytest.raises(SeparationError, match="classical"):
        open_track(path, missing, instruments=("cello", "violin"))


def test_a_cancelled_open_stops_before_loading_the_models(tmp_path: Path) -> None:
    _write(tmp_path / "song.wav")
    loaded: list[ShareSeparator] = []

    def separator() -> ShareSeparator:
        loaded.append(ShareSeparator())
        return loaded[-1]

    cache = StemCache(tmp_path / "cache")
    with pytest.raises(Cancelled):  # the user cancelled while the file was decoded
        open_track(tmp_path / "song.wav", separator, cache=cache, cancelled=lambda: True)
    assert loaded == []
    with pytest.raises(Cancelled):  # ... or while the models loaded
        open_track(tmp_path / "song.wav", separator, cache=cache,
                   cancelled=lambda: bool(loaded))
    assert [s.runs for s in loaded] == [0] and not cache.root.exists()


def test_a_track_too_long_for_memory_is_refused_before_it_is_separated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "song.wav")
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 1000)
    separator = ShareSeparator()
    cache = StemCache(tmp_path / "cache")
    with pytest.raises(AudioError, match="track of 4 stems needs about"):
        open_track(tmp_path / "song.wav", lambda: separator, cache=cache)  # type: ignore
    assert separator.runs == 0 and not cache.root.exists()  # refused before, not after
