"""What the main window remembers between runs: geometry, dock layout, output device.

Geometry and the dock layout are saved when the window closes. The output device is
saved when the user picks one, not at close: a remembered device that is unplugged
for one run must not be forgotten because the app fell back to the default meanwhile.
The device is remembered by name, because device indices change as devices come and go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
DEVICE_KEY = "audio/device"
#: Bumped when the docks change, so Qt ignores a layout saved for other docks.
STATE_VERSION = 1
NOTICE_MS = 15000


class WindowSettings(QObject):
    """Restores ``window``'s remembered layout and device, and keeps them up to date.

    Create it once the window has its docks (a dock layout names them) and transport.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        settings = window.settings
        geometry = settings.value(GEOMETRY_KEY)
        if geometry is not None:
            window.restoreGeometry(geometry)
        state = settings.value(STATE_KEY)
        if state is not None:
            window.restoreState(state, STATE_VERSION)
        device = str(settings.value(DEVICE_KEY, "") or "")
        if device and not window.transport.select_device(device):
            window.statusBar().showMessage(
                f"Output device {device!r} is not available; using the default output device.",
                NOTICE_MS)
        window.transport.device_combo.activated.connect(self._device_chosen)

    def _device_chosen(self, _row: int) -> None:
        self.window.settings.setValue(DEVICE_KEY, self.window.transport.device_name())

    def save(self) -> None:
        """Remember the geometry and dock layout (call before the window closes)."""
        self.window.settings.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        self.window.settings.setValue(STATE_KEY, self.window.saveState(STATE_VERSION))
