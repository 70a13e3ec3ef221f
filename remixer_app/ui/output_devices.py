"""Choosing the output device: the drop-down, listed afresh whenever it matters.

PortAudio reads the device list once, when it starts, so a device plugged in later is
only seen after :func:`~remixer_app.core.audio_device.rescan_devices`, which it allows
while no stream is open. The list is read again when the drop-down opens and before
playing on a closed stream, and the user's choice is kept by its label across readings
(indices change as devices come and go). The chooser also keeps the player's output
stream: it opens it on the choice, finds it stopped (a device unplugged mid-play) when
the transport's timer asks, and tells the status of it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from remixer_app.core.audio_device import OutputDevice, OutputPort, rescan_devices
from remixer_app.core.playback_probe import playback_status

NO_DEVICE_TEXT = "No output device"
NO_PLAYER_TEXT = "Nothing to play yet"
DEFAULT_DEVICE_TEXT = "Default output device"


class DeviceBox(QComboBox):
    """A combo box that says when its list is about to be shown."""

    popupAboutToShow = Signal()

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        """Let the list be filled afresh, then show it."""
        self.popupAboutToShow.emit()
        super().showPopup()


class OutputChooser(QObject):
    """The output-device drop-down (:attr:`combo`), the port it opens, and its status.

    :attr:`status_label` shows the port's status, or that there is nothing to play.

    Parameters
    ----------
    list_devices
        Gives every output device, as
        :func:`~remixer_app.core.audio_device.output_devices` does.
    playing
        Whether music is playing on the port (its stream is then never closed to
        read the device list afresh).
    parent
        Optional parent object.
    """

    #: The output's status sentence (:meth:`status`), whenever it changes.
    status_changed = Signal(str)

    def __init__(self, list_devices: Callable[[], list[OutputDevice]],
                 playing: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._list_devices = list_devices
        self._playing = playing
        self._port: OutputPort | None = None
        self._status = ""
        self._wanted = ""  # the label the user chose; empty for the default device
        self._devices: list[OutputDevice] = []  # as listed in the combo, from row 1
        self.combo = DeviceBox()
        self.combo.setAccessibleName("Output device")
        self.combo.setToolTip("Where the music plays; the list is read again when it opens")
        self.combo.activated.connect(self._chosen)
        self.combo.popupAboutToShow.connect(self._shown)
        self.status_label = QLabel(NO_PLAYER_TEXT)
        self.status_label.setAccessibleName("Playback status")
        self.status_label.setWordWrap(True)
        self._fill()

    def set_port(self, port: OutputPort | None) -> None:
        """Serve ``port`` (``None``: none), closing the one before; open it on the choice."""
        if self._port is not None and self._port is not port:
            self._port.close()
        self._port = port
        if port is not None and not port.available:
            port.open(self.device())
        self._publish()

    def status(self) -> str:
        """The port's :attr:`~OutputPort.status_message`; without one, the default's probe."""
        return self._status

    def refresh(self, port: OutputPort | None = None) -> None:
        """Read the device list afresh; ``port``, if open, is closed for it and reopened.

        Pass a port only when nothing is playing on it: PortAudio can re-read its
        devices only while no stream is open. Without one, an open stream keeps the
        list as PortAudio last read it.
        """
        reopen = port if port is not None and port.available else None
        if reopen is not None:
            reopen.close()
        rescan_devices()
        self._fill()
        if reopen is not None:
            reopen.open(self.device())

    def ensure_open(self) -> bool:
        """Whether the port can play, opening it on the choice (listed afresh) if closed.

        A stream that stopped by itself is found and closed first. When opening fails,
        :meth:`status` says why.
        """
        port = self._port
        if port is None:
            return False
        port.poll()
        if not port.available:
            self.refresh()
            port.open(self.device())
        self._publish()
        return port.available

    def watch(self) -> bool:
        """Whether the port's stream has just stopped by itself (the GUI timer asks).

        It is then closed, :meth:`status` says why, and the devices left are listed.
        """
        if self._port is None or not self._port.poll():
            return False
        self.refresh()
        self._publish()
        return True

    def device(self) -> int | None:
        """The chosen device's index; ``None`` for the default device (or none)."""
        data = self.combo.currentData()
        return None if data is None else int(data)

    def device_name(self) -> str:
        """The chosen device's label; empty for the default device (or none)."""
        return "" if self.device() is None else self.combo.currentText()

    def select(self, name: str) -> bool:
        """Choose the device labelled ``name`` (empty: the default); ``False`` if absent.

        An absent device stays the choice: listed again once plugged in, it is used.
        """
        self._wanted = name
        row = self._row_for(name)
        self.combo.setCurrentIndex(max(row, 0))
        self._open_choice()
        return row >= 0

    def missing_notice(self, name: str) -> str:
        """What to tell the user when the remembered device ``name`` is not listed."""
        if self.combo.count() > 1:
            return f"Output device {name!r} is not available; using the default output device."
        return f"Output device {name!r} is not available, and no other output device was found."

    def _fill(self) -> None:
        # Kept enabled without a device too, so that opening it looks again.
        devices = self._list_devices()
        self.combo.clear()
        self.combo.addItem(DEFAULT_DEVICE_TEXT if devices else NO_DEVICE_TEXT, None)
        self._devices = devices
        for device in devices:
            self.combo.addItem(device.label, device.number)
        self.combo.setCurrentIndex(max(0, self._row_for(self._wanted)))

    def _row_for(self, label: str) -> int:
        """The row of the device ``label`` names (0, the default, for ``""``; -1: none).

        Labels change as devices of the same name come and go, and an earlier version
        remembered bare names: a label not listed as it is finds the device that
        answers to it most closely (:meth:`~remixer_app.core.audio_device.OutputDevice.answers_to`).
        """
        if not label:
            return 0
        ranks = [device.answers_to(label) for device in self._devices]
        best = max(ranks, default=0)
        return 1 + ranks.index(best) if best else -1

    def _chosen(self, _row: int) -> None:
        self._wanted = self.device_name()
        self._open_choice()

    def _open_choice(self) -> None:
        if self._port is not None:
            self._port.open(self.device())
            self._publish()

    def _shown(self) -> None:
        # PortAudio re-reads its devices only with no stream open: an idle one is closed
        # for it and reopened, but music playing is not interrupted.
        idle = self._port is not None and not self._playing()
        self.refresh(self._port if idle else None)
        self._publish()

    def _publish(self) -> None:
        port = self._port
        self.status_label.setText(NO_PLAYER_TEXT if port is None else port.status_message)
        text = playback_status()[1] if port is None else port.status_message
        if text != self._status:
            self._status = text
            self.status_changed.emit(text)
