"""The stem cache's on-disk format and folder housekeeping.

Entry verification (manifest, ``.npy`` headers, CRC-32 of every file), name checks,
durable writes, deletion of entries, and the detection of temporary folders no live
writer owns; shared by :mod:`.cache` and :mod:`.cache_writer`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import os
import re
import secrets
import shutil
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# A temporary folder of another process untouched this long is taken as abandoned even
# when its process id is in use again (or cannot be probed, as on Windows).
STALE_AFTER_S = 3600.0
# One whose process has died is taken as abandoned once untouched this long (a writer
# on another machine sharing the folder keeps its files changing).
ORPHAN_AFTER_S = 60.0

DTYPE = np.dtype("<f4")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
TEMP_SUFFIX = ".part"
_TRASH_PREFIX = ".trash."
_READ_BLOCK = 1 << 20  # fastest buffer size measured for read-and-CRC
_MAX_MANIFEST_BYTES = 1 << 20
DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

# Temporary folders of this process's open writers, which no sweep may delete.
# Reentrant: a writer's finalizer may run from garbage collection inside a locked section.
live_lock = threading.RLock()
live_temps: set[str] = set()


def open_verified(folder: Path, key: str) -> dict[str, np.ndarray]:
    """Check an entry from manifest to last byte, then map its stems."""
    manifest = _read_manifest(folder)
    if _is_newer(manifest):
        raise NewerFormat(f"format {manifest['format']}, newer than this version's "
                          f"{FORMAT_VERSION}")
    _require(isinstance(manifest, dict) and manifest.get("format") == FORMAT_VERSION,
             "unknown manifest format")
    _require(manifest.get("key") == key, "the manifest belongs to another key")
    frames, channels = manifest.get("frames"), manifest.get("channels")
    stems, files = manifest.get("stems"), manifest.get("files")
    _require(_is_count(frames) and _is_count(channels) and channels >= 1,
             "bad frames or channels in the manifest")
    _require(isinstance(stems, list) and bool(stems) and len(set(stems)) == len(stems)
             and all(isinstance(s, str) and NAME.match(s) for s in stems)
             and isinstance(files, dict) and set(files) == set(stems),
             "bad stem list in the manifest")
    for name in stems:
        info = files[name]
        _require(isinstance(info, dict) and _is_count(info.get("bytes"))
                 and _is_count(info.get("crc32")), f"bad manifest record for {name}")
    paths = [folder / f"{name}.npy" for name in stems]
    for name, path in zip(stems, paths, strict=True):
        _check_npy(path, files[name]["bytes"], frames, channels)
    with ThreadPoolExecutor(max(1, min(len(paths), os.cpu_count() or 1))) as pool:
        crcs = list(pool.map(_crc32_file, paths))
    for name, crc in zip(stems, crcs, strict=True):
        _require(crc == files[name]["crc32"], f"{name}.npy fails its checksum")
    return {name: np.load(path, mmap_mode="r")
            for name, path in zip(stems, paths, strict=True)}


def newer_format(folder: Path) -> bool:
    """Whether ``folder`` holds an entry in a newer format than this version writes:
    another version of the app sharing the cache owns it (false when it cannot be read)."""
    try:
        return _is_newer(_read_manifest(folder))
    except (OSError, ValueError):
        return False


def _read_manifest(folder: Path) -> Any:
    with open(folder / MANIFEST, "rb") as fh:
        return json.loads(fh.read(_MAX_MANIFEST_BYTES))


def _is_newer(manifest: Any) -> bool:
    # A later version may change everything but this: a dict with an integer "format".
    version = manifest.get("format") if isinstance(manifest, dict) else None
    return isinstance(version, int) and _is_count(version) and version > FORMAT_VERSION


def _check_npy(path: Path, size: int, frames: int, channels: int) -> None:
    actual = path.stat().st_size
    _require(actual == size, f"{path.name} has {actual} bytes, the manifest says {size}")
    with open(path, "rb") as fh:
        _require(np.lib.format.read_magic(fh) == (1, 0), f"{path.name} has a bad header")
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        offset = fh.tell()
    _require(dtype == DTYPE and not fortran and shape == (frames, channels),
             f"{path.name} holds {dtype} {shape}, expected float32 {(frames, channels)}")
    _require(offset + frames * channels * DTYPE.itemsize == size,
             f"{path.name}'s size does not match its header")


def _crc32_file(path: Path) -> int:
    buffer = bytearray(_READ_BLOCK)
    view = memoryview(buffer)
    crc = 0
    with open(path, "rb", buffering=0) as fh:
        while count := fh.readinto(buffer):
            crc = zlib.crc32(view[:count], crc)
    return crc


class CorruptEntry(Exception):
    """An entry's files contradict each other or its manifest."""


class NewerFormat(Exception):
    """An entry written by a newer version of the app, in a format this one cannot read."""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise CorruptEntry(reason)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_name(name: str, what: str) -> None:
    # Names become folder and file names: no separators, dots or hidden names.
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{what} {name!r} must be 1-128 letters, digits, '-' or '_'")


def npy_header(frames: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {
        "descr": np.lib.format.dtype_to_descr(DTYPE), "fortran_order": False,
        "shape": (frames, channels)})
    return buffer.getvalue()


def write_all(fh: BinaryIO, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while len(view):  # an unbuffered file may take only part of a large buffer
        view = view[fh.write(view):]


def fsync_dir(path: Path) -> None:
    # Makes a rename or a new file durable; Windows cannot open folders for this.
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cleanup_temp(temp: Path, files: list[BinaryIO]) -> None:
    for fh in files:
        with contextlib.suppress(OSError):
            fh.close()
    shutil.rmtree(temp, ignore_errors=True)
    with live_lock:
        live_temps.discard(os.path.abspath(temp))


def discard(folder: Path) -> bool:
    """Delete an entry; renamed away first, so no reader meets it half deleted."""
    trash = folder.parent / f"{_TRASH_PREFIX}{secrets.token_hex(8)}"
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return False
    except OSError as exc:  # Windows refuses while a reader has the files mapped
        log.warning("cannot delete stem cache entry %s: %s", folder, exc)
        return False
    shutil.rmtree(trash, ignore_errors=True)
    return True


def abandoned(name: str, path: str, age: float) -> bool:
    """Whether a hidden folder is a temporary one no live writer owns."""
    if name.startswith(_TRASH_PREFIX):
        return True
    parts = name.split(".")  # "", key, pid, random, "part"
    if not name.endswith(TEMP_SUFFIX) or len(parts) != 5 or not parts[2].isdigit():
        return False  # not ours: leave it alone
    pid = int(parts[2])
    if pid == os.getpid():
        return os.path.abspath(path) not in live_temps
    return age > STALE_AFTER_S or not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt" or pid <= 0:
        return True  # no safe probe there: the age rule decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def subfolders(root: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(root) as children:
            return [c for c in children if c.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def folder_bytes(path: str) -> int:
    total = 0
    with contextlib.suppress(OSError), os.scandir(path) as children:
        for child in children:
            with contextlib.suppress(OSError):
                total += child.stat(follow_symlinks=False).st_size
    return total


def newest_mtime(path: str, default: float) -> float:
    try:
        newest = os.stat(path).st_mtime
        with os.scandir(path) as children:
            for child in children:
                newest = max(newest, child.stat(follow_symlinks=False).st_mtime)
    except OSError:
        return default  # vanished meanwhile: nothing to sweep
    return newest
