"""The on-disk stem cache: round trips, streaming writes, corruption, concurrency, eviction."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fake_separators import ShareSeparator

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.paths import user_cache_dir
from remixer_app.core.separation import cache as cache_module
from remixer_app.core.separation import cache_writer
from remixer_app.core.separation.cache import StemCache, cache_key
from remixer_app.core.separation.cache_files import FORMAT_VERSION, ORPHAN_AFTER_S
from remixer_app.core.separation.cache_writer import CacheWriteError
from remixer_app.core.separation.cached import separate_cached

FRAMES = 1000


def make_stems(frames: int = FRAMES, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal((frames, 2)).astype(np.float32) for name in STEM_NAMES}


def store(cache: StemCache, key: str, stems: dict[str, np.ndarray],
          sizes: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    """Write ``stems`` in chunks of ``sizes`` frames (one chunk by default) and commit."""
    frames = len(stems["vocals"])
    with cache.writer(key, frames, identity="test-separator") as writer:
        start = 0
        for size in sizes or (frames,):
            writer.write(start, {n: s[start:start + size] for n, s in stems.items()})
            start += size
        return writer.commit()


def leftovers(cache: StemCache) -> list[str]:
    return sorted(p.name for p in cache.root.iterdir()) if cache.root.exists() else []


@pytest.fixture
def cache(tmp_path: Path) -> StemCache:
    return StemCache(tmp_path / "stems")


@pytest.fixture
def stored(cache: StemCache) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    stems = make_stems()
    key = cache_key(sum(stems.values()), 44100, "test-separator")
    store(cache, key, stems)
    yield key, stems


def assert_same(got: dict[str, np.ndarray] | None, expected: dict[str, np.ndarray]) -> None:
    assert got is not None
    assert list(got) == list(expected)
    for name, array in expected.items():
        assert got[name].dtype == np.float32 and got[name].shape == array.shape
        assert got[name].tobytes() == array.tobytes()  # bit-exact, NaN patterns included
        assert not got[name].flags.writeable


# --- round trips and streaming ------------------------------------------------------------

def test_round_trip_is_bit_exact_and_read_only(cache: StemCache) -> None:
    stems = make_stems()
    stems["bass"][5] = [np.nan, -0.0]
    key = cache_key(stems["vocals"], 44100, "x")
    assert_same(store(cache, key, stems), stems)
    assert cache.contains(key)
    reopened = StemCache(cache.root).get(key)
    assert_same(reopened, stems)
    assert isinstance(reopened["vocals"], np.memmap)
    with pytest.raises(ValueError):
        reopened["vocals"][0, 0] = 1.0
    manifest = json.loads((cache.root / key / "manifest.json").read_text())
    assert manifest["frames"] == FRAMES and manifest["identity"] == "test-separator"
    assert leftovers(cache) == [key]


def test_default_root_is_in_user_cache_dir() -> None:
    assert StemCache().root == user_cache_dir() / "stems"


def test_uneven_chunks_and_float64_input(cache: StemCache) -> None:
    stems = make_stems()
    as64 = {name: s.astype(np.float64) for name, s in stems.items()}
    assert_same(store(cache, "k1", as64, sizes=(1, 0, 333, 7, 600, 59)), stems)
    assert_same(cache.get("k1"), stems)


def test_out_of_order_and_misshapen_chunks_are_rejected(cache: StemCache) -> None:
    stems = make_stems()
    with cache.writer("k", FRAMES) as writer:
        writer.write(0, {n: s[:10] for n, s in stems.items()})
        with pytest.raises(ValueError, match="in order"):
            writer.write(20, {n: s[20:30] for n, s in stems.items()})
        with pytest.raises(ValueError, match="in order"):
            writer.write(0, {n: s[:10] for n, s in stems.items()})
        with pytest.raises(ValueError, match="stems"):
            writer.write(10, {"vocals": stems["vocals"][10:20]})
        with pytest.raises(ValueError, match="shape"):
            writer.write(10, {n: s[10:20, :1] for n, s in stems.items()})
        with pytest.raises(ValueError, match="past"):
            writer.write(10, {n: np.zeros((FRAMES, 2)) for n in stems})
        with pytest.raises(ValueError, match="frames were written"):
            writer.commit()
    assert leftovers(cache) == []


def test_key_depends_on_every_sample_identity_and_rate() -> None:
    audio = make_stems()["vocals"]
    key = cache_key(audio, 44100, "htdemucs")
    assert key == cache_key(audio.copy(), 44100, "htdemucs")
    assert key == cache_key(audio.astype(np.float64), 44100, "htdemucs")
    nudged = audio.copy()
    nudged[-1, 1] = np.nextafter(nudged[-1, 1], np.float32(np.inf))
    assert cache_key(nudged, 44100, "htdemucs") != key
    assert cache_key(audio, 44100, "htdemucs_ft") != key
    assert cache_key(audio, 48000, "htdemucs") != key
    assert cache_key(audio.reshape(2, -1), 44100, "htdemucs") != key


def test_missing_key_gives_none(cache: StemCache) -> None:
    assert cache.get("0" * 40) is None
    assert not cache.contains("0" * 40)
    with pytest.raises(ValueError):
        cache.get("../escape")


# --- corruption -------------------------------------------------------------------------

def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 4)


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x10
    path.write_bytes(bytes(data))


def bad_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[: 6] = b"NOTNPY"
    path.write_bytes(bytes(data))


def edit_manifest(path: Path, **changes: object) -> None:
    manifest = path.parent / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | changes))


CORRUPTIONS = {
    "truncated npy": truncate,
    "flipped data byte": flip_byte,
    "bad npy header": bad_header,
    "deleted stem file": Path.unlink,
    "garbage manifest": lambda p: (p.parent / "manifest.json").write_bytes(b"\x00{not json"),
    "deleted manifest": lambda p: (p.parent / "manifest.json").unlink(),
    "manifest says other frames": lambda p: edit_manifest(p, frames=FRAMES + 1),
    "manifest of an unknown version": lambda p: edit_manifest(p, format=0),
    "manifest version not a number": lambda p: edit_manifest(p, format="2"),
    "manifest lists a list": lambda p: (p.parent / "manifest.json").write_text("[1, 2]"),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_entry_is_logged_deleted_and_recomputable(
        cache: StemCache, stored: tuple[str, dict[str, np.ndarray]],
        corrupt: Callable[[Path], object], caplog: pytest.LogCaptureFixture) -> None:
    key, stems = stored
    corrupt(cache.root / key / "drums.npy")
    with caplog.at_level(logging.WARNING, logger=cache_module.__name__):
        assert cache.get(key) is None
    assert "unusable" in caplog.text
    assert leftovers(cache) == []
    assert_same(store(cache, key, stems), stems)


@pytest.mark.parametrize("error", [OSError(errno.EIO, "Input/output error"),
                                   OSError(errno.EMFILE, "Too many open files"),
                                   RuntimeError("cannot schedule new futures after shutdown")],
                         ids=["EIO", "EMFILE", "shutdown"])
def test_an_entry_that_cannot_be_read_now_is_kept(
        cache: StemCache, stored: tuple[str, dict[str, np.ndarray]], error: Exception,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    key, stems = stored
    real_open = cache_module.open_verified

    def failing_open(*args: object) -> dict[str, np.ndarray]:
        raise error

    monkeypatch.setattr(cache_module, "open_verified", failing_open)
    with caplog.at_level(logging.WARNING, logger=cache_module.__name__):
        assert cache.get(key) is None
    assert "cannot be read now" in caplog.text
    monkeypatch.setattr(cache_module, "open_verified", real_open)
    assert_same(cache.get(key), stems)  # minutes of separation not thrown away


def test_an_entry_of_a_newer_format_is_a_miss_and_left_alone(
        cache: StemCache, caplog: pytest.LogCaptureFixture) -> None:
    separator, stems = ShareSeparator(), make_stems()
    mix = sum(stems.values())
    key = cache_key(mix, 44100, separator.identity)
    store(cache, key, stems)  # as a newer version of the app, sharing the cache, would:
    edit_manifest(cache.root / key / "drums.npy", format=FORMAT_VERSION + 1, extra="new")
    manifest = (cache.root / key / "manifest.json").read_bytes()
    with caplog.at_level(logging.INFO, logger=cache_module.__name__):
        assert cache.get(key) is None
    assert "newer version" in caplog.text and "unusable" not in caplog.text
    assert leftovers(cache) == [key]
    assert (cache.root / key / "manifest.json").read_bytes() == manifest
    # Nor replaced: refused before any separating, so the caller separates only once.
    with pytest.raises(CacheWriteError, match="newer version of remixer_app"):
        cache.writer(key, FRAMES)
    result = separate_cached(separator, mix, cache=cache)
    assert separator.runs == 1 and not result.from_cache
    assert "newer version" in result.warning
    assert (cache.root / key / "manifest.json").read_bytes() == manifest
    # Pruning evicts it by use and size, as any other entry.
    assert cache.prune(0) > 0 and leftovers(cache) == []


@pytest.mark.parametrize("replacement", [
    np.zeros((FRAMES, 1), dtype=np.float64),  # other dtype
    np.zeros((2, FRAMES), dtype=np.float32),  # other shape
    np.asfortranarray(np.zeros((FRAMES, 2), dtype=np.float32)),  # other memory order
], ids=["dtype", "shape", "fortran"])
def test_npy_of_another_layout_is_corrupt(cache: StemCache,
                                          stored: tuple[str, dict[str, np.ndarray]],
                                          replacement: np.ndarray) -> None:
    key, _ = stored
    path = cache.root / key / "bass.npy"
    np.save(path, replacement)  # as many bytes as before
    record = json.loads((cache.root / key / "manifest.json").read_text())
    # Make size and checksum agree, so only the header check can catch it.
    assert record["files"]["bass"]["bytes"] == path.stat().st_size
    record["files"]["bass"]["crc32"] = zlib.crc32(path.read_bytes())
    (cache.root / key / "manifest.json").write_text(json.dumps(record))
    assert cache.get(key) is None
    assert leftovers(cache) == []


# --- aborts and failures ----------------------------------------------------------------

def test_exception_in_with_block_aborts(cache: StemCache) -> None:
    stems = make_stems()
    with pytest.raises(RuntimeError), cache.writer("k", FRAMES) as writer:
        writer.write(0, {n: s[:500] for n, s in stems.items()})
        raise RuntimeError("separation failed")
    assert leftovers(cache) == []
    assert cache.get("k") is None


def test_uncommitted_writer_leaves_nothing(cache: StemCache) -> None:
    stems = make_stems()
    with cache.writer("k", FRAMES) as writer:
        writer.write(0, stems)
    assert leftovers(cache) == [] and not cache.contains("k")
    dropped = cache.writer("k2", FRAMES)  # forgotten without `with` or abort()
    dropped.write(0, stems)
    del dropped
    assert leftovers(cache) == []
    with pytest.raises(ValueError, match="aborted"):
        writer.write(FRAMES, stems)


def test_full_disk_raises_remixer_error_and_leaves_nothing(
        cache: StemCache, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write_all = cache_writer.write_all
    calls = []

    def fill_up(fh, data):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 6:  # headers pass, the disk fills during the data
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fh, data)

    monkeypatch.setattr(cache_writer, "write_all", fill_up)
    stems = make_stems()
    with pytest.raises(CacheWriteError, match="disk space") as caught, \
            cache.writer("k", FRAMES) as writer:
        writer.write(0, {n: s[:500] for n, s in stems.items()})
    assert str(cache.root) in str(caught.value)
    assert leftovers(cache) == []


def test_full_disk_while_writing_manifest(cache: StemCache,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fh, data):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    stems = make_stems()
    writer = cache.writer("k", FRAMES)
    writer.write(0, stems)
    monkeypatch.setattr(cache_writer, "write_all", full)
    with pytest.raises(CacheWriteError, match="disk space"):
        writer.commit()
    assert leftovers(cache) == []


# --- concurrency and leftovers ------------------------------------------------------------

def test_concurrent_publish_keeps_one_valid_entry(cache: StemCache) -> None:
    stems = make_stems()
    first, second = cache.writer("k", FRAMES), cache.writer("k", FRAMES)
    first.write(0, stems)
    second.write(0, stems)
    assert_same(second.commit(), stems)
    assert_same(first.commit(), stems)
    assert leftovers(cache) == ["k"]
    assert_same(cache.get("k"), stems)


def test_publish_replaces_a_corrupt_entry(cache: StemCache) -> None:
    stems = make_stems()
    writer = cache.writer("k", FRAMES)
    writer.write(0, stems)
    store(cache, "k", make_stems(seed=1))
    flip_byte(cache.root / "k" / "vocals.npy")
    assert_same(writer.commit(), stems)
    assert leftovers(cache) == ["k"]


CRASHING_WRITER = """
import os, sys
from pathlib import Path
import numpy as np
from remixer_app.core.separation.cache import StemCache
writer = StemCache(Path(sys.argv[1])).writer("k", 100)
writer.write(0, {n: np.zeros((50, 2)) for n in ("vocals", "drums", "bass", "other")})
os._exit(0)  # a crash: no finalizer, no cleanup
"""


def test_crashed_writer_is_ignored_then_swept(cache: StemCache) -> None:
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(cache.root)], check=True,
                   timeout=60, cwd=Path(__file__).resolve().parents[1])
    (temp,) = cache.root.iterdir()
    assert temp.name.startswith(".k.") and temp.name.endswith(".part")
    assert cache.get("k") is None and not cache.contains("k")
    assert cache.size_bytes() > 0
    store(cache, "other", make_stems(seed=1))
    assert temp.exists()  # untouched for less than a minute: a new writer leaves it
    # But its process is gone, so prune removes it.
    assert cache.prune(10**12) == 4 * (128 + 50 * 2 * 4)
    assert leftovers(cache) == ["other"]


def test_next_writer_sweeps_a_crashed_writers_folder_idle_for_a_minute(
        cache: StemCache) -> None:
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(cache.root)], check=True,
                   timeout=60, cwd=Path(__file__).resolve().parents[1])
    (temp,) = cache.root.iterdir()
    old = time.time() - 2 * ORPHAN_AFTER_S
    for path in [temp, *temp.iterdir()]:
        os.utime(path, (old, old))
    store(cache, "other", make_stems(seed=1))
    assert leftovers(cache) == ["other"]


def test_next_writer_sweeps_temp_folders_older_than_an_hour(cache: StemCache) -> None:
    writer = cache.writer("k", FRAMES)
    writer.write(0, make_stems())
    (temp,) = cache.root.iterdir()
    # Pretend it belongs to another, still running process and has been idle for 2 hours.
    alien = temp.with_name(f".k.{os.getppid()}.abc.part")
    temp.rename(alien)
    old = time.time() - 7200
    for path in [alien, *alien.iterdir()]:
        os.utime(path, (old, old))
    store(cache, "other", make_stems(seed=1))
    assert leftovers(cache) == ["other"]


def test_live_writer_survives_prune(cache: StemCache) -> None:
    stems = make_stems()
    with cache.writer("k", FRAMES) as writer:
        writer.write(0, {n: s[:500] for n, s in stems.items()})
        cache.prune(0)
        writer.write(500, {n: s[500:] for n, s in stems.items()})
        assert_same(writer.commit(), stems)


# --- eviction ---------------------------------------------------------------------------

def test_prune_evicts_least_recently_used(cache: StemCache) -> None:
    for index, key in enumerate(("a", "b", "c", "d")):
        store(cache, key, make_stems(seed=index))
    size = {key: sum(f.stat().st_size for f in (cache.root / key).iterdir()) for key in "abcd"}
    assert cache.size_bytes() == sum(size.values())
    assert cache.get("a") is not None  # "a" is now the most recent; "b" the least
    assert cache.get("c") is not None
    assert cache.prune(cache.size_bytes()) == 0
    assert cache.prune(size["a"] + size["c"] + 10) == size["b"] + size["d"]
    assert sorted(leftovers(cache)) == ["a", "c"]
    assert cache.size_bytes() == size["a"] + size["c"]
    assert cache.prune(size["a"] + size["c"] - 1) == size["a"]
    assert leftovers(cache) == ["c"]
    assert cache.prune(0) == size["c"] and leftovers(cache) == []
    cache.remove("a")  # a missing key is fine


def test_remove(cache: StemCache, stored: tuple[str, dict[str, np.ndarray]]) -> None:
    key, _ = stored
    cache.remove(key)
    assert not cache.contains(key) and leftovers(cache) == []
