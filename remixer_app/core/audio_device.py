"""Output devices and streams: listing the devices, opening a stream on one, closing it.

Everything goes through :func:`~remixer_app.core.playback_probe.import_sounddevice`,
the one place sounddevice (and with it PortAudio) is loaded, and nothing here raises:
without PortAudio, without a device or with a busy one, playback is unavailable and
the returned message says why, worded like
:func:`~remixer_app.core.playback_probe.playback_status`, naming the device by the
label :func:`output_devices` gives it.
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

# The module, not the function: a fake that tests set on it must be seen here too.
from remixer_app.core import playback_probe
from remixer_app.core.playback_probe import AVAILABLE_PREFIX, UNAVAILABLE_PREFIX, playback_status

BLOCK_SIZE = 1024          # frames per device callback
STALL_SECONDS = 2.0        # an open stream without a callback for this long has died
NO_STREAM_MESSAGE = f"{UNAVAILABLE_PREFIX}: no output stream open"
STOPPED_PREFIX = "Playback stopped"
_NUMBER = re.compile(r" \[\d+\]$")  # a label's number, as _listed writes it
# PortAudio's text for paInvalidSampleRate, in the message of the PortAudioError.
_RATE_REFUSED = "Invalid sample rate"

# Ports with a stream open: PortAudio cannot re-read its device list under them.
_open_ports: weakref.WeakSet[OutputPort] = weakref.WeakSet()


class OutputDevice(NamedTuple):
    """An output device as :func:`output_devices` lists it.

    ``label`` is its name, followed by its host API where several devices share the
    name (Windows lists each device once per host API), and numbered (`` [2]``) where
    even that leaves two alike: labels are unique, so a remembered label finds its device.
    """

    number: int  # PortAudio's device index
    label: str
    name: str
    host: str

    def answers_to(self, label: str) -> int:
        """How closely a remembered ``label`` names this device: 3 it is its label; 2 its
        name and host API, the number come or gone with a device of the same name; 1 its
        name alone, the host API come or gone so (or a bare name an earlier version of
        the app remembered); 0 it does not."""
        if label == self.label:
            return 3
        unnumbered = _NUMBER.sub("", label)
        if self.host and unnumbered == f"{self.name} ({self.host})":
            return 2
        return int(unnumbered == self.name)


def output_devices() -> list[OutputDevice]:
    """Every output device; empty when there is none. Never raises."""
    try:
        return _listed(playback_probe.import_sounddevice())
    except Exception:  # no PortAudio, a broken install: both mean "no devices"
        return []


def rescan_devices() -> bool:
    """Make PortAudio list the devices afresh (it reads them once, when it starts).

    Only while no stream is open, since restarting PortAudio closes every stream;
    ``False`` when one is, or when sounddevice cannot restart it. Never raises.
    """
    if _open_ports:
        return False
    try:
        sd = playback_probe.import_sounddevice()
        # python-sounddevice's own way to restart it (its issues #47 and #125)
        terminate, initialize = sd._terminate, sd._initialize
    except Exception:  # no PortAudio, or a stand-in without a device list to re-read
        return False
    # Not running (an earlier restart failed to start it): starting it is still right.
    with contextlib.suppress(Exception):
        terminate()
    try:
        initialize()
    except Exception:
        return False
    return True


class Feed:
    """A stream's callback: the port's, down-mixed for a mono device, and signs of life.

    The audio thread runs :meth:`run` and :meth:`finish`; they only write
    :attr:`blocks` and :attr:`finished`, which the GUI thread reads.

    Parameters
    ----------
    callback
        The stereo callback (sounddevice's signature).
    channels
        The stream's channels: 2, or 1 for a mono device.
    """

    def __init__(self, callback: Callable[..., None], channels: int) -> None:
        self._callback = callback
        # PortAudio keeps every block at BLOCK_SIZE frames (a fixed blocksize), so one
        # stereo block made here is all a down-mix needs.
        self._stereo = np.zeros((BLOCK_SIZE, 2), dtype=np.float32) if channels == 1 else None
        self.blocks = 0
        self.finished = False

    def run(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """Fill ``outdata`` (audio thread; allocates no buffers)."""
        self.blocks += 1
        if self._stereo is None:
            self._callback(outdata, frames, time, status)
            return
        stereo, mono = self._stereo[:frames], outdata[:, 0]
        self._callback(stereo, frames, time, status)
        np.add(stereo[:, 0], stereo[:, 1], out=mono)
        mono *= 0.5

    def finish(self) -> None:
        """sounddevice's ``finished_callback``: the stream has stopped (audio thread)."""
        self.finished = True


class OutputPort:
    """One output stream at a time for ``callback``, and the status a UI shows of it.

    Parameters
    ----------
    rate
        Sample rate in Hz.
    callback
        sounddevice's output callback for stereo ``(frames, 2)`` blocks of
        :data:`BLOCK_SIZE` frames (a mono device gets their down-mix).
    """

    def __init__(self, rate: float, callback: Callable[..., None]) -> None:
        self._rate = rate
        self._callback = callback
        self._stream: Any = None
        self._feed: Feed | None = None
        self._label = ""
        self._blocks_seen = 0
        self._heard_at = 0.0
        self.available = False
        self.status_message = NO_STREAM_MESSAGE

    def open(self, device: int | None = None) -> bool:
        """Open and start a float32 stream (closing any open one); ``False`` on failure.

        ``device`` is a device index; ``None`` for the default output device, which is
        probed first. The stream is stereo, or mono on a one-channel device. On WASAPI
        it lets Windows convert the rate. :attr:`status_message` then reads
        ``"Playback available: <device>"`` or ``"Playback unavailable: <reason>"``.
        """
        self.close()
        if device is None:
            ok, message = playback_status()
            if not ok:
                return self._report(None, message)
        what = "the default output device" if device is None else "the chosen output device"
        try:
            sd = playback_probe.import_sounddevice()
            info = sd.query_devices(device, kind="output")
            label = next((d.label for d in _listed(sd) if d.number == int(info["index"])),
                         str(info["name"]))
        except Exception as exc:  # unplugged since it was listed, or PortAudio broke
            return self._report(None, f"{UNAVAILABLE_PREFIX}: {what} is not connected ({exc})")
        what = f'{what} "{label}"'
        channels = min(2, int(info["max_output_channels"]))
        settings = dict(device=device, channels=channels, dtype="float32",
                        samplerate=self._rate, extra_settings=_wasapi_settings(sd, info))
        try:
            sd.check_output_settings(**settings)
        except Exception as exc:
            return self._report(None, _refusal(what, self._rate, info, exc, device is None))
        feed = Feed(self._callback, channels)
        try:
            stream = sd.OutputStream(blocksize=BLOCK_SIZE, callback=feed.run,
                                     finished_callback=feed.finish, **settings)
        except Exception as exc:  # PortAudioError, OSError: all "unavailable"
            return self._report(None, f"{UNAVAILABLE_PREFIX}: cannot open {what} ({exc})")
        try:
            stream.start()
        except Exception as exc:  # busy: the stream exists, and must not be left open
            _shut(stream)
            return self._report(None, f"{UNAVAILABLE_PREFIX}: cannot start {what} ({exc})")
        self._feed, self._label = feed, label
        self._blocks_seen, self._heard_at = 0, time.monotonic()
        mono = " (mono)" if channels == 1 else ""
        return self._report(stream, f"{AVAILABLE_PREFIX}: {label}{mono}")

    def poll(self) -> bool:
        """Close a stream that stopped by itself; ``True`` when this call did (GUI timer).

        A stream stops when its device is unplugged (PortAudio reports it inactive, or
        calls it finished) or is stopped behind the port's back; one whose callbacks
        have not come for :data:`STALL_SECONDS` is taken for dead as well.
        :attr:`status_message` then says so and asks for another device.
        """
        stream, feed = self._stream, self._feed
        if stream is None or feed is None:
            return False
        now = time.monotonic()
        if feed.blocks != self._blocks_seen:
            self._blocks_seen, self._heard_at = feed.blocks, now
        try:
            ended = feed.finished or not stream.active
        except Exception:  # a stream PortAudio no longer knows has ended too
            ended = True
        if not ended and now - self._heard_at <= STALL_SECONDS:
            return False
        label = self._label
        self.close()
        why = "was disconnected" if ended else "stopped responding"
        self.status_message = (f'{STOPPED_PREFIX}: the output device "{label}" {why}. '
                               "Choose another output device.")
        return True

    def close(self) -> None:
        """Stop and close the stream, if open (GUI thread; never from its callback)."""
        stream, self._stream, self._feed = self._stream, None, None
        if stream is None:
            return
        problem = _shut(stream)
        self._report(None, NO_STREAM_MESSAGE if problem is None
                     else f"{UNAVAILABLE_PREFIX}: output stream failed ({problem})")

    def _report(self, stream: Any, message: str) -> bool:
        self._stream = stream
        self.available, self.status_message = stream is not None, message
        if stream is None:
            _open_ports.discard(self)
        else:
            _open_ports.add(self)
        return self.available


def _listed(sd: Any) -> list[OutputDevice]:
    """Every output device, labelled (see :class:`OutputDevice`)."""
    outputs = [d for d in sd.query_devices() if int(d["max_output_channels"]) > 0]
    names = Counter(str(d["name"]) for d in outputs)
    listed: list[OutputDevice] = []
    taken: Counter[str] = Counter()
    for device in outputs:
        name, host = str(device["name"]), _host_api(sd, device)
        label = f"{name} ({host})" if names[name] > 1 and host else name
        taken[label] += 1
        if taken[label] > 1:
            label = f"{label} [{taken[label]}]"
        listed.append(OutputDevice(int(device["index"]), label, name, host))
    return listed


def _host_api(sd: Any, device: Any) -> str:
    """The name of ``device``'s host API ("MME", "Windows WASAPI"); empty if unknown."""
    try:
        return str(sd.query_hostapis(int(device["hostapi"]))["name"])
    except Exception:  # an older or stand-in sounddevice: the label gets a number instead
        return ""


def _wasapi_settings(sd: Any, info: Any) -> Any:
    """WASAPI settings that let Windows convert the rate; ``None`` elsewhere."""
    if "WASAPI" not in _host_api(sd, info):
        return None
    try:
        return sd.WasapiSettings(auto_convert=True)
    except Exception:  # a sounddevice without auto_convert: the rate check tells
        return None


def _refusal(what: str, rate: float, info: Any, exc: Exception, default: bool) -> str:
    """Why ``what`` cannot play, and what to do, from the error of a settings check
    (``default``: it is the default device, which cannot be pointed to as the way out)."""
    if _RATE_REFUSED not in str(exc):
        return f"{UNAVAILABLE_PREFIX}: cannot open {what} ({exc})"
    native = float(info["default_samplerate"])
    remedy = ("Choose another output device, or set the system's sound output to "
              f"{rate:g} Hz" if default else
              "Choose the default output device, which converts the rate")
    return (f"{UNAVAILABLE_PREFIX}: {what} does not play at {rate:g} Hz, the rate of the "
            f"music (it plays at {native:g} Hz). {remedy}.")


def _shut(stream: Any) -> str | None:
    """Stop and close ``stream``, closing it even when stopping fails; the error, if any."""
    problem: str | None = None
    try:
        stream.stop()
    except Exception as exc:  # a device unplugged mid-play: closing must still happen
        problem = str(exc)
    try:
        stream.close()
    except Exception as exc:
        problem = problem or str(exc)
    return problem
