"""What the main window remembers between runs: geometry, dock layout, output device.

Geometry and the dock layout are saved when the window closes. The output device is
saved when the user picks one, not at close: a remembered device that is unplugged
for one run must not be forgotten because the app fell back to the default meanwhile.
The device is remembered by name, because device indices change as devices come and go.

On the first run (nothing remembered) the window takes most of the screen and the
main controls get the room they ask for. The spectra dock takes what they leave: beside
them, above the HAAQI estimate, on a wide screen; below them on a tall one; on a small
screen it starts hidden, and the status bar says where to show it.

A dock shown later (View menu, a restored layout, dragged back into the window) must
not push the window past the screen, nor be squeezed into a strip: where there is no
room for it in the window it floats in a window of its own, at a usable size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
DEVICE_KEY = "audio/device"
#: Bumped when the docks change, so Qt ignores a layout saved for other docks.
STATE_VERSION = 1
NOTICE_MS = 15000
FIRST_RUN_SCREEN_SHARE = 0.9  #: of the available screen, in each direction
#: The smallest spectra dock a first run opens beside or below the main controls.
MIN_SPECTRA_WIDTH = 400
MIN_SPECTRA_HEIGHT = 260
SPLITTER_ROOM = 24  #: the dock separator and margins, left to the main controls


def spectra_placement(inside: QSize, controls: QSize) -> tuple[str, int]:
    """Where a first run puts the spectra dock, and its width or height.

    ``inside`` is the window less its menu and status bars; ``controls`` the size the
    main controls ask for. Returns ``("beside", width)``, ``("below", height)`` or
    ``("hidden", 0)``.
    """
    beside = inside.width() - controls.width() - SPLITTER_ROOM
    if beside >= MIN_SPECTRA_WIDTH:
        return "beside", beside
    below = inside.height() - controls.height()
    if below >= MIN_SPECTRA_HEIGHT:
        return "below", below
    return "hidden", 0


def _lay_out(widget: QWidget) -> None:
    """Apply ``widget``'s pending layout changes (its minimum size among them) now."""
    layout = widget.layout()
    if layout is not None:
        layout.activate()


def _onto_screen(widget: QWidget, size: QSize, screen: QRect, centre: bool = False) -> None:
    """Give ``widget`` (a window) ``size``, or less, and move it so that it lies on
    ``screen``, frame and all: centred with ``centre``, otherwise moved no more than
    that needs."""
    decoration = widget.frameGeometry().size() - widget.geometry().size()
    widget.resize(size.boundedTo(screen.size() - decoration))
    frame = widget.frameGeometry()
    if centre:
        frame.moveCenter(screen.center())
    else:
        frame.moveRight(min(frame.right(), screen.right()))
        frame.moveBottom(min(frame.bottom(), screen.bottom()))
        frame.moveLeft(max(frame.left(), screen.left()))
        frame.moveTop(max(frame.top(), screen.top()))
    widget.move(frame.topLeft())


def _restored(value: object, restore: Callable[[QByteArray | bytes], bool]) -> bool:
    """Whether ``restore`` took ``value`` (a stored byte array; anything else is refused)."""
    return isinstance(value, QByteArray | bytes) and bool(restore(value))


class WindowSettings(QObject):
    """Restores ``window``'s remembered layout and device, and keeps them up to date.

    Create it once the window has its docks (a dock layout names them) and transport.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        settings = window.settings
        geometry = settings.value(GEOMETRY_KEY)
        state = settings.value(STATE_KEY)
        # A damaged or hand-edited settings file may hold anything: what Qt cannot restore
        # counts as absent (a window that does not start is worse than a fresh layout).
        placed = _restored(geometry, window.restoreGeometry)
        docked = _restored(state, lambda value: window.restoreState(value, STATE_VERSION))
        if not (placed or docked):
            self._first_run_layout()
        device = str(settings.value(DEVICE_KEY, "") or "")
        if device and not window.transport.select_device(device):
            window.statusBar().showMessage(window.transport.devices.missing_notice(device),
                                           NOTICE_MS)
        window.transport.device_combo.activated.connect(self._device_chosen)
        for dock in (window.workspace.dock, window.workspace.haaqi_dock):
            dock.visibilityChanged.connect(lambda _shown, d=dock: self.fit_dock(d))
            # dragged back into the window: fitted once it is laid out there
            dock.topLevelChanged.connect(
                lambda _floating, d=dock: QTimer.singleShot(0, self, lambda: self.fit_dock(d)))

    def _first_run_layout(self) -> None:
        window = self.window
        screen = window.screen().availableGeometry()
        width = int(screen.width() * FIRST_RUN_SCREEN_SHARE)
        height = int(screen.height() * FIRST_RUN_SCREEN_SHARE)
        window.resize(width, height)  # centred once the docks are placed (below)
        spectra, haaqi = window.workspace.dock, window.workspace.haaqi_dock
        chrome = window.menuBar().sizeHint().height() + window.statusBar().sizeHint().height()
        place, room = spectra_placement(QSize(width, height - chrome),
                                        window.main_controls.sizeHint())
        if place == "beside":
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, spectra)
            window.splitDockWidget(spectra, haaqi, Qt.Orientation.Vertical)
            window.resizeDocks([spectra], [room], Qt.Orientation.Horizontal)
            window.resizeDocks([spectra, haaqi], [height * 2 // 3, height // 3],
                               Qt.Orientation.Vertical)
        else:
            # The HAAQI dock alone beside the controls: as wide as they leave it.
            leftover = width - window.main_controls.sizeHint().width() - SPLITTER_ROOM
            window.resizeDocks([haaqi], [max(leftover, haaqi.minimumSizeHint().width())],
                               Qt.Orientation.Horizontal)
            if place == "below":
                window.resizeDocks([spectra], [room], Qt.Orientation.Vertical)
            else:
                spectra.setVisible(False)
                window.statusBar().showMessage("The spectra are hidden on this small screen: "
                                               "View > Spectra shows them in a window of "
                                               "their own.", NOTICE_MS)
        # centred again, at the size its minimum allows (the share of a small screen may
        # be less), now that the docks are placed
        _lay_out(window)
        _onto_screen(window, window.size(), screen, centre=True)

    def fit_dock(self, dock: QDockWidget) -> None:
        """Float ``dock`` if, docked, it pushes the window past the screen or gets less
        room than it needs to be of use (the spectra: :data:`MIN_SPECTRA_WIDTH` beside
        the controls, :data:`MIN_SPECTRA_HEIGHT` above or below them)."""
        window = self.window
        if dock.isFloating() or not dock.isVisible() or not window.isVisible():
            return
        screen = window.screen().availableGeometry()
        _lay_out(window)  # the window's minimum size now counts the dock
        needed = window.minimumSize() + window.frameGeometry().size() - window.size()
        squeezed = False
        if dock is window.workspace.dock:
            beside = window.dockWidgetArea(dock) in (Qt.DockWidgetArea.LeftDockWidgetArea,
                                                     Qt.DockWidgetArea.RightDockWidgetArea)
            squeezed = (dock.width() < MIN_SPECTRA_WIDTH if beside
                        else dock.height() < MIN_SPECTRA_HEIGHT)
        if not squeezed and needed.width() <= screen.width() \
                and needed.height() <= screen.height():
            return
        dock.setFloating(True)
        _lay_out(window)  # and no longer does
        _onto_screen(window, window.size(), screen)
        wanted = dock.size()
        outer = dock.widget()
        # a scroll area asks for little: ask what it shows
        inner = outer.widget() if isinstance(outer, QScrollArea) else outer
        if outer is not None and inner is not None:  # with the dock's title bar and margins
            wanted += inner.sizeHint().expandedTo(inner.minimumSizeHint()) - outer.size()
        _onto_screen(dock, wanted, screen, centre=True)

    def _device_chosen(self, _row: int) -> None:
        self.window.settings.setValue(DEVICE_KEY, self.window.transport.device_name())

    def save(self) -> None:
        """Remember the geometry and dock layout (call before the window closes)."""
        self.window.settings.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        self.window.settings.setValue(STATE_KEY, self.window.saveState(STATE_VERSION))
