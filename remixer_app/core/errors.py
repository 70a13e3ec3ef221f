"""Exceptions with messages meant for users.

Every error a user can cause (bad file, bad audiogram, full disk) is raised as a
subclass of :class:`RemixerError` whose message is one clear sentence; the CLI
prints it and exits non-zero, the GUI shows it in a dialog.
"""

from typing import TypeGuard


class RemixerError(Exception):
    """Base class of all user-facing errors."""


class AudioError(RemixerError):
    """An audio file cannot be read or has unusable content."""


class ListenerError(RemixerError):
    """A listener or audiogram file is missing, malformed or out of range."""


class NewerVersionError(RemixerError):
    """Data written by a newer version of the app: not damaged, only unreadable here."""


class NewerListenerError(ListenerError, NewerVersionError):
    """A listener file written by a newer version of the app."""


def newer_version_text(what: str, kind: str, version: int, readable: int) -> str:
    """Says that ``what`` was saved by a newer version of the app, in ``kind`` format."""
    return (f"{what} was saved by a newer version of remixer_app ({kind} version {version}; "
            f"this version reads up to {readable}); update remixer_app to use it")


def is_newer_version(version: object, readable: int) -> TypeGuard[int]:
    """Whether a stored ``"version"`` is a version number above ``readable``."""
    return isinstance(version, int) and not isinstance(version, bool) and version > readable


class ExportError(RemixerError):
    """An output file cannot be written."""


class SeparationError(RemixerError):
    """Separation cannot run: a model is missing, corrupt, or an ensemble file is invalid."""


class Cancelled(RemixerError):
    """Long work stopped because the user asked it to (not a failure)."""
