"""Rendering one part with FluidSynth and a General MIDI soundfont.

Each part becomes its own standard MIDI file (one channel, one program) and is
rendered alone, so every instrument lands on its own stem. FluidSynth's own reverb
and chorus are off: the room is added later, the same for every stem of a scene.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from remixer_app.core.errors import RemixerError
from remixer_app.training.classical.scores import Part

RATE = 44100
TICKS_PER_SECOND = 960           # 480 ticks per quarter at 120 quarters per minute
SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
              Path("/usr/share/sounds/sf2/default-GM.sf2"))
INSTALL_HINT = "on Debian/Ubuntu: sudo apt-get install fluidsynth fluid-soundfont-gm"

#: General MIDI program (0-based) and playable range (MIDI notes) of each instrument.
GM_INSTRUMENTS: dict[str, tuple[int, int, int]] = {
    "bassoon": (70, 34, 75), "cello": (42, 36, 76), "clarinet": (71, 50, 91),
    "flute": (73, 60, 96), "oboe": (68, 58, 91), "saxophone": (65, 49, 81),
    "viola": (41, 48, 88), "violin": (40, 55, 100),
}


def find_soundfont() -> Path:
    """``REMIXER_SOUNDFONT`` if set, else the Debian General MIDI soundfont."""
    given = os.environ.get("REMIXER_SOUNDFONT")
    candidates = (Path(given),) if given else SOUNDFONTS
    for path in candidates:
        if path.is_file():
            return path
    raise RemixerError(f"no General MIDI soundfont at {', '.join(map(str, candidates))}; "
                       f"{INSTALL_HINT}, or set REMIXER_SOUNDFONT to a .sf2 file")


def find_fluidsynth() -> str:
    found = shutil.which("fluidsynth")
    if found is None:
        raise RemixerError(f"the fluidsynth program is not installed; {INSTALL_HINT}")
    return found


def _var(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(part: Part, program: int, transpose: int = 0, velocity_scale: float = 1.0
               ) -> bytes:
    """A format-0 standard MIDI file playing ``part`` on channel 0 with ``program``."""
    events: list[tuple[int, int, bytes]] = []  # (tick, order: offs first, message)
    for onset, length, pitch, velocity in part.notes:
        key = min(127, max(0, pitch + transpose))
        vel = min(127, max(1, round(velocity * velocity_scale)))
        start = round(onset * TICKS_PER_SECOND)
        end = max(start + 1, round((onset + length) * TICKS_PER_SECOND) - 1)
        events.append((start, 1, bytes((0x90, key, vel))))
        events.append((end, 0, bytes((0x80, key, 0))))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(b"\x00\xff\x51\x03" + (500000).to_bytes(3, "big"))  # 120 qpm
    track += b"\x00" + bytes((0xC0, program))
    now = 0
    for tick, _, message in events:
        track += _var(tick - now) + message
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def render_part(part: Part, instrument: str, frames: int, *, transpose: int = 0,
                velocity_scale: float = 1.0, soundfont: Path | None = None) -> np.ndarray:
    """``part`` played by ``instrument`` as mono float32, exactly ``frames`` long."""
    program = GM_INSTRUMENTS[instrument][0]
    font = soundfont or find_soundfont()
    with tempfile.TemporaryDirectory(prefix="remixer-synth-") as tmp:
        midi = Path(tmp) / "part.mid"
        wav = Path(tmp) / "part.wav"
        midi.write_bytes(midi_bytes(part, program, transpose, velocity_scale))
        cmd = [find_fluidsynth(), "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5",
               "-r", str(RATE), "-F", str(wav), str(font), str(midi)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.is_file():
            raise RemixerError(f"fluidsynth failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[:300]}")
        audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    if rate != RATE:
        raise RemixerError(f"fluidsynth wrote {rate} Hz, not {RATE}")
    mono = audio.mean(axis=1)
    out = np.zeros(frames, np.float32)
    out[:min(frames, len(mono))] = mono[:frames]
    return out
