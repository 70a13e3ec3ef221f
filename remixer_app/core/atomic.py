"""Atomic file writes: a temporary file beside the target, then a rename.

A crash, a full disk or an encoder error therefore never leaves a half-written
file under the target name, and never damages a file that was already there.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from remixer_app.core.errors import ExportError

# What os.link reports on filesystems without hard links (FAT, exFAT, some network shares).
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                            errno.ENOSYS})
# The temporary file is named after the target's first 40 characters (at most 160 bytes):
# the whole name and the temporary part could exceed the 255-byte limit on names.
_TEMP_NAME_CHARS = 40


def check_target(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Check, before any work is spent producing it, that ``path`` can be written: its
    folder exists and takes new files, and it is new or may be replaced.

    Raises
    ------
    ExportError
        The folder is missing or cannot be written, the name is a folder's, or the file
        exists and ``overwrite`` is false.
    """
    target = _check_name(path, overwrite)
    if not can_write_in(target.parent):  # now, not after minutes of separating
        raise ExportError(f"cannot write {target}: the folder {target.parent} is not writable")
    return target


def check_not_input(target: Path, inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse ``target`` when it is one of the files the work reads (by the same name, a
    link or a hard link): with overwriting allowed, the result would replace its source.

    Raises
    ------
    ExportError
        ``target`` is one of ``inputs``.
    """
    for source in inputs:
        try:
            same = os.path.samefile(target, source)
        except OSError:  # either is missing (a new target is no input) or unreadable
            continue
        if same:
            raise ExportError(f"cannot write {target}: it is the input file {source}; "
                              "choose another output name")


def _check_name(path: str | os.PathLike[str], overwrite: bool) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise ExportError(f"folder {target.parent} does not exist")
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise _exists(target)
    return target


def existing_ancestor(folder: Path) -> Path | None:
    """``folder`` if it exists, else its nearest existing ancestor (where it would be made)."""
    return next((p for p in (folder, *folder.absolute().parents) if p.exists()), None)


def can_write_in(folder: Path) -> bool:
    """Whether files can be made in ``folder`` (or, while it does not exist, in its nearest
    existing ancestor, where it would be made): probed by making and removing a folder,
    which permissions, read-only mounts and pseudo file systems all answer truly."""
    where = existing_ancestor(folder)
    if where is None:
        return False
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".remixer-probe-", dir=where))
    except OSError:
        return False
    return True


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object], *,
                 overwrite: bool = False) -> Path:
    """Write a file atomically and durably.

    The temporary file's data is flushed to disk before it takes the target's name,
    and the folder after, so that after a crash the target is either absent, the old
    file, or the whole new one. Without ``overwrite`` the file is published so that a
    file another program creates under the same name meanwhile is never replaced.

    Parameters
    ----------
    path
        The final file name.
    write
        Called with a temporary path in the same folder; it must create that file.
    overwrite
        Replace an existing file. Without it an existing file is an error.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ExportError
        The target exists (and ``overwrite`` is false), its folder is missing or not
        writable, or the disk is full. The temporary file is removed in every case.
    """
    target = _check_name(path, overwrite)  # the write itself finds an unwritable folder
    folder = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:_TEMP_NAME_CHARS]}.",
                                        suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(_failure(target, exc)) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # Before the chmod: the umask may take away the write access this open needs.
        _fsync_path(tmp)
        # mkstemp makes the file private (0600): give it the permissions of the file it
        # replaces (a private file stays private), else those of a plain new file.
        mode = _existing_mode(target) if overwrite else None
        os.chmod(tmp, 0o666 & ~_UMASK if mode is None else mode)
        if overwrite:
            os.replace(tmp, target)
        else:
            _publish_new(tmp, target)
        _fsync_folder(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(_failure(target, exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _publish_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` unless a file of that name has appeared meanwhile.

    A hard link fails if the name exists, atomically, where a rename would silently
    replace a file another program created since :func:`check_target`.
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here: check again and rename, which leaves only a short race.
        if os.path.lexists(target):
            raise _exists(target) from None
        os.replace(tmp, target)
    else:
        tmp.unlink()


def _existing_mode(target: Path) -> int | None:
    """The permission bits of the file ``target``, or None when there is none yet."""
    try:
        return os.stat(target).st_mode & 0o777
    except FileNotFoundError:
        return None


def _fsync_path(path: Path) -> None:
    """Flush a file's data to disk (``write`` made it by name, so it is opened again)."""
    fd = os.open(path, os.O_RDWR)  # Windows flushes only files open for writing
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries, so that a rename or link in it survives a crash."""
    if os.name == "nt":  # folders cannot be opened there; NTFS journals renames itself
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems (e.g. some network shares) cannot flush a folder at all.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


def _exists(target: Path) -> ExportError:
    return ExportError(f"{target} already exists; choose another name or allow overwriting "
                       "(--overwrite)")


def _failure(target: Path, exc: OSError) -> str:
    """Why ``target`` could not be written, in the user's terms (no temporary names)."""
    if exc.errno == errno.ENOSPC:
        return f"not enough disk space to write {target}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {target}: the folder {target.parent} is not writable"
    return f"cannot write {target}: {exc.strerror or exc}"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import, before any threads: setting the umask is process-wide and racy.
_UMASK = _read_umask()
