"""The first seconds of a track's stems, handed over while the rest is separated.

A separator writes its windows in order (:class:`~remixer_app.core.separation.separator.
StemSink`), a short first one then long ones; the default ensemble has the first 10 s
of a song in under 2 s on two cores.
:class:`PrefixSink` passes every window on and, once the first ``frames`` are in, gives
a copy of them to a callback, once: the app opens that much of the track for playing
and remixing while the separation goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from remixer_app.core.separation.separator import FIRST_WINDOW_S, StemSink

#: How much of a track is opened before the rest is separated: the separator's first
#: window, which it writes before the long ones that follow.
PREVIEW_SECONDS = FIRST_WINDOW_S
Stems = dict[str, np.ndarray]


class PrefixSink:
    """Forwards windows to ``sink``; hands the first ``frames`` of them to ``ready``.

    Parameters
    ----------
    sink
        Where the windows go (the stem cache's writer, or memory).
    frames
        How many frames to hand over; a track that ends first hands over nothing.
    ready
        Called once, on the separating thread, with a copy of each stem's first
        ``frames`` frames, (frames, 2) float32.
    """

    def __init__(self, sink: StemSink, frames: int, ready: Callable[[Stems], None]) -> None:
        self._sink = sink
        self._frames = frames
        self._ready: Callable[[Stems], None] | None = ready
        self._parts: list[Stems] = []

    def write(self, start: int, chunk: Mapping[str, np.ndarray]) -> None:
        """Pass ``chunk`` on; keep what of it lies in the prefix (windows come in order)."""
        self._sink.write(start, chunk)
        if self._ready is None:
            return
        wanted = self._frames - start
        self._parts.append({name: np.array(data[:wanted], np.float32)
                            for name, data in chunk.items()})
        if wanted <= len(next(iter(chunk.values()))):
            ready, self._ready = self._ready, None
            parts, self._parts = self._parts, []
            ready({name: np.concatenate([part[name] for part in parts])
                   for name in parts[0]})
