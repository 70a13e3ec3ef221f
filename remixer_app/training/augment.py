"""Training examples drawn from a few minutes of stems, made to go far.

Each example takes the stems of one track, stem by stem: with probability ``remix``
every stem comes from a different, randomly chosen track that has it (new mixtures
that never existed), each at a
random offset, with a random gain, a random speed change (a joint time and pitch
shift by resampling), and randomly swapped channels and flipped polarity. The
mixture is the sum of the augmented stems, so targets and mixture always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from remixer_app.training.data import Track


@dataclass(frozen=True)
class Augmentation:
    """Probabilities and ranges of the augmentations (all drawn per stem)."""

    remix: float = 0.7            # stems from different tracks
    gain_db: float = 6.0          # uniform in +-gain_db
    channel_swap: float = 0.5
    polarity: float = 0.5
    speed: float = 0.3            # probability of a speed change
    speed_range: float = 0.08     # factor uniform in 1 +- speed_range
    silent: float = 0.05          # a stem left out entirely


def _excerpt(rng: np.random.Generator, audio: np.ndarray, frames: int) -> np.ndarray:
    if audio.shape[0] <= frames:
        return np.pad(audio, ((0, frames - audio.shape[0]), (0, 0)))
    start = int(rng.integers(0, audio.shape[0] - frames + 1))
    return audio[start:start + frames]


def _stem(rng: np.random.Generator, audio: np.ndarray, frames: int,
          aug: Augmentation) -> np.ndarray:
    if rng.random() < aug.speed:
        factor = 1.0 + rng.uniform(-aug.speed_range, aug.speed_range)
        needed = int(np.ceil(frames * factor)) + 16
        piece = _excerpt(rng, audio, needed)
        # Playing ``factor`` times faster = resampling to 1/factor as many samples.
        x = soxr.resample(piece, 44100 * factor, 44100, quality="MQ")[:frames]
        x = np.pad(x, ((0, frames - x.shape[0]), (0, 0)))
    else:
        x = _excerpt(rng, audio, frames).copy()
    x *= np.float32(10.0 ** (rng.uniform(-aug.gain_db, aug.gain_db) / 20.0))
    if rng.random() < aug.channel_swap:
        x = x[:, ::-1]
    if rng.random() < aug.polarity:
        x = -x
    if rng.random() < aug.silent:
        x = np.zeros_like(x)
    return np.ascontiguousarray(x, dtype=np.float32)


def sample_batch(rng: np.random.Generator, tracks: Sequence[Track], batch: int, frames: int,
                 sources: Sequence[str], aug: Augmentation
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A batch of augmented examples.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The mixtures ``(batch, 2, frames)`` and the targets
        ``(batch, len(sources), 2, frames)``, in the model's ``sources`` order.
    """
    targets = np.zeros((batch, len(sources), 2, frames), dtype=np.float32)
    having = {name: [t for t in tracks if name in t] for name in sources}
    for b in range(batch):
        same = tracks[int(rng.integers(len(tracks)))]
        remix = rng.random() < aug.remix
        for name in same:
            track = having[name][int(rng.integers(len(having[name])))] if remix else same
            targets[b, list(sources).index(name)] = _stem(rng, track[name], frames, aug).T
    return targets.sum(axis=1), targets
