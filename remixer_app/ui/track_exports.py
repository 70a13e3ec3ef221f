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
from PySide6.QtWidgets import QFileDialog, QMessageBox

from remixer_app.core.atomic import check_not_input
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import ExportError
from remixer_app.core.export import EXPORT_SUFFIXES
from remixer_app.core.exporting import export_aided, export_remix, export_stems
from remixer_app.core.stems_folder import audio_files, check_stems_target, write_players
from remixer_app.core.track_loader import OpenedTrack
from remixer_app.ui.workers import Worker, start

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow

FILE_FILTERS = "FLAC (*.flac);;WAV (*.wav)"
STEM_SUFFIX = ".wav"  # export_stems' default: float WAV


def with_suffix(path: Path, selected_filter: str) -> Path:
    """``path``, with the extension of ``selected_filter`` (``"WAV (*.wav)"``) added unless
    it ends in one of the audio formats (a dot elsewhere, "visit 3.2", is part of the name)."""
    if path.suffix.lower() in EXPORT_SUFFIXES:
        return path
    start = selected_filter.find("*.")
    suffix = selected_filter[start + 1:].rstrip(")") if start >= 0 else ".flac"
    return path.with_name(path.name + suffix)


def export_track_stems(track: OpenedTrack, folder: Path, *, overwrite: bool) -> list[Path]:
    """Write ``track``'s stems into ``folder``, and how many players each holds where one
    holds several (:func:`~remixer_app.core.stems_folder.write_players`), so the folder
    opens again as the same ensemble: its level rule counts players."""
    written = export_stems(track.stems, folder, overwrite=overwrite)
    players = {name: track.players.get(name, 1) for name in track.stems}
    try:
        described = write_players(folder, players, overwrite=overwrite)
    except ExportError as exc:
        raise ExportError(f"the stems were written, but not how many players they hold "
                          f"(the folder would open as one player per instrument): {exc}"
                          ) from exc
    return written if described is None else [*written, described]


def input_files(track: OpenedTrack) -> list[Path]:
    """The files ``track`` was read from: its file, or its stems folder's audio files."""
    return audio_files(track.path) if track.path.is_dir() else [track.path]


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
        """Ask where to write ``what`` (``"aided"``, ``"remix"`` or ``"stems"``), then write it.

        A file name typed without an extension gets the chosen format's. Stems are not
        written over the open track's own files, and replacing other files is asked first.
        The hearing-aid output waits for the fitting of the listener on screen.
        """
        window = self.window
        engine, track = window.controller.engine, window.track
        if engine is None or track is None:
            window.statusBar().showMessage("Wait until the track is ready to export it.", 5000)
            return
        model = window.model
        if what == "aided" and not engine.fits(model.listener, model.state.hearing_aid):
            # A refit is running: the engine still holds the previous fitting.
            window.statusBar().showMessage("Wait until the hearing aid is fitted for the "
                                           "chosen listener to export its output.", 5000)
            return
        if what == "stems":
            folder = QFileDialog.getExistingDirectory(window, "Export stems to folder")
            if folder:
                self.export_stems_to(Path(folder), engine, track)
            return
        chosen, selected = QFileDialog.getSaveFileName(
            window, "Export", f"{track.path.stem}-{what}.flac", FILE_FILTERS)
        if chosen:
            target = with_suffix(Path(chosen), selected)
            # The dialog asked about replacing the name it returned, not one we extended.
            asked = target == Path(chosen)
            if not asked and target.exists():
                if not self.confirm_replace(target.parent, [target.name]):
                    return
                asked = True
            self.export(what, target, engine, track, overwrite=asked)

    def export_stems_to(self, folder: Path, engine: HearingAidEngine, track: OpenedTrack
                        ) -> Worker | None:
        """Export the stems into ``folder`` unless that would overwrite what is open, leave
        the folder with two files for a stem, or the user declines replacing files there."""
        if track.path.is_dir() and folder.resolve() == track.path.resolve():
            self.window.report_problem(
                "Export failed", f"{folder} holds the open track's own stems; choose another "
                "folder.", "")
            return None
        try:  # vocals.flac beside a new vocals.wav: the folder would open no more
            existing = check_stems_target(folder, track.stems, STEM_SUFFIX)
        except ExportError as exc:
            self.window.report_problem("Export failed", str(exc), "")
            return None
        if existing and not self.confirm_replace(folder, existing):
            return None
        return self.export("stems", folder, engine, track, overwrite=bool(existing))

    def confirm_replace(self, folder: Path, names: list[str]) -> bool:
        """Ask whether to replace ``names`` in ``folder`` (tests replace this)."""
        answer = QMessageBox.question(
            self.window, "Replace files?", f"{folder} already has {', '.join(names)}. "
            "Replace them?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def export(self, what: str, target: Path, engine: HearingAidEngine, track: OpenedTrack,
               *, overwrite: bool = False) -> Worker | None:
        """Write ``what`` to ``target`` in a worker (not over one of the track's files).

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
        Worker or None
            The started worker, its ``finished`` signal carrying what was written (and
            how many samples clipped); None when ``target`` is one of the open track's
            own files (reported).
        """
        settings = self.window.model.chain_settings()
        if not track.complete:  # the first seconds, opened while the rest separates
            self.window.report_problem("Export failed", f"{track.path.name} is still being "
                                       "separated: only its first seconds are open. Export "
                                       "once it is open whole.", "")
            return None
        if what != "stems":
            try:  # the remix of a stems folder written over one of its stems, say
                check_not_input(target, input_files(track))
            except ExportError as exc:
                self.window.report_problem("Export failed", str(exc), "")
                return None

        def job(progress: Any, cancelled: Any) -> str:
            if what == "aided":
                done = export_aided(engine, settings, target, overwrite=overwrite)
                return _with_note(done.path, done.clip_note(settings.clip))
            if what == "remix":  # always hard-clipped, as the player's remix is heard
                done = export_remix(engine, track.stems, settings, target,
                                    overwrite=overwrite)
                return _with_note(done.path, done.clip_note("hard"))
            return ", ".join(p.name for p in export_track_stems(track, target,
                                                                 overwrite=overwrite))

        worker = Worker(job)
        worker.signals.finished.connect(
            lambda _, written: self.window.statusBar().showMessage(f"Exported {written}", 10000))
        worker.signals.failed.connect(lambda _, message, details: self.window.report_problem(
            "Export failed", message, details))
        self.worker = worker
        return start(worker)


def _with_note(path: Path, note: str) -> str:
    return f"{path}; {note}" if note else str(path)
