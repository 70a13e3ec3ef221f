"""Training batches, drawn ahead of the optimiser in worker processes when asked.

Batch ``k`` of a run is a pure function of the recipe's seed and ``k``: its random
generator is keyed by both. A run therefore sees the same batches however many workers
draw them, and a resumed run needs no stored generator state.

Drawing a batch of 16 three-second examples takes about 0.1 s of one core (mostly the
speed changes' resampling), longer than a GPU takes to learn from it; ``workers``
processes draw the next batches while the model trains on this one. Workers are forked
on Linux (the tracks are then shared, not copied) and spawned elsewhere (forking is
unsafe on macOS). The training process alone answers Ctrl-C; a worker ends when it
does, however it ended.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from remixer_app.core.errors import RemixerError
from remixer_app.training.augment import Augmentation, sample_batch
from remixer_app.training.data import Track

Batch = tuple[np.ndarray, np.ndarray]

#: What a worker process draws from, set once when it starts.
_SOURCE: tuple[Sequence[Track], int, int, Sequence[str], Augmentation] | None = None


def draw_batch(seed: int, step: int, tracks: Sequence[Track], batch: int, frames: int,
               sources: Sequence[str], aug: Augmentation) -> Batch:
    """The mixtures and targets of batch ``step`` (see
    :func:`remixer_app.training.augment.sample_batch`)."""
    return sample_batch(np.random.default_rng([seed, step]), tracks, batch, frames,
                        sources, aug)


class BatchWorkerError(RemixerError):
    """A batch-drawing process stopped (killed, or out of memory)."""


def _start_worker(tracks: Sequence[Track], batch: int, frames: int, sources: Sequence[str],
                  aug: Augmentation) -> None:
    global _SOURCE
    _SOURCE = (tracks, batch, frames, sources, aug)
    # A forked worker inherits the trainer's handlers: Ctrl-C would print "stopping
    # after this step" once per worker, and SIGTERM would not end it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker once the trainer is gone (killed, say, by the out-of-memory
    killer): nothing else would, and it holds a copy of the tracks."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _draw_in_worker(seed: int, step: int) -> Batch:
    assert _SOURCE is not None
    return draw_batch(seed, step, *_SOURCE)


class BatchStream:
    """The batches of one training stage, in step order, ``workers`` of them ahead.

    Use as a context manager: leaving it stops the workers.
    """

    def __init__(self, seed: int, tracks: Sequence[Track], batch: int, frames: int,
                 sources: Sequence[str], aug: Augmentation, workers: int = 0) -> None:
        self._seed = seed
        self._source = (tracks, batch, frames, list(sources), aug)
        self._ahead = 2 * workers
        self._pending: dict[int, Future[Batch]] = {}
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            self._pool = ProcessPoolExecutor(workers, multiprocessing.get_context(method),
                                             initializer=_start_worker, initargs=self._source)

    def batch(self, step: int) -> Batch:
        """Batch ``step``; asks the workers for the ones after it."""
        if self._pool is None:
            return draw_batch(self._seed, step, *self._source)
        for ahead in range(step, step + self._ahead + 1):
            if ahead not in self._pending:
                self._pending[ahead] = self._pool.submit(_draw_in_worker, self._seed, ahead)
        for old in [k for k in self._pending if k < step]:
            self._pending.pop(old).cancel()
        try:
            return self._pending.pop(step).result()
        except BrokenProcessPool as exc:
            raise BatchWorkerError(
                "a batch-drawing process stopped (killed, or out of memory): run the same "
                "command again to resume, with fewer --workers if memory is short") from exc

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
