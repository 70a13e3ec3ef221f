"""The sessions dialog's exports (CSV table, PDF/PNG report) and its status line.

:class:`SessionExports` is the base of
:class:`~remixer_app.ui.session_actions.SessionActions`, and so of
:class:`~remixer_app.ui.sessions_dialog.SessionsDialog`: it writes what the dialog
lists to files the user names (a report is painted and encoded in a
:class:`~remixer_app.ui.workers.Worker`, so the GUI stays responsive), and gives every
action of the dialog its one way to fail, :meth:`SessionExports._attempt`: expected
failures (a damaged database, an unwritable folder) are shown in the status line;
anything else also goes to :func:`~remixer_app.ui.workers.report_error`, the app's one
error path.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QWidget

from remixer_app.core.errors import RemixerError
from remixer_app.core.storage import (
    Preference,
    SessionStore,
    StorageError,
    left_out,
)
from remixer_app.ui.session_report import REPORT_SUFFIXES, prepare_report
from remixer_app.ui.sessions_table import PreferencesTable
from remixer_app.ui.status_line import show_status
from remixer_app.ui.workers import UNEXPECTED, Worker, report_error, start

T = TypeVar("T")
REPORT_FAILED = "Cannot export the report"


class SessionExports(QDialog):
    """Exports and error handling of the sessions dialog (see the module)."""

    # Set up by the dialog.
    store: SessionStore
    table: PreferencesTable
    status_label: QLabel

    if TYPE_CHECKING:  # the dialog's listing, which says what to export
        def listener_filter(self) -> str | None: ...

        def selected_preference(self) -> Preference | None: ...

        def _update_buttons(self) -> None: ...

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Replaces the error dialog of unexpected failures (tests pass a recorder).
        self.show_error: Callable[[QWidget | None, str, str], Any] | None = None
        self._folder = Path.home()  # where the last export went
        self._report_worker: Worker | None = None  # the report being written
        self._report_left_out = ""  # what that report leaves out, said when it is written

    def _status(self, text: str, *, error: bool = False) -> None:
        show_status(self.status_label, text, error=error)

    def _attempt(self, title: str, action: Callable[[], T]) -> tuple[bool, T | None]:
        """Run ``action``: ``(True, result)``, or ``(False, None)`` with the error shown."""
        try:
            return True, action()
        except RemixerError as exc:
            self._fail(title, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the one error path
            self._fail(title, f"{UNEXPECTED}{exc}", traceback.format_exc())
        return False, None

    def _fail(self, title: str, message: str, details: str | None = None) -> None:
        """Show a failure in the status line; a bug's, with ``details`` (its traceback),
        also goes to the one error path."""
        self._status(f"{title}: {message}", error=True)
        if details is not None:
            report_error(self, title, message, details, show=self.show_error)

    def ask_save_path(self, caption: str, suggested: str, filters: str) -> str | None:
        """Ask where to write a file (the dialog confirms replacing one); ``None``: cancelled."""
        path, _ = QFileDialog.getSaveFileName(self, caption, str(self._folder / suggested),
                                              filters)
        return path or None

    def export_csv(self) -> Path | None:
        """Write the listed preferences (one listener's, or all) to a CSV file chosen."""
        listener_id = self.listener_filter()
        path = self.ask_save_path("Export preferences as CSV",
                                  f"preferences-{listener_id or 'all'}.csv", "CSV (*.csv)")
        if not path:
            return None
        target = Path(path)
        if target.suffix.lower() != ".csv":  # "visit 3.2" has no suffix, only a dot
            target = target.with_name(target.name + ".csv")
        skipped: list[str] = []
        counts: list[int] = []  # what was written, not what the table showed last
        _, written = self._attempt("Cannot export CSV", lambda: self.store.export_csv(
            target, listener_id, overwrite=target == Path(path), skipped=skipped.append,
            counted=counts.append))
        if written is not None:
            self._folder = written.parent
            self._status(f"Exported {sum(counts)} preference(s) to {written}. "
                         f"{left_out(skipped)}".rstrip())
        return written

    def _report_listener(self) -> str | None:
        selected = self.selected_preference()
        return self.listener_filter() or (selected.listener_id if selected else None)

    def exporting_report(self) -> bool:
        """Whether a report is being written (its button is disabled meanwhile)."""
        return self._report_worker is not None

    def export_report(self) -> Worker | None:
        """Write a PDF or PNG report of one listener, their audiogram and preferences.

        The store is read and the charts are recorded here, on the GUI thread; the
        painting and encoding run in a worker, the status line saying so meanwhile, and
        the file written or the failure is told there as the CSV export tells it.

        Returns
        -------
        Worker or None
            The started worker, its ``finished`` signal carrying the written path; None
            when nothing was started (no listener chosen, cancelled, a report already
            being written, or the failure shown in the status line).
        """
        if self.exporting_report():  # one report at a time: it may be the same file
            return None
        listener_id = self._report_listener()
        if listener_id is None:
            self._status("Choose a listener (or select one of their rows) for the report.",
                         error=True)
            return None
        path = self.ask_save_path("Export report", f"report-{listener_id}.pdf",
                                  "PDF document (*.pdf);;PNG image (*.png)")
        if not path:
            return None
        target = Path(path)
        if target.suffix.lower() not in REPORT_SUFFIXES:
            target = target.with_name(target.name + ".pdf")

        skipped: list[str] = []

        def prepare() -> Callable[[], Path]:
            listener = self.store.listener(listener_id)
            if listener is None:
                raise StorageError(f"listener {listener_id} is no longer saved")
            prefs, unreadable = self.store.read_preferences(listener_id)
            skipped.extend(unreadable)
            # Only a name the dialog has confirmed may replace an existing file.
            return prepare_report(target, listener, prefs, overwrite=target == Path(path),
                                  title=f"Listening preferences: {listener.display_name}",
                                  skipped=skipped.append)

        _, write = self._attempt(REPORT_FAILED, prepare)
        if write is None:
            return None
        self._report_left_out = left_out(skipped)
        worker = Worker(lambda _progress, _cancelled: write())
        # Bound methods, not lambdas: Qt disconnects them when the dialog is deleted.
        # Closing the dialog (which hides it) lets the export finish: the file is
        # written atomically all the same, and its report waits in the status line;
        # a dialog deleted meanwhile drops the report, and the file is still whole.
        worker.signals.finished.connect(self._report_written)
        worker.signals.failed.connect(self._report_failed)
        self._report_worker = worker
        self._update_buttons()  # the report button is disabled while it runs
        self._status(f"Writing the report to {target}...")
        return start(worker)

    def _report_written(self, _request: int, written: Path) -> None:
        self._report_worker = None
        self._update_buttons()
        self._folder = written.parent
        self._status(f"Report written to {written}. {self._report_left_out}".rstrip())

    def _report_failed(self, _request: int, message: str, details: str) -> None:
        self._report_worker = None
        self._update_buttons()
        self._fail(REPORT_FAILED, message,
                   details if message.startswith(UNEXPECTED) else None)
