"""Output devices and ports against a fake sounddevice: hot-plug, refusals, dying streams.

:class:`FakeSounddevice` is also the transport tests' sound card. Like PortAudio, it
lists the devices connected when it (re)started, not those plugged in since.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from remixer_app.core import audio_device, playback_probe
from remixer_app.core.audio_device import (
    BLOCK_SIZE,
    Feed,
    OutputPort,
    output_devices,
    rescan_devices,
)

RATE = 44100
HOST_APIS = ("MME", "Windows DirectSound", "Windows WASAPI", "ALSA")


class PortAudioError(Exception):
    pass


def device(index: int, name: str, *, channels: int = 2, hostapi: int = 3,
           rates: tuple[float, ...] = (), start_error: str = "") -> dict[str, Any]:
    """A device; ``rates``: all it accepts (empty: any, as a converting device)."""
    return {"index": index, "name": name, "hostapi": hostapi, "max_output_channels": channels,
            "default_samplerate": rates[0] if rates else 48000.0, "rates": rates,
            "start_error": start_error}


SPEAKERS = device(0, "Speakers")
HEADSET = device(4, "USB Headset")


class FakeStream:
    def __init__(self, info: dict[str, Any], **kwargs: Any) -> None:
        self.info, self.kwargs = info, kwargs
        self.calls: list[str] = []
        self.active = False

    def start(self) -> None:
        self.calls.append("start")
        if self.info["start_error"]:
            raise PortAudioError(self.info["start_error"])
        self.active = True

    def stop(self) -> None:
        self.calls.append("stop")
        if self.info.get("gone"):
            raise PortAudioError("Unanticipated host error: 'Device disconnected'")
        self.active = False

    def close(self) -> None:
        self.calls.append("close")
        self.active = False

    def pump(self, blocks: int = 1) -> np.ndarray:
        """Run the callback as the audio thread would; the last block it filled."""
        out = np.full((BLOCK_SIZE, self.kwargs["channels"]), np.nan, dtype=np.float32)
        for _ in range(blocks):
            self.kwargs["callback"](out, BLOCK_SIZE, None, None)
        return out

    def die(self) -> None:
        """The device is gone: no more callbacks, and PortAudio says the stream finished."""
        self.active = False
        self.kwargs["finished_callback"]()


class FakeSounddevice:
    """Devices, a default, PortAudio's frozen list, and the streams opened."""

    PortAudioError = PortAudioError

    def __init__(self, devices: list[dict[str, Any]], default: int | None = 0) -> None:
        self.connected = [dict(d) for d in devices]
        self.listed = [dict(d) for d in devices]
        self.default = default
        self.streams: list[FakeStream] = []
        self.restarts = 0

    def plug(self, info: dict[str, Any], default: bool = False) -> None:
        self.connected.append(dict(info))
        if default:
            self.default = info["index"]

    def unplug(self, index: int) -> None:
        self.connected = [d for d in self.connected if d["index"] != index]
        for listed in self.listed:  # PortAudio still lists it, but cannot reach it
            if listed["index"] == index:
                listed["gone"] = True
        for stream in self.streams:
            if stream.info["index"] == index and stream.active:
                stream.die()
        if self.default == index:
            self.default = self.connected[0]["index"] if self.connected else None

    def _terminate(self) -> None:
        assert not any(s.active for s in self.streams), "PortAudio stopped under a stream"

    def _initialize(self) -> None:
        self.restarts += 1
        self.listed = [dict(d) for d in self.connected]

    def _find(self, index: int | None) -> dict[str, Any]:
        index = self.default if index is None else index
        for info in self.listed:
            if info["index"] == index and not info.get("gone"):
                return info
        raise PortAudioError(f"Error querying device {-1 if index is None else index}")

    def query_devices(self, device: int | None = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return [dict(d) for d in self.listed]
        return dict(self._find(device))

    def query_hostapis(self, index: int) -> dict[str, Any]:
        return {"name": HOST_APIS[index]}

    def WasapiSettings(self, auto_convert: bool = False) -> Any:  # noqa: N802 - sounddevice's name
        return SimpleNamespace(auto_convert=auto_convert)

    def check_output_settings(self, device: int | None, channels: int, dtype: str,
                              samplerate: float, extra_settings: Any) -> None:
        info = self._find(device)
        if channels > info["max_output_channels"]:
            raise PortAudioError("Invalid number of channels [PaErrorCode -9998]")
        converts = getattr(extra_settings, "auto_convert", False)
        if info["rates"] and samplerate not in info["rates"] and not converts:
            raise PortAudioError("Invalid sample rate [PaErrorCode -9997]")

    def OutputStream(self, **kwargs: Any) -> FakeStream:  # noqa: N802 - sounddevice's name
        self.check_output_settings(kwargs["device"], kwargs["channels"], kwargs["dtype"],
                                   kwargs["samplerate"], kwargs.get("extra_settings"))
        self.streams.append(FakeStream(self._find(kwargs["device"]), **kwargs))
        return self.streams[-1]


def listed() -> list[tuple[int, str]]:
    """``(index, label)`` of each output device listed."""
    return [(d.number, d.label) for d in output_devices()]


def install(monkeypatch: pytest.MonkeyPatch, sd: FakeSounddevice) -> FakeSounddevice:
    """Make ``sd`` the sounddevice of the app (for this test)."""
    monkeypatch.setattr(playback_probe, "import_sounddevice", lambda: sd)
    return sd


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def stereo(outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
    """A stand-in for the player: left 1.0, right 0.5."""
    outdata[:frames] = (1.0, 0.5)


@pytest.fixture
def port() -> Iterator[OutputPort]:
    port = OutputPort(RATE, stereo)
    yield port
    port.close()  # no stream left open to keep PortAudio from re-reading its devices


# ---------------------------------------------------------------- a stream that stops


def test_an_unplugged_device_is_noticed_and_its_stream_closed(
        port: OutputPort, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS, HEADSET]))
    assert port.open(4) and port.poll() is False
    (stream,) = sd.streams
    stream.pump(3)
    sd.unplug(4)
    assert port.poll() is True
    assert not port.available
    assert port.status_message == ('Playback stopped: the output device "USB Headset" was '
                                   "disconnected. Choose another output device.")
    assert stream.calls[-1] == "close"  # although stop() failed: the device is gone
    assert port.poll() is False  # said once


def test_a_stream_stopped_behind_the_port_s_back_is_noticed(
        port: OutputPort, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS]))
    assert port.open()
    sd.streams[0].active = False  # as PortAudio reports it, with no finished callback
    assert port.poll() is True and "Playback stopped" in port.status_message


def test_a_stream_whose_callbacks_stop_coming_is_taken_for_dead(
        port: OutputPort, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(audio_device, "time", clock)
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS]))
    assert port.open()
    for _ in range(5):  # callbacks keep coming: alive however long it plays
        clock.now += audio_device.STALL_SECONDS * 0.9
        sd.streams[0].pump()
        assert port.poll() is False
    clock.now += audio_device.STALL_SECONDS * 1.1
    assert port.poll() is True
    assert port.status_message.startswith('Playback stopped: the output device "Speakers" '
                                          "stopped responding")


# ---------------------------------------------------------------- listing and re-listing


def test_same_named_devices_are_told_apart_by_their_host_api(
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = "Speakers (Realtek(R) Audio)"
    install(monkeypatch, FakeSounddevice([device(3, name, hostapi=0), device(8, name, hostapi=1),
                                          device(12, name, hostapi=2),
                                          device(13, "Headphones", hostapi=2)]))
    assert listed() == [(3, f"{name} (MME)"), (8, f"{name} (Windows DirectSound)"),
                        (12, f"{name} (Windows WASAPI)"), (13, "Headphones")]


def test_same_named_devices_of_one_host_api_are_numbered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeSounddevice([device(1, "USB Audio"), device(2, "USB Audio")]))
    assert listed() == [(1, "USB Audio (ALSA)"), (2, "USB Audio (ALSA) [2]")]
    first, second = output_devices()
    # A remembered label finds its device as labels change with the devices around it.
    assert second.answers_to("USB Audio (ALSA) [2]") == 3
    assert first.answers_to("USB Audio (ALSA) [2]") == 2  # the other one gone: [2] no more
    assert first.answers_to("USB Audio") == 1  # a bare name an earlier version remembered
    assert first.answers_to("USB Audio 2") == 0


def test_a_device_is_named_by_its_label(port: OutputPort,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeSounddevice([device(1, "Out", hostapi=0), device(2, "Out")]))
    assert port.open(2) and port.status_message == "Playback available: Out (ALSA)"


def test_portaudio_reads_the_devices_again_only_with_no_stream_open(
        port: OutputPort, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS]))
    sd.plug(HEADSET)
    assert listed() == [(0, "Speakers")]  # PortAudio's list, as it started
    assert port.open()
    assert rescan_devices() is False and sd.restarts == 0
    port.close()
    assert rescan_devices() is True and sd.restarts == 1
    assert listed() == [(0, "Speakers"), (4, "USB Headset")]


# ---------------------------------------------------------------- what a device accepts


def test_a_mono_device_plays_the_down_mix(port: OutputPort,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([device(3, "Hands-Free", channels=1)], 3))
    assert port.open(3) and port.status_message == "Playback available: Hands-Free (mono)"
    (stream,) = sd.streams
    assert stream.kwargs["channels"] == 1
    np.testing.assert_array_equal(stream.pump(2), np.full((BLOCK_SIZE, 1), 0.75, np.float32))


def test_the_down_mix_allocates_no_buffer() -> None:
    feed = Feed(stereo, channels=1)
    out = np.empty((BLOCK_SIZE, 1), dtype=np.float32)
    feed.run(out, BLOCK_SIZE, None, None)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(100):
            feed.run(out, BLOCK_SIZE, None, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Array views only: far below one block of samples.
    assert peak - base < out.nbytes // 2, f"the down-mix allocated {peak - base} bytes"
    assert feed.blocks == 101


def test_a_device_refusing_the_rate_is_named_with_what_to_do(
        port: OutputPort, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS, device(1, "USB DAC", rates=(48000.0,))]))
    assert port.open(1) is False
    assert port.status_message == (
        'Playback unavailable: the chosen output device "USB DAC" does not play at 44100 Hz, '
        "the rate of the music (it plays at 48000 Hz). Choose the default output device, "
        "which converts the rate.")
    assert sd.streams == []
    # The default device itself refusing cannot point to the default device.
    install(monkeypatch, FakeSounddevice([device(0, "HDA (hw:0,0)", rates=(48000.0,))]))
    assert port.open(None) is False
    assert port.status_message.endswith(
        "Choose another output device, or set the system's sound output to 44100 Hz.")


def test_windows_converts_the_rate_for_a_wasapi_device(
        port: OutputPort, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([device(5, "Speakers", hostapi=2,
                                                      rates=(48000.0,))], 5))
    assert port.open(5), port.status_message
    assert sd.streams[0].kwargs["extra_settings"].auto_convert is True


def test_a_stream_that_fails_to_start_is_closed(port: OutputPort,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    busy = device(4, "USB Headset", start_error="Device or resource busy [PaErrorCode -9985]")
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS, busy]))
    for _ in range(2):
        assert port.open(4) is False
    assert port.status_message == ('Playback unavailable: cannot start the chosen output '
                                   'device "USB Headset" (Device or resource busy '
                                   "[PaErrorCode -9985])")
    assert [s.calls for s in sd.streams] == [["start", "stop", "close"]] * 2
    assert rescan_devices() is True  # none was left open


def test_an_unplugged_device_cannot_be_opened(port: OutputPort,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sd = install(monkeypatch, FakeSounddevice([SPEAKERS, HEADSET]))
    sd.unplug(4)
    assert port.open(4) is False
    assert port.status_message.startswith(
        "Playback unavailable: the chosen output device is not connected")
