"""The sessions dialog's exports (CSV table, PDF/PNG report) and its status line.

:class:`SessionExports` is the base of
:class:`~remixer_app.ui.session_actions.SessionActions`, and so of
:class:`~remixer_app.ui.sessions_dialog.SessionsDialog`: it writes what the dialog
lists to files the user names, and gives every action of the dialog its one way to
fail, :meth:`SessionExports._attempt`: expected failures (a damaged database, an
unwritable folder) are shown in the status line; anything else also goes to
:func:`~remixer_app.ui.workers.report_error`, the app's one error path.
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
from remixer_app.ui.session_report import REPORT_SUFFIXES, write_report
from remixer_app.ui.sessions_table import PreferencesTable
from remixer_app.ui.status_line import show_status
from remixer_app.ui.workers import report_error

T = TypeVar("T")


class SessionExports(QDialog):
    """Exports and error handling of the sessions dialog (see the module)."""

    # Set up by the dialog.
    store: SessionStore
    table: PreferencesTable
    status_label: QLabel

    if TYPE_CHECKING:  # the dialog's listing, which says what to export
        def listener_filter(self) -> str | None: ...

        def selected_preference(self) -> Preference | None: ...

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Replaces the error dialog of unexpected failures (tests pass a recorder).
        self.show_error: Callable[[QWidget | None, str, str], Any] | None = None
        self._folder = Path.home()  # where the last export went

    def _status(self, text: str, *, error: bool = False) -> None:
        show_status(self.status_label, text, error=error)

    def _attempt(self, title: str, action: Callable[[], T]) -> tuple[bool, T | None]:
        """Run ``action``: ``(True, result)``, or ``(False, None)`` with the error shown."""
        try:
            return True, action()
        except RemixerError as exc:
            self._status(f"{title}: {exc}", error=True)
        except Exception as exc:  # noqa: BLE001 - a bug must reach the one error path
            self._status(f"{title}: unexpected error: {exc}", error=True)
            report_error(self, title, f"unexpected error: {exc}", traceback.format_exc(),
                         show=self.show_error)
        return False, None

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

    def export_report(self) -> Path | None:
        """Write a PDF or PNG report of one listener: their audiogram and preferences."""
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

        def write() -> Path:
            listener = self.store.listener(listener_id)
            if listener is None:
                raise StorageError(f"listener {listener_id} is no longer saved")
            prefs, unreadable = self.store.read_preferences(listener_id)
            skipped.extend(unreadable)
            # Only a name the dialog has confirmed may replace an existing file.
            return write_report(target, listener, prefs, overwrite=target == Path(path),
                                title=f"Listening preferences: {listener.display_name}",
                                skipped=skipped.append)

        _, written = self._attempt("Cannot export the report", write)
        if written is not None:
            self._folder = written.parent
            self._status(f"Report written to {written}. {left_out(skipped)}".rstrip())
        return written
