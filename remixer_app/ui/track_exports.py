"""The File menu's exports of the open track: hearing-aid output, remix, stems.

Kept apart from :mod:`remixer_app.ui.main_window`, which only wires the controls: this
module asks where to write and writes in a :class:`~remixer_app.ui.workers.Worker`, so
the window stays usable, and reports the result in the status bar or through the
window's one error path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.exporting import export_aided, export_remix, export_stems
from remixer_app.core.track_loader import OpenedTrack
from remixer_app.ui.workers import Worker, start

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow


class TrackExports(QObject):
    """Writes what ``window`` plays to files the user chooses.

    Parameters
    ----------
    window
        The main window: its controller's engine, its track and model, its status bar.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.worker: Worker | None = None

    def ask(self, what: str) -> None:
        """Ask where to write ``what`` (``"aided"``, ``"remix"`` or ``"stems"``), then write it."""
        window = self.window
        engine, track = window.controller.engine, window.track
        if engine is None or track is None:
            window.statusBar().showMessage("Wait until the track is ready to export it.", 5000)
            return
        if what == "stems":
            target = QFileDialog.getExistingDirectory(window, "Export stems to folder")
        else:
            target, _ = QFileDialog.getSaveFileName(
                window, "Export", f"{track.path.stem}-{what}.flac", "FLAC (*.flac);;WAV (*.wav)")
        if target:
            self.export(what, Path(target), engine, track)

    def export(self, what: str, target: Path, engine: HearingAidEngine, track: OpenedTrack,
               *, overwrite: bool = True) -> Worker:
        """Write ``what`` to ``target`` in a worker.

        Parameters
        ----------
        what
            ``"aided"``, ``"remix"`` or ``"stems"``.
        target
            The file to write, or the folder for the stems.
        engine, track
            What to render, with the window model's current settings.
        overwrite
            Whether an existing file may be replaced.

        Returns
        -------
        Worker
            The started worker; its ``finished`` signal carries what was written.
        """
        settings = self.window.model.chain_settings()

        def job(progress: Any, cancelled: Any) -> str:
            if what == "aided":
                return str(export_aided(engine, settings, target, overwrite=overwrite).path)
            if what == "remix":
                return str(export_remix(engine, track.stems, settings, target,
                                        overwrite=overwrite).path)
            return ", ".join(p.name for p in export_stems(track.stems, target,
                                                           overwrite=overwrite))

        worker = Worker(job)
        worker.signals.finished.connect(
            lambda _, written: self.window.statusBar().showMessage(f"Exported {written}", 10000))
        worker.signals.failed.connect(lambda _, message, details: self.window.report_problem(
            "Export failed", message, details))
        self.worker = worker
        return start(worker)
