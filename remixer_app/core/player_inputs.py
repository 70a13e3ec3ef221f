"""The player's inputs: a track's stems and mixture as the mixer reads them.

Built once per player on the GUI side (:class:`~remixer_app.core.player.Player`), so
that the callback (:mod:`remixer_app.core.player_mixer`) only ever reads prepared,
contiguous float32 arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SUM_CHUNK = 1 << 16  #: frames of the stems summed at a time into the mixture


def mixer_inputs(names: Sequence[str], frames: int, stems: Mapping[str, np.ndarray],
                 mixture: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The :class:`Mixer`'s stems (in the order of ``names``) and mixture, float32.

    Each input is (frames, 2) or mono (frames,), which is duplicated to both channels;
    the mixture is the sum of the stems when ``None``.

    Raises
    ------
    ValueError
        A stem is missing, or an input has another length or shape.
    """
    missing = set(names) - set(stems)
    if missing:
        raise ValueError(f"stems lack {', '.join(sorted(missing))}")
    # float32 halves the memory of a second copy of the track; the callback widens
    # each block into float64 scratch before any arithmetic (mixed-type ufuncs buffer).
    stems32 = np.empty((len(names), frames, 2), dtype=np.float32)
    for k, name in enumerate(names):
        stems32[k] = _frames(stems[name], frames, name)
    if mixture is not None:
        return stems32, np.ascontiguousarray(_frames(mixture, frames, "mixture"),
                                             dtype=np.float32)
    # Summed in float64 a chunk at a time: a whole track's float64 sum would cost more
    # than the float32 mixture kept.
    mix = np.empty((frames, 2), dtype=np.float32)
    for start in range(0, frames, SUM_CHUNK):
        mix[start:start + SUM_CHUNK] = stems32[:, start:start + SUM_CHUNK].sum(
            axis=0, dtype=np.float64)
    return stems32, mix


def _frames(audio: np.ndarray, frames: int, name: str) -> np.ndarray:
    """``audio`` as (frames, 2), in its own precision; mono is duplicated to both
    channels."""
    x = np.asarray(audio)
    if x.ndim == 1:
        x = np.stack([x, x], axis=1)
    if x.shape != (frames, 2):
        raise ValueError(f"{name} must have shape ({frames}, 2), not {x.shape}")
    return x
