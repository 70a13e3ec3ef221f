"""Will a track fit in memory? Asked before the hearing aid is fitted to it.

The hearing-aid engine keeps every stem at full length, NAL-R filtered, in float64, and
fitting it passes through copies of them: at its peak it holds about
:data:`BYTES_PER_FRAME_STEM` bytes per frame and stem plus :data:`BYTES_PER_FRAME`
(measured with tracemalloc on 60 s of 2, 4 and 5 stems: 80, 179 and 176 bytes a
frame for the engine, 104, 184 and 224 with the player's loudness model; a 10-minute
track rendered by ``remixer render`` peaked at 4.6 GB). An hour of four stems needs
about 38 GB. Without this check a track too long for the machine ends in the
operating system's out-of-memory kill instead of a message.
"""

from __future__ import annotations

import os

from remixer_app.core.errors import AudioError

BYTES_PER_FRAME_STEM = 48
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
