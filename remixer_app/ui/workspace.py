"""The window's secondary workspaces: spectra, HAAQI, clinician sessions, booth mode.

Kept apart from :mod:`remixer_app.ui.main_window` so the window module stays about
wiring the main controls; this one adds a spectra dock, a Sessions menu backed by the
SQLite session store, and booth mode (a big-button panel that replaces the window's
contents until the hidden exit shortcut).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QInputDialog

from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import RemixerError
from remixer_app.core.player import Player
from remixer_app.core.storage import SessionStore, save_preference
from remixer_app.core.track_loader import OpenedTrack
from remixer_app.ui.aid_effect_watch import AidEffectWatch
from remixer_app.ui.booth import BoothPanel
from remixer_app.ui.haaqi_panel import HaaqiPanel
from remixer_app.ui.scroll_area import ScrollArea
from remixer_app.ui.session_actions import UnsavedNotes
from remixer_app.ui.sessions_dialog import SessionsDialog
from remixer_app.ui.spectra_panel import SpectraPanel

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow


class Workspace(QObject):
    """Adds the spectra dock, the Sessions menu and booth mode to ``window``."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._store: SessionStore | None = None
        self.sessions_dialog: SessionsDialog | None = None
        self.unsaved_notes = UnsavedNotes()  # notes whose save failed, here or in the dialog
        self.spectra = SpectraPanel(window.model)
        self.aid_watch = AidEffectWatch(window.model, self)
        self.aid_watch.measured.connect(lambda _player: self.spectra.aid_effect_changed())
        self.dock = QDockWidget("Spectra", window)
        self.dock.setObjectName("spectra_dock")
        self.dock.setAccessibleName("Spectra panel")
        self.dock.setWidget(ScrollArea(self.spectra, "Spectra plots", fit_content=False))
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.haaqi = HaaqiPanel(window.model)
        self.haaqi_dock = QDockWidget("HAAQI", window)
        self.haaqi_dock.setObjectName("haaqi_dock")
        self.haaqi_dock.setAccessibleName("HAAQI estimate panel")
        self.haaqi_dock.setWidget(self.haaqi)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.haaqi_dock)
        self.booth = BoothPanel(window.model, toggle_play=window.transport.toggle_play)
        self.booth.exitRequested.connect(lambda: self.set_booth_mode(False))
        self.booth.sourceChosen.connect(lambda _source: self._show_source_in_transport())
        self._docks_shown: list[QDockWidget] = []  # before booth mode
        self._dialogs_shown: list[QDialog] = []

        bar = window.menuBar()
        view = bar.addMenu("&View")
        view.setAccessibleName("View menu")
        spectra_action = self.dock.toggleViewAction()
        spectra_action.setText("&Spectra")
        view.addAction(spectra_action)
        haaqi_action = self.haaqi_dock.toggleViewAction()
        haaqi_action.setText("&HAAQI estimate")
        view.addAction(haaqi_action)
        self.booth_action = QAction("&Booth mode", window)
        # No shortcut: Ctrl+Shift+B is the booth's own (hidden) way out.
        self.booth_action.setStatusTip("Big controls and preset scenarios for demo booths "
                                       "(Ctrl+Shift+B leaves it)")
        self.booth_action.triggered.connect(lambda: self.set_booth_mode(True))
        view.addAction(self.booth_action)
        sessions = bar.addMenu("&Sessions")
        sessions.setAccessibleName("Sessions menu")
        self.save_action = QAction("&Save preference...", window)
        self.save_action.setShortcut(QKeySequence("Ctrl+S"))
        self.save_action.setStatusTip("Store the current settings for this listener and track")
        self.save_action.triggered.connect(self.save_current)
        self.browse_action = QAction("&Browse sessions...", window)
        self.browse_action.triggered.connect(self.show_sessions)
        sessions.addAction(self.save_action)
        sessions.addAction(self.browse_action)

        window.controller.track_opened.connect(self._track_opened)
        window.controller.engine_ready.connect(self._engine_ready)
        window.controller.player_ready.connect(self._player_ready)
        window.listener_panel.profiles_changed.connect(self._refresh_sessions)

    def store(self) -> SessionStore:
        """The session database, opened on first use."""
        if self._store is None:
            self._store = SessionStore()
        return self._store

    def _engine_ready(self, engine: HearingAidEngine) -> None:
        track = self.window.controller.track
        if track is not None:
            self.spectra.set_track(engine, track.stems, mixture=track.mixture)
            self.haaqi.set_engine(engine, track)

    def _track_opened(self, track: OpenedTrack) -> None:
        # At once, not when fitted: "Save current" must never file a new track's settings
        # under the previous one while (or if never) the hearing aid is fitted.
        if self.sessions_dialog is not None:
            self.sessions_dialog.set_track(str(track.path), track.path.name)
        self.haaqi.forget_track()  # its scores are the previous track's, and so are
        self.spectra.forget_track()  # the spectra

    def _refresh_sessions(self) -> None:
        if self.sessions_dialog is not None and self.sessions_dialog.isVisible():
            self.sessions_dialog.refresh()

    def _player_ready(self, player: Player | None) -> None:
        self.haaqi.position = (lambda: 0) if player is None else (lambda: player.position)
        self.aid_watch.set_player(player)
        self.spectra.set_player(player)
        self.booth.set_player(player)

    def ask_note(self) -> tuple[str, bool]:
        """The note for a saved preference (replaced in tests).

        It starts from the note of a save that failed for the open track, if any.
        """
        track = self.window.controller.track
        kept = "" if track is None else self.unsaved_notes.offer(str(track.path))
        return QInputDialog.getText(self.window, "Save preference", "Note (optional):",
                                    text=kept)

    def save_current(self) -> int | None:
        """Save the current settings as a preference of the listener for the open track."""
        track = self.window.controller.track
        if track is None:
            self.window.statusBar().showMessage("Open a track first.", 5000)
            return None
        note, accepted = self.ask_note()
        if not accepted:
            return None
        key = str(track.path)
        try:
            pref = self.unsaved_notes.save(key, note, lambda: save_preference(
                self.store(), self.window.model, key, track.path.name, note))
        except RemixerError as exc:
            self.window.report_problem("Cannot save the preference", str(exc))
            return None
        self.window.statusBar().showMessage("Preference saved.", 5000)
        self._refresh_sessions()
        self.window.listener_panel.refresh_profiles()  # the listener may be new there
        return pref

    def show_sessions(self) -> SessionsDialog | None:
        """Open the sessions browser (non-modal); not in the booth, which is visitors'."""
        if self.window.centralWidget() is self.booth:
            return None
        try:
            store = self.store()
        except RemixerError as exc:
            self.window.report_problem("Cannot open the session database", str(exc))
            return None
        if self.sessions_dialog is None:
            panel = self.window.listener_panel
            # Re-applying a preference asks first about an edited, unsaved audiogram.
            self.sessions_dialog = SessionsDialog(store, self.window.model, parent=self.window,
                                                  may_replace_listener=panel.may_close)
            self.sessions_dialog.preferencesChanged.connect(panel.refresh_profiles)
            # one keeper of unsaved notes: a note kept after Ctrl+S is offered here too
            self.sessions_dialog.unsaved_notes = self.unsaved_notes
        track = self.window.controller.track
        if track is not None:
            self.sessions_dialog.set_track(str(track.path), track.path.name)
        self._refresh_sessions()  # show() of a dialog already shown does not re-read
        self.sessions_dialog.show()
        self.sessions_dialog.raise_()
        return self.sessions_dialog

    def set_booth_mode(self, on: bool) -> None:
        """Show the booth panel in place of the normal controls, or go back.

        The listener chosen when the booth opens is the one its "Start over" returns
        to (the operator's set-up), and leaving brings back the docks that were shown.
        The booth shows, and the transport keeps showing, what the player plays.
        """
        window = self.window
        in_booth = window.centralWidget() is self.booth
        if on and not in_booth:
            if window.model.listener is not None:
                self.booth.default_listener = window.model.listener
            self._docks_shown = [d for d in (self.dock, self.haaqi_dock) if d.isVisible()]
            # Tool windows left open (saved preferences) are the operator's, not visitors'.
            self._dialogs_shown = [d for d in window.findChildren(QDialog)
                                   if d.isVisible() and not d.isModal()]
            window.takeCentralWidget()  # kept as window.main_controls
            window.setCentralWidget(self.booth)
            self.booth.set_active(True)
            window.menuBar().setVisible(False)
            for widget in (*self._docks_shown, *self._dialogs_shown):
                widget.setVisible(False)
            self.booth.setFocus()
        elif not on and in_booth:
            window.takeCentralWidget()  # keep the booth panel for next time
            window.setCentralWidget(window.main_controls)
            self.booth.set_active(False)
            self._show_source_in_transport()
            window.menuBar().setVisible(True)
            for widget in (*self._docks_shown, *self._dialogs_shown):
                widget.setVisible(True)

    def _show_source_in_transport(self) -> None:
        """Check the transport's button of the source the booth chose for the player."""
        transport = self.window.transport
        if transport.player is not None:
            # setChecked, not click: the player already plays it. The transport also
            # gives its checked source to the next player, so it must not be stale.
            transport.source_buttons[transport.player.source].setChecked(True)

    def close(self) -> None:
        """Stop the estimate and the spectra being computed, release the database."""
        self.haaqi.drop_pending()
        self.aid_watch.drop_pending()
        self.spectra.set_track(None)
        if self._store is not None:
            self._store.close()
            self._store = None
