"""Separation through the stem cache: compute once per (audio, separator), then reopen."""

from __future__ import annotations

import numpy as np

from remixer_app.core.audio_io import TARGET_RATE
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressReport
from remixer_app.core.separation.cache import StemCache, cache_key
from remixer_app.core.separation.separator import Separator


def separate_cached(separator: Separator, mix: np.ndarray, *, cache: StemCache | None = None,
                    progress: ProgressCallback | None = None,
                    cancelled: CancelCheck | None = None
                    ) -> tuple[dict[str, np.ndarray], bool]:
    """The stems of a 44.1 kHz stereo float32 ``mix``, from the cache or freshly separated.

    Fresh stems stream into the cache window by window (so a long track is never whole
    in memory) and are returned memory-mapped from it.

    Returns
    -------
    stems, from_cache
        Read-only ``(frames, 2)`` float32 arrays by stem, and whether they were cached.

    Raises
    ------
    Cancelled
        The caller cancelled; nothing is left in the cache.
    RemixerError
        The cache folder cannot be written (e.g. a full disk).
    """
    cache = cache or StemCache()
    mix = np.ascontiguousarray(mix, dtype=np.float32)
    key = cache_key(mix, TARGET_RATE, separator.identity)
    stems = cache.get(key)
    if stems is not None:
        if progress is not None:
            progress(ProgressReport(1.0, 0.0, "opened from the cache"))
        return stems, True
    with cache.writer(key, len(mix), separator.stems, identity=separator.identity) as writer:
        separator.separate_into(mix, writer, progress=progress, cancelled=cancelled)
        return writer.commit(), False
