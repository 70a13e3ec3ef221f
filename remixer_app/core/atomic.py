"""Atomic file writes: a temporary file beside the target, then a rename.

A crash, a full disk or an encoder error therefore never leaves a half-written
file under the target name, and never damages a file that was already there.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from remixer_app.core.errors import ExportError


def check_target(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Check that ``path`` can be written: its folder exists, and it is new or may be replaced.

    Raises
    ------
    ExportError
        The folder is missing, the name is a folder's, or the file exists and
        ``overwrite`` is false.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise ExportError(f"folder {target.parent} does not exist")
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; choose another name or allow overwriting")
    return target


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object], *,
                 overwrite: bool = False) -> Path:
    """Write a file atomically.

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
    target = check_target(path, overwrite=overwrite)
    folder = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(_failure(target, exc)) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); give it the permissions of a plain new file.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(_failure(target, exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


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
