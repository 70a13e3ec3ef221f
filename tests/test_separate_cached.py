"""Separation through the stem cache when the cache cannot take the stems, and pruning."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fake_separators import ShareSeparator

from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation import cache_writer, cached
from remixer_app.core.separation.cache import StemCache, cache_key
from remixer_app.core.separation.cached import separate_cached
from remixer_app.core.track_loader import open_track

RATE = 44100


class HalvesSeparator(ShareSeparator):
    """Writes its shares in two chunks, reporting progress after each."""

    def separate_into(self, mix: np.ndarray, sink: Any, *, progress: Any = None,
                      cancelled: Any = None) -> None:
        self.runs += 1
        share = (np.asarray(mix, np.float32) / len(self.stems)).astype(np.float32)
        half = len(share) // 2
        for start, end in ((0, half), (half, len(share))):
            sink.write(start, {stem: share[start:end] for stem in self.stems})
            if progress is not None:
                progress(ProgressReport(end / len(share), None, "separating"))


def mix(seed: int = 0, frames: int = RATE) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal((frames, 2))).astype(np.float32)


def assert_shares(stems: dict[str, np.ndarray], audio: np.ndarray) -> None:
    assert list(stems) == ["vocals", "drums", "bass", "other"]
    for stem in stems.values():
        np.testing.assert_array_equal(stem, audio / 4)


def test_a_cache_folder_that_cannot_be_made_still_gives_the_stems(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    separator, audio = HalvesSeparator(), mix()
    result = separate_cached(separator, audio, cache=StemCache(blocked / "stems"))
    assert_shares(result.stems, audio)
    assert not result.from_cache and separator.runs == 1
    assert result.warning.startswith(f"cannot save the separated stems in the cache folder "
                                     f"{blocked / 'stems'}")
    assert result.warning.endswith("kept in memory only and will be separated again next time")


def test_a_disk_that_fills_while_separating_separates_again_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write_all = cache_writer.write_all
    calls: list[int] = []

    def fill_up(fh: Any, data: Any) -> None:
        calls.append(1)
        if len(calls) > 4:  # the four headers pass; the disk fills with the first chunk
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fh, data)

    monkeypatch.setattr(cache_writer, "write_all", fill_up)
    cache = StemCache(tmp_path / "stems")
    separator, audio = HalvesSeparator(), mix()
    reports: list[ProgressReport] = []
    result = separate_cached(separator, audio, cache=cache, progress=reports.append)
    assert_shares(result.stems, audio)
    assert separator.runs == 2 and "not enough disk space" in result.warning
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # the bar never goes back
    assert not list(cache.root.iterdir())  # nothing half-written is left


def test_too_little_free_space_leaves_the_cache_alone(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cached, "_free_bytes", lambda folder: 100 * 2**20)
    cache = StemCache(tmp_path / "stems")
    separator, audio = HalvesSeparator(), mix()
    result = separate_cached(separator, audio, cache=cache)
    assert_shares(result.stems, audio)
    assert separator.runs == 1 and not cache.root.exists()
    assert result.warning.startswith(f"not enough disk space to save the separated stems in "
                                     f"the cache folder {cache.root} (1 MB needed)")


def test_the_cache_is_pruned_to_its_size_keeping_the_new_entry(tmp_path: Path) -> None:
    cache = StemCache(tmp_path / "stems", max_bytes=1)  # smaller than any entry
    separator = HalvesSeparator()
    first, second = mix(1), mix(2)
    separate_cached(separator, first, cache=cache)
    assert cache.contains(cache_key(first, RATE, separator.identity))
    result = separate_cached(separator, second, cache=cache)
    assert not cache.contains(cache_key(first, RATE, separator.identity))
    assert cache.contains(cache_key(second, RATE, separator.identity))
    assert_shares(result.stems, second)
    again = separate_cached(separator, second, cache=cache)
    assert again.from_cache and separator.runs == 2


def test_the_app_opens_the_track_and_says_why_it_is_not_cached(tmp_path: Path) -> None:
    sf.write(tmp_path / "song.wav", mix(), RATE, subtype="FLOAT")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    track = open_track(tmp_path / "song.wav", HalvesSeparator,
                       cache=StemCache(blocked / "stems"))
    assert track.source == "fake (separated)"
    assert any("kept in memory only" in warning for warning in track.warnings)


def test_the_first_frames_are_handed_over_once_while_the_rest_separates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, audio = StemCache(tmp_path / "stems"), mix(frames=3 * RATE)
    handed: list[dict[str, np.ndarray]] = []
    order: list[str] = []

    class Watched(HalvesSeparator):
        def separate_into(self, mix: np.ndarray, sink: Any, **kwargs: Any) -> None:
            order.append("separating")
            super().separate_into(mix, sink, **kwargs)
            order.append("separated")

    def ready(stems: dict[str, np.ndarray]) -> None:
        order.append("handed")
        handed.append(stems)

    result = separate_cached(Watched(), audio, cache=cache, preview=(RATE, ready))
    assert order == ["separating", "handed", "separated"]  # before the second half
    (first,) = handed
    for stem, data in first.items():
        assert data.shape == (RATE, 2) and np.array_equal(data, result.stems[stem][:RATE])
    # From the cache: the whole is there at once, nothing to hand over early.
    separate_cached(Watched(), audio, cache=cache, preview=(RATE, ready))
    assert len(handed) == 1
    # A cache failing on the way separates again: still handed over once.
    real_write_all = cache_writer.write_all
    writes: list[int] = []

    def fill_up(fh: Any, data: Any) -> None:
        writes.append(1)
        if len(writes) > 6:  # the headers and the first half pass
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fh, data)

    monkeypatch.setattr(cache_writer, "write_all", fill_up)
    handed.clear()
    separate_cached(Watched(), mix(seed=1, frames=3 * RATE), cache=cache,
                    preview=(RATE, ready))
    assert len(handed) == 1
