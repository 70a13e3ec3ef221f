"""The main window: open a track, choose the listener, rebalance while listening, export.

The window only wires widgets together. State lives in the Qt-free
:class:`~remixer_app.core.mix_model.MixModel` (observed by the panels and the player)
and in the :class:`~remixer_app.ui.track_controller.TrackController` (track,
separation and engine, all in workers). Errors from workers reach
:func:`~remixer_app.ui.workers.report_error`, the one error path. The File, Edit and
Play menus live in :class:`~remixer_app.ui.main_menus.MainMenus`, the exports in
:class:`~remixer_app.ui.track_exports.TrackExports`, the docks and the Sessions menu in
:class:`~remixer_app.ui.workspace.Workspace`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from remixer_app import APP_NAME
from remixer_app.core.chain_settings import ENGINE_RATE
from remixer_app.core.mix_model import MixModel
from remixer_app.core.player import Player
from remixer_app.core.progress import ProgressReport
from remixer_app.core.track_loader import OpenedTrack
from remixer_app.ui.focus_keys import FocusedWidgetKeys
from remixer_app.ui.hearing_aid_panel import HearingAidPanel
from remixer_app.ui.listener_panel import ListenerPanel
from remixer_app.ui.main_menus import MainMenus
from remixer_app.ui.scroll_area import ScrollArea
from remixer_app.ui.separation_menu import SeparationMenu
from remixer_app.ui.stem_panel import StemPanel
from remixer_app.ui.time_format import format_duration
from remixer_app.ui.track_controller import TrackController
from remixer_app.ui.track_exports import TrackExports
from remixer_app.ui.transport import TransportBar
from remixer_app.ui.window_settings import WindowSettings
from remixer_app.ui.workers import report_error
from remixer_app.ui.workspace import Workspace

NO_TRACK_TEXT = "No track loaded: File > Open track..., or drop a file or stems folder here."
PREPARING_PLAYBACK_TEXT = ("Preparing playback... (it starts when the hearing aid is fitted; "
                           "press Play again not to play)")


class MainWindow(QMainWindow):
    """The application window.

    Parameters
    ----------
    controller
        Track controller to use (tests pass one with a fake separator); a new one
        with the default ensemble otherwise.
    settings
        Where the window layout, output device, ensemble and recent files persist
        (tests pass a temporary one).
    """

    def __init__(self, controller: TrackController | None = None,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setAccessibleName("remixer_app main window")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.model = controller.model if controller else MixModel()
        self.controller = controller or TrackController(self.model)
        self.track: OpenedTrack | None = None
        # Play pressed while the hearing aid was being fitted: play once it is ready.
        self.play_when_ready = False
        self.exports = TrackExports(self)
        self.show_error: Callable[[QWidget | None, str, str], Any] | None = None  # tests

        self.track_label = QLabel(NO_TRACK_TEXT)
        self.track_label.setAccessibleName("Loaded track")
        self.track_label.setWordWrap(True)
        self.track_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        # Profiles live in the session database, which the workspace opens on first use.
        self.listener_panel = ListenerPanel(self.model, lambda: self.workspace.store())
        self.stem_panel = StemPanel(self.model)
        self.hearing_aid_panel = HearingAidPanel(self.model)
        panels = QWidget()
        columns = QHBoxLayout(panels)
        columns.setContentsMargins(0, 0, 0, 0)
        # The listener's column takes the most: its audiogram editor puts the chart beside
        # the table when it has ~550 px (on a small screen the boxes elide instead).
        columns.addWidget(self.listener_panel, 2)
        columns.addWidget(self.stem_panel, 1)
        columns.addWidget(self.hearing_aid_panel, 0)
        self.transport = TransportBar()
        self.main_controls = QWidget()  # the central widget (but in booth mode)
        layout = QVBoxLayout(self.main_controls)
        layout.addWidget(self.track_label)
        # Scrolls on small screens rather than pushing the window past them.
        self.controls_area = ScrollArea(panels, "Listener, stems and hearing aid")
        layout.addWidget(self.controls_area, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(self.main_controls)
        self._build_status_bar()
        self.menus = MainMenus(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(FocusedWidgetKeys(self))
        self.separation_menu = SeparationMenu(self.menuBar(), self.controller, self.settings)
        self.separation_menu.chosen_changed.connect(lambda name: self.statusBar().showMessage(
            f"Separation ensemble: {name} (used for the next track you open)", 10000))
        self.separation_menu.instruments_chosen.connect(
            lambda text: self.statusBar().showMessage(text, 10000))
        self.workspace = Workspace(self)
        self.window_settings = WindowSettings(self)

        self.controller.busy.connect(self._show_busy)
        self.controller.progress.connect(self._show_progress)
        self.controller.track_opened.connect(self._track_opened)
        self.controller.player_ready.connect(self._player_ready)
        self.controller.failed.connect(self.report_problem)
        # Queued: a fitting replaced by a newer one is idle for a moment in between.
        for ended in (self.controller.busy, self.controller.failed):
            ended.connect(self._drop_play_request_unless_fitting,
                          Qt.ConnectionType.QueuedConnection)
        self.controller.notice.connect(lambda text: self.statusBar().showMessage(text, 15000))

    # --- building ----------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Progress")
        self.progress_bar.setRange(0, 1000)
        self.progress_label = QLabel()
        self.progress_label.setAccessibleName("Progress details")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the running job")
        self.cancel_button.clicked.connect(lambda: self.controller.cancel_by_user())
        # The output's status as it changes (a device unplugged, another chosen).
        self.playback_label = QLabel(self.transport.output_status())
        self.playback_label.setAccessibleName("Playback status")
        self.transport.output_status_changed.connect(self.playback_label.setText)
        bar = self.statusBar()
        bar.setAccessibleName("Status bar")
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.playback_label, 1)
        self._show_busy("")

    # --- opening -----------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str]) -> None:
        """Open a file or stems folder in the background; the window stays usable."""
        self.separation_menu.load_instruments()  # those another instance chose count too
        self.play_when_ready = False  # it was for the track open now
        self.controller.open(Path(path))

    def _track_opened(self, track: OpenedTrack) -> None:
        previous, self.track = self.track, track
        # Play asked while a track's first seconds were fitted goes on to their whole.
        if not (previous is not None and not previous.complete and track.complete
                and previous.path == track.path):
            self.play_when_ready = False  # asked for the track this one replaces
            self._clear_preparing_text()
        name = track.path.name or str(track.path)
        stems = ", ".join(s.capitalize() for s in track.stems)
        self.track_label.setText(f"{name} ({format_duration(track.frames / ENGINE_RATE)}), "
                                 f"stems: {track.source} ({stems})")
        self.menus.remember(track.path)
        self.menus.set_track_actions(True, exports=track.complete)

    def _player_ready(self, player: Player | None) -> None:
        if self.transport.player is not None:
            self.transport.player.detach()
        if player is not None:
            player.attach(self.model)
        self.transport.set_player(player)
        if player is not None and self.play_when_ready:
            self.play_when_ready = False
            self._clear_preparing_text()
            self.transport.toggle_play()  # a new player: this plays

    def toggle_play(self) -> None:
        """Play or pause (Play menu, Space); with no player yet, fit the hearing aid and
        play once it is fitted, or, asked again while it is fitted, not play after all."""
        if self.transport.player is not None:
            self.transport.toggle_play()  # plays only where the output can
        elif self.play_when_ready:  # Play again while waiting: the user changed their mind
            self.play_when_ready = False
            self.statusBar().showMessage("Playback will not start when the fitting ends.",
                                         10000)
        else:  # being fitted, or a track whose fitting was cancelled: fit it now
            self.controller.fit()
            if "engine" in self.controller.jobs.running():
                self.play_when_ready = True
                self.statusBar().showMessage(PREPARING_PLAYBACK_TEXT)

    def _drop_play_request_unless_fitting(self, *_: object) -> None:
        """A fitting that failed or was cancelled leaves nothing to play: forget Play
        (the failure or the cancel says why); one replaced by a newer fitting plays."""
        if self.play_when_ready and "engine" not in self.controller.jobs.running():
            self.play_when_ready = False
            self._clear_preparing_text()

    def _clear_preparing_text(self) -> None:
        if self.statusBar().currentMessage() == PREPARING_PLAYBACK_TEXT:
            self.statusBar().clearMessage()

    # --- feedback ----------------------------------------------------------------------
    def _show_busy(self, label: str) -> None:
        for widget in (self.progress_bar, self.progress_label, self.cancel_button):
            widget.setVisible(bool(label))
        self.progress_label.setText(label)
        self.progress_bar.setValue(0)

    def _show_progress(self, report: ProgressReport) -> None:
        self.progress_bar.setValue(int(report.fraction * 1000))
        eta = "" if report.eta_s is None else f", about {format_duration(report.eta_s)} left"
        self.progress_label.setText(f"{report.message or 'working'}: "
                                    f"{report.percent:.0f} %{eta}")

    def report_problem(self, title: str, message: str, details: str = "") -> None:
        """Tell the user about a problem, through the one error path.

        ``details`` (a traceback, say) go to the log file, which the message then names.
        """
        report_error(self, title, message, details, show=self.show_error)

    # --- drag and drop, closing --------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        """Accept dropped local files and folders."""
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        """Open the first dropped file or folder."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        """Ask about an unsaved audiogram, stop background work, remember the layout."""
        if not self.listener_panel.may_close():
            event.ignore()
            return
        # The normal layout is the one to remember: booth mode hides the docks.
        self.workspace.set_booth_mode(False)
        self.controller.cancel()
        if self.transport.player is not None:
            self.transport.player.detach()
        self.transport.set_player(None)  # closes the audio stream, from the GUI thread
        self.workspace.close()
        self.window_settings.save()
        super().closeEvent(event)
