"""Will a track fit in memory? Asked before the hearing aid is fitted to it.

The hearing-aid engine keeps every stem at full length in float64: NAL-R filtered
(float32 would round it beyond the recipe's tolerance), or for the multiband aid the
stems themselves (the render kernels are compiled for float64). It filters and measures
the stems one at a time and a chunk at a time, so fitting it holds little beyond them;
the player adds its own float32 copy of the stems and mixture, ``remixer render`` the
float64 output. At the peak that is about :data:`BYTES_PER_FRAME_STEM` bytes per frame
and stem plus :data:`BYTES_PER_FRAME`. Measured with tracemalloc on 60 s of 2, 4 and 5
random float32 stems, in bytes a frame (before the engine and the player stopped making
full-length float64 copies, in brackets):

* NAL-R engine: 33, 65, 81 (99, 163, 195); with the player: 58, 108, 133 (104, 184, 224)
* multiband engine: 32, 64, 80 (64, 128, 160); with the player: 88, 152, 184 (104, 184,
  224; its 30 s excerpt weighs more on a minute than on a long track)
* all of ``remixer render``, the loaded stems included: 77, 125, 149 (115, 195, 235)

The constants keep a margin of about a quarter over the largest of these. An hour of
four stems needs about 30 GB. Without this check a track too long for the machine ends
in the operating system's out-of-memory kill instead of a message.
"""

from __future__ import annotations

import os

from remixer_app.core.errors import AudioError

BYTES_PER_FRAME_STEM = 36
BYTES_PER_FRAME = 48
_GB = 1e9


def available_bytes() -> int | None:
    """Memory the system can give without swapping (Linux's ``MemAvailable``), else the
    free physical memory; ``None`` where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(frames: int, stems: int, rate: float) -> None:
    """Refuse, with the numbers, a track the hearing-aid engine would not fit in memory.

    Raises
    ------
    AudioError
        ``frames`` frames of ``stems`` stems need more than the available memory.
    """
    needed = frames * (BYTES_PER_FRAME_STEM * stems + BYTES_PER_FRAME)
    available = available_bytes()
    if available is None or needed <= available:
        return
    minutes = frames / rate / 60.0
    raise AudioError(
        f"this {minutes:.0f}-minute track of {stems} stems needs about {needed / _GB:.1f} GB "
        f"of memory for the hearing aid, and {available / _GB:.1f} GB are available: open "
        "a shorter excerpt (a movement, a song), or close other programs")
