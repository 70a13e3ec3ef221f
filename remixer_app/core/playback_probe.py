"""Whether audio playback can work on this machine, and if not, why.

Playback goes through sounddevice, which loads the PortAudio C library when it is
imported. On a machine without PortAudio (or without a sound card) the app must
still start and tell the user why it cannot play, so the probe turns every failure
into a short sentence instead of an exception. It is Qt-free so that the GUI's
status bar and the CLI report the same thing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

AVAILABLE_PREFIX = "Playback available"
UNAVAILABLE_PREFIX = "Playback unavailable"


def import_sounddevice() -> ModuleType:
    """Import sounddevice (loads PortAudio); the one place it is loaded.

    Callers elsewhere call it through this module, so tests stand in a fake module
    for all of them by setting it here.
    """
    return importlib.import_module("sounddevice")


def playback_status() -> tuple[bool, str]:
    """Check whether audio can be played and describe the outcome in one sentence.

    Returns
    -------
    available : bool
        ``True`` when PortAudio loads and a default output device exists.
    message : str
        ``"Playback available: <device>"``, or ``"Playback unavailable: <reason>"``
        such as ``"PortAudio library not found"`` or ``"no output device"``.

    Notes
    -----
    Never raises: any failure of the audio stack means "unavailable", and the
    reason is what the user needs to see.
    """
    try:
        sd = import_sounddevice()
    except OSError as exc:
        # sounddevice raises OSError("PortAudio library not found") when libportaudio is
        # missing, or the loader's own message when the library is present but broken.
        return False, f"{UNAVAILABLE_PREFIX}: {exc}"
    except ImportError:
        return False, f"{UNAVAILABLE_PREFIX}: the sounddevice package is not installed"
    except Exception as exc:  # a broken install can fail in many ways; none may stop the app
        return False, f"{UNAVAILABLE_PREFIX}: sounddevice cannot be loaded ({exc})"

    try:
        device = sd.query_devices(kind="output")
    except Exception:
        # PortAudioError ("Error querying device -1") means there is no default output.
        return False, f"{UNAVAILABLE_PREFIX}: no output device"
    try:
        channels = int(device["max_output_channels"])
        name = str(device["name"])
    except (KeyError, TypeError, ValueError):
        return False, f"{UNAVAILABLE_PREFIX}: no output device"
    if channels < 1:
        return False, f"{UNAVAILABLE_PREFIX}: no output device"
    return True, f"{AVAILABLE_PREFIX}: {name}"
