"""Streaming one stem cache entry to disk and publishing it atomically.

:class:`StemWriter` is what :meth:`StemCache.writer
<remixer_app.core.separation.cache.StemCache.writer>` returns: it fills a hidden
temporary folder and renames it into place on commit (see :mod:`.cache` for the layout).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import time
import weakref
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, NoReturn

import numpy as np

from remixer_app.core.errors import RemixerError
from remixer_app.core.separation.cache_files import (
    DISK_FULL,
    DTYPE,
    FORMAT_VERSION,
    MANIFEST,
    ORPHAN_AFTER_S,
    TEMP_SUFFIX,
    check_name,
    cleanup_temp,
    fsync_dir,
    live_lock,
    live_temps,
    npy_header,
    write_all,
)

if TYPE_CHECKING:
    from remixer_app.core.separation.cache import StemCache


class CacheWriteError(RemixerError):
    """A cache entry cannot be written (full disk, no permission); nothing of it remains."""


class StemWriter:
    """Streams one cache entry to disk; made by :meth:`StemCache.writer`.

    Feed it with :meth:`write` in order, then :meth:`commit`. Used as a context manager
    it aborts unless committed, whether the block raised or not. The data goes out with
    plain file writes, never a writable memory map, whose dirty pages would count in the
    process's RSS (a 60-minute track's stems are 5 GB).
    """

    def __init__(self, cache: StemCache, key: str, frames: int, stems: Sequence[str],
                 channels: int, identity: str) -> None:
        check_name(key, "key")
        self._stems = tuple(stems)
        for name in self._stems:
            check_name(name, "stem name")
        if not self._stems or len(set(self._stems)) != len(self._stems):
            raise ValueError(f"stem names must be distinct and at least one: {self._stems}")
        if frames < 0 or channels < 1:
            raise ValueError(f"cannot cache {frames} frames of {channels} channels")
        self._cache, self._key, self._identity = cache, key, identity
        self._frames, self._channels = int(frames), int(channels)
        self._written = 0
        self._state = "open"
        self._files: list[BinaryIO] = []
        self._crcs = dict.fromkeys(self._stems, 0)
        self._finalizer: weakref.finalize[[Path, list[BinaryIO]], StemWriter] | None = None
        try:
            cache.root.mkdir(parents=True, exist_ok=True)
            cache._sweep(min_age=ORPHAN_AFTER_S)
            with live_lock:
                self._temp = Path(tempfile.mkdtemp(prefix=f".{key}.{os.getpid()}.",
                                                   suffix=TEMP_SUFFIX, dir=cache.root))
                live_temps.add(os.path.abspath(self._temp))
            # Also removes the folder of a writer dropped unfinished without `with`.
            self._finalizer = weakref.finalize(self, cleanup_temp, self._temp, self._files)
            header = npy_header(self._frames, self._channels)
            for name in self._stems:
                self._files.append(open(self._temp / f"{name}.npy", "wb", buffering=0))  # noqa: SIM115
                write_all(self._files[-1], header)
                self._crcs[name] = zlib.crc32(header)
        except OSError as exc:
            self._fail(exc)

    def write(self, start: int, chunk: Mapping[str, np.ndarray]) -> None:
        """Append the frames ``start:start + n`` of every stem.

        Parameters
        ----------
        start
            Must equal the number of frames written so far.
        chunk
            One ``(n, channels)`` array, convertible to float32, for every stem.

        Raises
        ------
        ValueError
            The chunk is out of order, misshapen, runs past the end, or the writer is
            closed.
        CacheWriteError
            The disk is full or cannot be written; the entry is then aborted.
        """
        self._require_open()
        if start != self._written:
            raise ValueError(f"chunk starts at frame {start} but {self._written} frames were "
                             "written; chunks must arrive in order")
        if set(chunk) != set(self._stems):
            raise ValueError(f"chunk has stems {sorted(chunk)}, expected {sorted(self._stems)}")
        blocks = [np.ascontiguousarray(chunk[name], dtype=DTYPE) for name in self._stems]
        length = blocks[0].shape[0] if blocks[0].ndim == 2 else -1
        for name, block in zip(self._stems, blocks, strict=True):
            if block.shape != (length, self._channels):
                raise ValueError(f"stem {name!r} has shape {block.shape}, expected "
                                 f"({max(length, 0)}, {self._channels}) like the others")
        if start + length > self._frames:
            raise ValueError(f"chunk ends at frame {start + length}, past {self._frames}")
        try:
            for name, fh, block in zip(self._stems, self._files, blocks, strict=True):
                data = block.reshape(-1).view(np.uint8).data
                write_all(fh, data)
                self._crcs[name] = zlib.crc32(data, self._crcs[name])
        except OSError as exc:
            self._fail(exc)
        self._written += length

    def commit(self) -> dict[str, np.ndarray]:
        """Make the entry durable and publish it; return it as :meth:`StemCache.get` does.

        When another writer published the same key meanwhile, its valid entry is kept and
        this one discarded.

        Raises
        ------
        ValueError
            Not every frame was written, or the writer is closed.
        CacheWriteError
            The disk is full or cannot be written; nothing of the entry remains.
        """
        self._require_open()
        if self._written != self._frames:
            raise ValueError(f"only {self._written} of {self._frames} frames were written")
        try:
            sizes = {}
            for name, fh in zip(self._stems, self._files, strict=True):
                os.fsync(fh.fileno())
                sizes[name] = fh.tell()
                fh.close()
            manifest = {
                "format": FORMAT_VERSION, "key": self._key, "identity": self._identity,
                "frames": self._frames, "channels": self._channels, "dtype": DTYPE.str,
                "stems": list(self._stems), "checksum": "crc32",
                "files": {name: {"bytes": sizes[name], "crc32": self._crcs[name]}
                          for name in self._stems},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            with open(self._temp / MANIFEST, "wb") as fh:
                write_all(fh, json.dumps(manifest, indent=1).encode())
                fh.flush()
                os.fsync(fh.fileno())
            fsync_dir(self._temp)
            stems = self._publish()
        except OSError as exc:
            self._fail(exc)
        self._state = "committed"
        if stems is None:
            stems = self._cache.get(self._key)
        if stems is None:  # only if something deleted the entry within these milliseconds
            raise CacheWriteError(f"the stem cache entry {self._cache.root / self._key} "
                                  "vanished as it was written")
        return stems

    def abort(self) -> None:
        """Discard everything written; safe to call more than once, and after commit."""
        if self._state == "open":
            self._state = "aborted"
        if self._state == "aborted" and self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> StemWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()

    def _publish(self) -> dict[str, np.ndarray] | None:
        """Rename the finished folder into place; the stems if another writer's entry won."""
        final = self._cache.root / self._key
        for _ in range(3):
            try:
                os.rename(self._temp, final)
            except OSError:
                if not final.exists():
                    raise
                theirs = self._cache.get(self._key)  # deletes their entry if it is corrupt
                if theirs is not None:
                    assert self._finalizer is not None
                    self._finalizer()  # same key, same content: drop ours
                    return theirs
                continue
            assert self._finalizer is not None
            self._finalizer.detach()
            with live_lock:
                live_temps.discard(os.path.abspath(self._temp))
            fsync_dir(self._cache.root)
            return None
        raise FileExistsError(errno.EEXIST, "an unusable entry keeps reappearing", str(final))

    def _require_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"the stem writer for {self._key} is {self._state}")

    def _fail(self, exc: OSError) -> NoReturn:
        self.abort()
        root = self._cache.root
        if exc.errno in DISK_FULL:
            raise CacheWriteError(f"not enough disk space to save the separated stems in the "
                                  f"cache folder {root}") from exc
        raise CacheWriteError(f"cannot save the separated stems in the cache folder {root} "
                              f"({exc.strerror or exc})") from exc

