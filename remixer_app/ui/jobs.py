"""Background jobs by kind: one running per kind, a new one replacing the old.

:class:`Jobs` runs each job on a :class:`~remixer_app.ui.workers.Worker` and delivers
its result, on the GUI thread, only while it is still the current job of its kind: a
job cancelled or replaced meanwhile is dropped, whatever it finishes with. Its signals
say what runs (for a busy indicator), how far the current jobs are, and which failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from remixer_app.ui.workers import Worker, start


class Jobs(QObject):
    """Runs and cancels background jobs of named kinds (``"open"``, ``"engine"``...).

    Parameters
    ----------
    pool
        The thread pool jobs run on unless :meth:`run` is given another.
    """

    progress = Signal(object)          # ProgressReport of a current job
    busy = Signal(str)                 # the label of the job just started ("" when idle)
    failed = Signal(str, str, str)     # title, message, details

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self._request = 0
        self._workers: dict[str, Worker] = {}

    def running(self) -> set[str]:
        """The kinds with a current job."""
        return set(self._workers)

    def run(self, kind: str, job: Callable[..., Any], done: Callable[[Any], None],
            label: str, pool: QThreadPool | None = None) -> None:
        """Start ``job(progress, cancelled)`` as the current job of ``kind`` (the caller
        cancels the previous one first); ``done(result)`` gets its result, and a
        failure is reported as ``"<label> failed"``."""
        self._request += 1
        worker = Worker(job, self._request)
        self._workers[kind] = worker
        rid = worker.request_id

        def current() -> bool:
            return self._workers.get(kind) is worker

        def finished(request: int, result: object) -> None:
            if request == rid and current():
                del self._workers[kind]
                done(result)
                self._idle()

        def failed(request: int, message: str, details: str) -> None:
            if request == rid and current():
                del self._workers[kind]
                self.failed.emit(f"{label} failed", message, details)
                self._idle()

        worker.signals.progress.connect(
            lambda request, report: self.progress.emit(report) if request == rid and current()
            else None)
        worker.signals.finished.connect(finished)
        worker.signals.failed.connect(failed)
        self.busy.emit(label)
        start(worker, pool or self.pool)

    def cancel(self, kind: str | None = None) -> None:
        """Cancel the current job of ``kind``, or all of them."""
        for name, worker in list(self._workers.items()):
            if kind is None or name == kind:
                worker.cancel()
                del self._workers[name]
        self._idle()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until the current jobs end (tests and shutdown only)."""
        return all(w.done.wait(timeout_s) for w in list(self._workers.values()))

    def _idle(self) -> None:
        if not self._workers:
            self.busy.emit("")
