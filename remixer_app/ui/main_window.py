"""The main window: open a folder of separated stems and choose a listener.

This is the first, deliberately small window: every control in it works. Loading
runs on the GUI thread for now; it only decodes four files, and the long work
(separation, rendering) will arrive with its own cancellable workers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from remixer_app.core.audio_io import TARGET_RATE, load_stems_dir
from remixer_app.core.audiogram import Listener, presets
from remixer_app.core.errors import RemixerError
from remixer_app.core.playback_probe import playback_status

WINDOW_TITLE = "remixer_app"
NO_TRACK_TEXT = "No track loaded. Use File > Open stems folder..."


def format_duration(seconds: float) -> str:
    """A duration as ``m:ss``, or ``h:mm:ss`` from one hour on."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class MainWindow(QMainWindow):
    """The application window.

    Parameters
    ----------
    parent
        Optional parent widget.

    Attributes
    ----------
    stems : dict[str, numpy.ndarray] or None
        The stems of the loaded track, ``None`` until a folder is opened.
    playback_available : bool
        Result of :func:`~remixer_app.core.playback_probe.playback_status` at start-up.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        self.setAccessibleName("remixer_app main window")
        self.stems: dict[str, np.ndarray] | None = None
        self.track_path: Path | None = None

        self._build_menus()

        self.listener_combo = QComboBox()
        self.listener_combo.setAccessibleName("Listener")
        self.listener_combo.setAccessibleDescription(
            "Hearing profile of the listener the music is remixed for")
        for listener_id, listener in presets().items():
            self.listener_combo.addItem(listener.display_name, listener_id)

        self.track_label = QLabel(NO_TRACK_TEXT)
        self.track_label.setAccessibleName("Loaded track")
        # Selectable so screen-reader and keyboard users can reach and copy the text.
        self.track_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)

        listener_caption = QLabel("&Listener:")
        listener_caption.setBuddy(self.listener_combo)
        form = QFormLayout()
        form.addRow(listener_caption, self.listener_combo)
        form.addRow("Track:", self.track_label)
        central = QWidget()
        central.setLayout(form)
        self.setCentralWidget(central)

        self.playback_available, message = playback_status()
        self.playback_label = QLabel(message)
        self.playback_label.setAccessibleName("Playback status")
        # A permanent widget, because status tips from the menus would wipe a plain message.
        self.statusBar().addPermanentWidget(self.playback_label, 1)
        self.statusBar().setAccessibleName("Status bar")

    def _build_menus(self) -> None:
        menu_bar = self.menuBar()
        menu_bar.setAccessibleName("Main menu")
        file_menu = menu_bar.addMenu("&File")
        file_menu.setAccessibleName("File menu")

        self.open_action = QAction("&Open stems folder...", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setStatusTip(
            "Open a folder holding vocals, drums, bass and other audio files")
        self.open_action.triggered.connect(self._choose_stems_folder)
        file_menu.addAction(self.open_action)

        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        # Spelled out because QKeySequence.Quit is empty on Windows.
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setStatusTip("Quit remixer_app")
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

    def selected_listener(self) -> Listener:
        """The listener chosen in the listener box."""
        return presets()[self.listener_combo.currentData()]

    def _choose_stems_folder(self) -> None:
        start = str(self.track_path.parent) if self.track_path else os.path.expanduser("~")
        folder = QFileDialog.getExistingDirectory(self, "Open stems folder", start)
        if folder:  # empty when the user cancels
            self.open_stems_folder(folder)

    def open_stems_folder(self, folder: str | os.PathLike[str]) -> bool:
        """Load the stems in ``folder`` and show the track's name and duration.

        Parameters
        ----------
        folder
            Folder with one ``vocals``, ``drums``, ``bass`` and ``other`` audio file.

        Returns
        -------
        bool
            ``True`` when the stems were loaded; ``False`` when an error dialog was
            shown instead (the previously loaded track, if any, is kept).
        """
        path = Path(folder)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            stems = load_stems_dir(path)
        except (RemixerError, OSError) as exc:
            # OSError: e.g. a folder we may not list; load_stems_dir reports everything else.
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self, "Cannot open stems folder", str(exc))
            return False
        QApplication.restoreOverrideCursor()

        self.stems = stems
        self.track_path = path
        frames = next(iter(stems.values())).shape[0]
        name = path.name or str(path)
        self.track_label.setText(f"{name} ({format_duration(frames / TARGET_RATE)})")
        self.statusBar().showMessage(f"Loaded {len(stems)} stems from {path}", 5000)
        return True
