"""What an ensemble does to its members' weighted means: residual, remask, blend.

In the order of :mod:`.ensemble`: "other" becomes the residual of the mixture minus the
other three stems (``residual_other``), then the Wiener remask shares the mixture out
by the stems' magnitudes (``wiener_remask``, :mod:`.remask`), then a fraction of the
mixture is blended into every stem (``mixture_blend``). The separator streams a track
through :class:`PostProcess` window by window; tuning, which mixes stored member
estimates with candidate weights, runs whole tracks through :func:`postprocess_track`,
so that it scores exactly what the ensemble would give.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from remixer_app.core.separation.ensemble import EnsembleSpec
from remixer_app.core.separation.remask import WienerRemask

Chunk = tuple[int, dict[str, np.ndarray]]  # track frame of the first frame, stems


class PostProcess:
    """The ensemble's post-processing of one track, fed window by window, in order.

    Parameters
    ----------
    spec
        The ensemble; its options say which steps run.
    stems
        The stems of every window.
    mix
        The whole 44.1 kHz stereo mixture the windows come from.
    check
        Called between the remask's batches of frames (a cancel check may raise there).
    """

    def __init__(self, spec: EnsembleSpec, stems: tuple[str, ...], mix: np.ndarray,
                 check: Callable[[], None] = lambda: None) -> None:
        self._spec = spec
        self._stems = stems
        self._mix = mix
        self._remask = WienerRemask(stems, check) if spec.wiener_remask else None
        self._received = 0

    def push(self, estimates: dict[str, np.ndarray]) -> Chunk:
        """Post-process the next window of weighted means (``(frames, 2)`` float32 each,
        changed in place); returns the output now finished, which the remask holds back
        by up to its latency (so possibly none)."""
        start = self._received
        mix = self._mix[start:start + len(estimates[self._stems[0]])]
        self._received += len(mix)
        if self._spec.residual_other:
            other = estimates["other"]
            np.subtract(mix, estimates["vocals"], out=other)
            other -= estimates["drums"]
            other -= estimates["bass"]
        if self._remask is None:
            return self._blend(start, estimates)
        return self._blend(*self._remask.push(mix, estimates))

    def finish(self) -> Chunk:
        """The output still held back once every window is in (none without a remask)."""
        if self._remask is None:
            return self._received, {s: np.zeros((0, 2), np.float32) for s in self._stems}
        return self._blend(*self._remask.finish())

    def _blend(self, start: int, stems: dict[str, np.ndarray]) -> Chunk:
        blend = np.float32(self._spec.mixture_blend)
        if blend > 0.0:
            mix = self._mix[start:start + len(stems[self._stems[0]])]
            for stem in stems.values():
                stem *= np.float32(1.0) - blend
                stem += blend * mix
        return start, stems


def postprocess_track(spec: EnsembleSpec, mix: np.ndarray, estimates: dict[str, np.ndarray]
                      ) -> dict[str, np.ndarray]:
    """The ensemble's stems for a whole track, from its members' weighted means.

    Parameters
    ----------
    spec
        The ensemble.
    mix
        ``(frames, 2)`` float32 mixture at 44.1 kHz.
    estimates
        Stem -> ``(frames, 2)`` float32 weighted mean of the members' estimates (what
        the separator has before post-processing); changed in place.

    Returns
    -------
    dict[str, numpy.ndarray]
        What the separator would return for this mixture.
    """
    post = PostProcess(spec, tuple(estimates), mix)
    (_, first), (_, rest) = post.push(estimates), post.finish()  # consecutive, from 0
    return {s: np.concatenate([first[s], rest[s]]) for s in estimates}
