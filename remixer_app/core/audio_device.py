"""Output devices and streams: listing the devices, opening a stream on one, closing it.

Everything goes through :func:`~remixer_app.core.playback_probe.import_sounddevice`,
the one place sounddevice (and with it PortAudio) is loaded, and nothing here raises:
without PortAudio, without a device or with a busy one, playback is unavailable and
the returned message says why, worded like
:func:`~remixer_app.core.playback_probe.playback_status`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The module, not the function: a fake that tests set on it must be seen here too.
from remixer_app.core import playback_probe
from remixer_app.core.playback_probe import AVAILABLE_PREFIX, UNAVAILABLE_PREFIX, playback_status

BLOCK_SIZE = 1024          # frames per device callback
NO_STREAM_MESSAGE = f"{UNAVAILABLE_PREFIX}: no output stream open"


def output_devices() -> list[tuple[int, str]]:
    """``(index, name)`` of every output device; empty when there is none. Never raises."""
    try:
        devices = playback_probe.import_sounddevice().query_devices()
        return [(int(d["index"]), str(d["name"])) for d in devices
                if int(d["max_output_channels"]) > 0]
    except Exception:  # no PortAudio, a broken install: both mean "no devices"
        return []


class OutputPort:
    """One output stream at a time for ``callback``, and the status a UI shows of it.

    Parameters
    ----------
    rate
        Sample rate in Hz.
    callback
        sounddevice's output callback; it gets blocks of :data:`BLOCK_SIZE` frames.
    """

    def __init__(self, rate: float, callback: Callable[..., None]) -> None:
        self._rate = rate
        self._callback = callback
        self._stream: Any = None
        self.available = False
        self.status_message = NO_STREAM_MESSAGE

    def open(self, device: int | str | None = None) -> bool:
        """Open and start a stereo float32 stream (closing any open one); ``False`` on failure.

        ``device`` is a device index or name; ``None`` for the default output device,
        which is probed first. :attr:`status_message` then reads
        ``"Playback available: <device>"`` or ``"Playback unavailable: <reason>"``.
        """
        self.close()
        if device is None:
            ok, message = playback_status()
            if not ok:
                return self._report(None, message)
        try:
            sd = playback_probe.import_sounddevice()
            stream = sd.OutputStream(samplerate=self._rate, channels=2, dtype="float32",
                                     blocksize=BLOCK_SIZE, device=device,
                                     callback=self._callback)
            stream.start()
            name = str(sd.query_devices(stream.device)["name"])
        except Exception as exc:  # PortAudioError, OSError, a bad index: all "unavailable"
            what = "the default output device" if device is None else f"device {device!r}"
            return self._report(None, f"{UNAVAILABLE_PREFIX}: cannot open {what} ({exc})")
        return self._report(stream, f"{AVAILABLE_PREFIX}: {name}")

    def close(self) -> None:
        """Stop and close the stream, if open (GUI thread; never from its callback)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        message = NO_STREAM_MESSAGE
        try:
            stream.stop()
            stream.close()
        except Exception as exc:  # a device unplugged mid-play: closing must still succeed
            message = f"{UNAVAILABLE_PREFIX}: output stream failed ({exc})"
        self._report(None, message)

    def _report(self, stream: Any, message: str) -> bool:
        self._stream = stream
        self.available, self.status_message = stream is not None, message
        return self.available
