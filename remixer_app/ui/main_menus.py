"""The window's File, Edit and Play menus: their actions, and the recent tracks.

Kept apart from :mod:`remixer_app.ui.main_window`, which wires the controls: this
module builds the menus, enables the actions that apply now (Play and the exports for
an open track, Undo and Redo when they would change the mix), asks for a file or stems
folder to open, and keeps the *Open recent* list, which other instances of the app
share through the settings file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from remixer_app.core.audio_io import AUDIO_SUFFIXES

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow

# Every suffix the decoder reads, so no readable file hides under "All files".
AUDIO_FILTER = ("Audio (" + " ".join(f"*{suffix}" for suffix in sorted(AUDIO_SUFFIXES))
                + ");;All files (*)")
MAX_RECENT = 8


class MainMenus(QObject):
    """Adds the File, Edit and Play menus to ``window``'s menu bar."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        model = window.model
        bar = window.menuBar()
        bar.setAccessibleName("Main menu")
        file_menu = bar.addMenu("&File")
        file_menu.setAccessibleName("File menu")
        self.open_action = self._action(file_menu, "&Open track...", self._choose_track,
                                        QKeySequence.StandardKey.Open,
                                        "Open an audio file; it is separated into stems")
        self.open_folder_action = self._action(file_menu, "Open stems &folder...",
                                               self._choose_stems_folder, None,
                                               "Open a folder of vocals/drums/bass/other "
                                               "files, or of 2 to 5 instrument files "
                                               "(violin.flac, cello.wav, ...)")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.setAccessibleName("Recent tracks")
        self._fill_recent()
        file_menu.addSeparator()
        self.export_aided_action = self._action(
            file_menu, "&Export hearing-aid output...", lambda: window.exports.ask("aided"),
            QKeySequence("Ctrl+E"), "FLAC, 32 kHz, 16 bit (the Cadenza format)")
        self.export_remix_action = self._action(
            file_menu, "Export re&mix (no hearing aid)...", lambda: window.exports.ask("remix"),
            None, "The rebalanced mix without the hearing-aid processing")
        self.export_stems_action = self._action(
            file_menu, "Export &stems...", lambda: window.exports.ask("stems"), None,
            "The track's stems as WAV files")
        file_menu.addSeparator()
        self.quit_action = self._action(file_menu, "&Quit", window.close,
                                        QKeySequence("Ctrl+Q"), "Quit remixer_app")
        edit_menu = bar.addMenu("&Edit")
        edit_menu.setAccessibleName("Edit menu")
        self.undo_action = self._action(edit_menu, "&Undo", model.undo,
                                        QKeySequence.StandardKey.Undo, "Undo the last mix change")
        self.redo_action = self._action(edit_menu, "&Redo", model.redo,
                                        QKeySequence.StandardKey.Redo, "Redo")
        self.reset_action = self._action(edit_menu, "Reset &mix", model.reset,
                                         QKeySequence("Ctrl+0"), "All stems back to 0 dB")
        play_menu = bar.addMenu("&Play")
        play_menu.setAccessibleName("Play menu")
        self.play_action = self._action(play_menu, "&Play / pause", window.toggle_play,
                                        QKeySequence(Qt.Key.Key_Space), "Start or pause playback")
        self.set_track_actions(False)
        model.subscribe(lambda _change: self._update_undo_actions())
        self._update_undo_actions()

    def _action(self, menu: QMenu, text: str, slot: Callable[[], object],
                shortcut: QKeySequence | QKeySequence.StandardKey | None, tip: str) -> QAction:
        action = QAction(text, self.window)
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(shortcut)  # every binding of the platform (Ctrl+Shift+Z too)
        elif shortcut is not None:
            action.setShortcut(shortcut)
        action.setStatusTip(tip)
        action.triggered.connect(lambda: slot())
        menu.addAction(action)
        return action

    def set_track_actions(self, enabled: bool, *, exports: bool = True) -> None:
        """Enable Play and the exports (these only for a track open whole)."""
        for action in (self.export_aided_action, self.export_remix_action,
                       self.export_stems_action):
            action.setEnabled(enabled and exports)
        self.play_action.setEnabled(enabled)

    def _update_undo_actions(self) -> None:
        """Undo and Redo are enabled only when they would change the mix."""
        self.undo_action.setEnabled(self.window.model.can_undo)
        self.redo_action.setEnabled(self.window.model.can_redo)

    # --- opening -----------------------------------------------------------------------
    def _choose_track(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open track", self._last_folder(),
                                              AUDIO_FILTER)
        if path:
            self.window.open_path(path)

    def _choose_stems_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open stems folder",
                                                  self._last_folder())
        if folder:
            self.window.open_path(folder)

    def _last_folder(self) -> str:
        recent = self._recent()
        return str(Path(recent[0]).parent) if recent else os.path.expanduser("~")

    def _recent(self) -> list[str]:
        value = self.window.settings.value("recent/files", [])
        return [str(v) for v in (value if isinstance(value, list) else [value]) if v]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.window.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def remember(self, path: Path) -> None:
        """Put ``path`` first in *Open recent*."""
        settings = self.window.settings
        # Read again first, and written at once: other instances of the app share the list.
        settings.sync()
        recent = [str(path)] + [p for p in self._recent() if p != str(path)]
        settings.setValue("recent/files", recent[:MAX_RECENT])
        settings.sync()
        self._fill_recent()
