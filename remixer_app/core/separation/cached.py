"""Separation through the stem cache: compute once per (audio, separator), then reopen."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.atomic import existing_ancestor
from remixer_app.core.audio_io import TARGET_RATE
from remixer_app.core.progress import (
    CancelCheck,
    ProgressCallback,
    ProgressReport,
    check_cancelled,
)
from remixer_app.core.separation.cache import StemCache, cache_key
from remixer_app.core.separation.cache_writer import CacheWriteError
from remixer_app.core.separation.preview import PrefixSink, Stems
from remixer_app.core.separation.separator import ArraySink, Separator, StemSink

log = logging.getLogger(__name__)

SPARE_BYTES = 256 * 2**20  #: disk space left free for everything else when caching
Preview = tuple[int, Callable[[Stems], None]]  #: frames wanted, who gets them


@dataclass(frozen=True)
class CachedStems:
    """What :func:`separate_cached` gives.

    Attributes
    ----------
    stems
        Read-only memory-mapped ``(frames, 2)`` float32 arrays by stem (plain arrays
        when the cache could not take them).
    from_cache
        Whether they were cached before.
    warning
        Why the stems are not cached, or an empty string.
    """

    stems: dict[str, np.ndarray]
    from_cache: bool
    warning: str = ""


def separate_cached(separator: Separator, mix: np.ndarray, *, cache: StemCache | None = None,
                    progress: ProgressCallback | None = None,
                    cancelled: CancelCheck | None = None,
                    preview: Preview | None = None) -> CachedStems:
    """The stems of a 44.1 kHz stereo float32 ``mix``, from the cache or freshly separated.

    Fresh stems stream into the cache window by window (so a long track is never whole
    in memory) and are returned memory-mapped from it; the cache is then pruned to its
    ``max_bytes``, least recently used entries first. A cache that cannot take them (too
    little free space before starting, a folder that cannot be written, a disk that
    fills meanwhile) never stops the separation: the stems are then kept in memory
    (separated again from the start when the cache failed on the way) and
    :attr:`CachedStems.warning` says why.

    ``preview`` is ``(frames, ready)``: a fresh separation hands a copy of the stems'
    first ``frames`` frames to ``ready`` once they are separated (once, even if the
    cache fails and the separation starts over; not at all from the cache).

    Raises
    ------
    Cancelled
        The caller cancelled; nothing is left in the cache.
    """
    cache = cache or StemCache()
    mix = np.ascontiguousarray(mix, dtype=np.float32)
    key = cache_key(mix, TARGET_RATE, separator.identity)
    check_cancelled(cancelled)  # hashing and verifying a long track take seconds each
    stems = cache.get(key)
    if stems is not None:
        if progress is not None:
            progress(ProgressReport(1.0, 0.0, "opened from the cache"))
        return CachedStems(stems, True)
    check_cancelled(cancelled)
    sink = _previewing(preview)
    needed = mix.shape[0] * 2 * 4 * len(separator.stems)
    if _free_bytes(cache.root) < needed + SPARE_BYTES:
        reason = (f"not enough disk space to save the separated stems in the cache folder "
                  f"{cache.root} ({needed / 2**20:.0f} MB needed)")
    else:
        done = _Progress(progress)
        try:
            with cache.writer(key, len(mix), separator.stems,
                              identity=separator.identity) as writer:
                separator.separate_into(mix, sink(writer), progress=done, cancelled=cancelled)
                stems = writer.commit()
        except CacheWriteError as exc:
            reason = str(exc)
            progress = done.rest
        else:
            _prune(cache, key)
            return CachedStems(stems, False)
    log.info("%s; separating without the cache", reason)  # the caller warns the user
    memory = ArraySink(len(mix), separator.stems)
    separator.separate_into(mix, sink(memory), progress=progress, cancelled=cancelled)
    return CachedStems(memory.stems, False,
                       f"{reason}: the stems are kept in memory only and will be separated "
                       "again next time")


def _previewing(preview: Preview | None) -> Callable[[StemSink], StemSink]:
    """Wraps a sink to hand ``preview``'s prefix over, once across every sink wrapped."""
    if preview is None:
        return lambda sink: sink
    frames, ready = preview
    pending = [ready]

    def once(stems: Stems) -> None:
        if pending:
            pending.pop()(stems)

    return lambda sink: PrefixSink(sink, frames, once)


class _Progress:
    """Forwards progress and remembers how far it got, so a second run can go on from there."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self._progress = progress
        self._fraction = 0.0

    def __call__(self, report: ProgressReport) -> None:
        self._fraction = report.fraction
        if self._progress is not None:
            self._progress(report)

    def rest(self, report: ProgressReport) -> None:
        """Report a run started over in the part of the bar not yet filled."""
        if self._progress is not None:
            start = self._fraction
            self._progress(ProgressReport(start + (1.0 - start) * report.fraction,
                                          report.eta_s, report.message))


def _prune(cache: StemCache, key: str) -> None:
    try:
        freed = cache.prune(cache.max_bytes, keep=key)
    except OSError as exc:  # a cache that cannot be pruned now still works
        log.warning("could not prune the stem cache %s: %s", cache.root, exc)
        return
    if freed:
        log.info("pruned %.0f MB of least recently used stems from %s", freed / 2**20,
                 cache.root)


def _free_bytes(folder: Path) -> int:
    """Free space where ``folder`` is or would be created (its nearest existing parent)."""
    where = existing_ancestor(folder)
    try:
        return 0 if where is None else shutil.disk_usage(where).free
    except OSError:
        return 0
