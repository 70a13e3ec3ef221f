"""Exceptions with messages meant for users.

Every error a user can cause (bad file, bad audiogram, full disk) is raised as a
subclass of :class:`RemixerError` whose message is one clear sentence; the CLI
prints it and exits non-zero, the GUI shows it in a dialog.
"""


class RemixerError(Exception):
    """Base class of all user-facing errors."""


class AudioError(RemixerError):
    """An audio file cannot be read or has unusable content."""


class ListenerError(RemixerError):
    """A listener or audiogram file is missing, malformed or out of range."""


class ExportError(RemixerError):
    """An output file cannot be written."""


class SeparationError(RemixerError):
    """Separation cannot run: a model is missing, corrupt, or an ensemble file is invalid."""


class Cancelled(RemixerError):
    """Long work stopped because the user asked it to (not a failure)."""
