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


def open_output_stream(rate: float, callback: Callable[..., None],
                       device: int | str | None = None) -> tuple[Any, str]:
    """Open and start a stereo float32 output stream filled by ``callback``.

    Parameters
    ----------
    rate
        Sample rate in Hz.
    callback
        sounddevice's output callback; it gets blocks of :data:`BLOCK_SIZE` frames.
    device
        A device index or name; ``None`` for the default output device, which is
        probed first.

    Returns
    -------
    stream
        The started stream, or ``None`` when it could not be opened.
    message
        ``"Playback available: <device>"``, or ``"Playback unavailable: <reason>"``.
    """
    if device is None:
        ok, message = playback_status()
        if not ok:
            return None, message
    try:
        sd = playback_probe.import_sounddevice()
        stream = sd.OutputStream(samplerate=rate, channels=2, dtype="float32",
                                 blocksize=BLOCK_SIZE, device=device, callback=callback)
        stream.start()
        name = str(sd.query_devices(stream.device)["name"])
    except Exception as exc:  # PortAudioError, OSError, a bad index: all "unavailable"
        what = "the default output device" if device is None else f"device {device!r}"
        return None, f"{UNAVAILABLE_PREFIX}: cannot open {what} ({exc})"
    return stream, f"{AVAILABLE_PREFIX}: {name}"


def close_output_stream(stream: Any) -> str:
    """Stop and close ``stream`` (GUI thread; never from its callback); the status after."""
    try:
        stream.stop()
        stream.close()
    except Exception as exc:  # a device unplugged mid-play: closing must still succeed
        return f"{UNAVAILABLE_PREFIX}: output stream failed ({exc})"
    return NO_STREAM_MESSAGE
