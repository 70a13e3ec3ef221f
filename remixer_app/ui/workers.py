"""Long work off the GUI thread: cancellable workers with progress, and one error path.

A :class:`Worker` runs a plain function on a ``QThreadPool`` thread. The function
gets ``progress`` and ``cancelled`` callables (the core's convention), so the same
core code serves the CLI and the app. Results, progress and errors come back as Qt
signals, which Qt delivers on the GUI thread; every worker has a request id, so a
caller can drop results of work it has since replaced. Errors go through
:func:`report_error`: a dialog for the user plus the full traceback in the log file.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.paths import user_log_dir
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressReport

log = logging.getLogger(__name__)

Job = Callable[[ProgressCallback, CancelCheck], Any]
#: How a failure that is a bug (not a :class:`RemixerError`) starts its message.
UNEXPECTED = "unexpected error: "


class WorkerSignals(QObject):
    """Signals of one :class:`Worker` (a QRunnable cannot own signals itself)."""

    progress = Signal(int, object)   # request id, ProgressReport
    finished = Signal(int, object)   # request id, result
    failed = Signal(int, str, str)   # request id, message for the user, traceback
    cancelled = Signal(int)          # request id


class Worker(QRunnable):
    """Runs ``job(progress, cancelled)`` on a pool thread.

    Parameters
    ----------
    job
        The work; it should call ``progress`` now and then and honour ``cancelled``
        (raising :class:`~remixer_app.core.errors.Cancelled`).
    request_id
        Echoed in every signal.
    """

    def __init__(self, job: Job, request_id: int = 0) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it (and its signals) alive
        self.job = job
        self.request_id = request_id
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop; it stops at its next check (well under a second)."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel.is_set()

    def run(self) -> None:
        """Called by the pool; never raises."""
        rid = self.request_id
        try:
            result = self.job(lambda report: self._emit(self.signals.progress, rid, report),
                              self._cancel.is_set)
        except Cancelled:
            self._emit(self.signals.cancelled, rid)
        except RemixerError as exc:
            self._emit(self.signals.failed, rid, str(exc), traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - any bug must reach the one error path
            self._emit(self.signals.failed, rid, f"{UNEXPECTED}{exc}",
                       traceback.format_exc())
        else:
            self._emit(self.signals.finished, rid, result)
        finally:
            self.done.set()
            _running.discard(self)

    @staticmethod
    def _emit(signal: Any, *args: object) -> None:
        # RuntimeError: its owner was closed meanwhile, so nobody is listening.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)


# Workers queued or running: the pool does not own them (auto-delete is off), so this
# keeps each alive until its run ends, whatever happens to the widget that started it.
_running: set[Worker] = set()


def start(worker: Worker, pool: QThreadPool | None = None) -> Worker:
    """Queue ``worker`` on ``pool`` (default: the global pool) and return it."""
    _running.add(worker)
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker


def log_file() -> str:
    """Where :func:`report_error` writes details (the user log folder)."""
    return str(user_log_dir() / "remixer_app.log")


def report_error(parent: QWidget | None, title: str, message: str, details: str = "",
                 *, show: Callable[[QWidget | None, str, str], Any] | None = None) -> None:
    """The one error path: log the details, then tell the user in a dialog.

    ``show`` replaces the modal dialog (tests pass a recorder).
    """
    _ensure_file_logging()
    log.error("%s: %s\n%s", title, message, details)
    text = f"{message}\n\nDetails are in {log_file()}." if details else message
    (show or _critical)(parent, title, text)


def _critical(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


_file_handler: logging.Handler | None = None


def _ensure_file_logging() -> None:
    global _file_handler
    if _file_handler is not None:
        return
    try:
        user_log_dir().mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_file(), encoding="utf-8")
    except OSError:  # an unwritable log folder must not hide the error itself
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("remixer_app").addHandler(handler)
    _file_handler = handler


__all__ = ["Job", "ProgressReport", "Worker", "WorkerSignals", "report_error", "start"]
