"""Times as the user reads them: ``m:ss``, or ``h:mm:ss`` from one hour on.

Every time the window shows (a track's length, the playhead, the time a job has left)
goes through :func:`format_duration`, so two places showing the same length agree.
Times are rounded down to the whole second, as media players count them: the playhead
never reads as the end of the track before playback gets there.
"""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """``seconds`` as ``m:ss``, or ``h:mm:ss`` from one hour on.

    Parameters
    ----------
    seconds
        A duration or position; rounded down to the second, negative values read 0.

    Returns
    -------
    str
        For example ``"0:06"`` for 6.97 s and ``"1:02:03"`` for 3723 s.
    """
    hours, rest = divmod(max(0, math.floor(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
