"""Stem cache speed: streaming a track's stems in, and reopening them verified.

Writes a synthetic stereo stem set (4 stems of noise) through ``StemWriter`` in
10-second chunks, as the separator will, then reopens it 5 times with ``get()``, each
time from a new ``StemCache`` object. Prints the write time (data, then commit: fsync,
manifest, publish and the first verified reopen), the reopen median and maximum, and
the peak RSS, which plain-file writes keep near the size of one chunk.

``--cold`` also evicts the entry's files from the page cache before each reopen
(``posix_fadvise``; Linux), to time reading them from the disk.
Run: ``.venv/bin/python bench/bench_cache.py [--minutes 5] [--root DIR] [--cold]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.separation.cache import StemCache, cache_key

RATE = 44100
CHUNK_SECONDS = 10
REOPENS = 5
VERIFICATION = ("full: manifest, sizes and .npy headers, then CRC-32 (zlib) of every byte "
                "of every stem file, stems on parallel threads")


def evict(folder: Path) -> None:
    """Drop ``folder``'s files from the page cache, so the next read comes from disk."""
    for path in folder.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="track length")
    parser.add_argument("--root", type=Path, default=None,
                        help="cache folder (default: a temporary one, deleted afterwards)")
    parser.add_argument("--cold", action="store_true",
                        help="evict the files from the page cache before each reopen")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench_cache_"))

    frames = int(args.minutes * 60 * RATE)
    chunk = CHUNK_SECONDS * RATE
    rng = np.random.default_rng(0)
    noise = {name: rng.standard_normal((chunk, 2), dtype=np.float32) * 0.1
             for name in STEM_NAMES}
    key = f"bench{frames}"
    cache = StemCache(root)
    cache.remove(key)
    megabytes = len(STEM_NAMES) * frames * 2 * 4 / 1e6
    print(f"track: {args.minutes:g} min, {len(STEM_NAMES)} stereo float32 stems, "
          f"{megabytes:.0f} MB, in {CHUNK_SECONDS} s chunks; cache folder {root}")

    try:
        write_time = 0.0
        with cache.writer(key, frames, identity="bench") as writer:
            for index, start in enumerate(range(0, frames, chunk)):
                n = min(chunk, frames - start)
                scale = np.float32(1.0 + 1e-3 * index)  # every chunk distinct
                data = {name: noise[name][:n] * scale for name in STEM_NAMES}
                began = time.perf_counter()
                writer.write(start, data)
                write_time += time.perf_counter() - began
            began = time.perf_counter()
            writer.commit()
            commit_time = time.perf_counter() - began
        print(f"write: {write_time:.2f} s ({megabytes / write_time:.0f} MB/s), commit "
              f"(fsync, manifest, publish, verified reopen): {commit_time:.2f} s")

        times = []
        for _ in range(REOPENS):
            if args.cold:
                evict(root / key)
            began = time.perf_counter()
            stems = StemCache(root).get(key)
            times.append(time.perf_counter() - began)
            assert stems is not None and len(stems["vocals"]) == frames
            del stems
        state = "files evicted from the page cache" if args.cold else "page cache warm"
        print(f"reopen with get(), {state}: median {statistics.median(times):.3f} s, "
              f"max {max(times):.3f} s over {REOPENS} reopens")
        mixture = rng.standard_normal((frames, 2), dtype=np.float32) * 0.1
        began = time.perf_counter()
        cache_key(mixture, RATE, "bench")
        key_time = time.perf_counter() - began
        print(f"cache_key of the {args.minutes:g}-min stereo mixture (finding the entry): "
              f"{key_time:.3f} s; reopen = key + get = "
              f"{key_time + statistics.median(times):.3f} s (median)")
        print(f"verification: {VERIFICATION} ({os.cpu_count()} cores)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:.0f} MB")
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
