"""The recipe's loudness match: any remix of the stems brought to the mixture's loudness.

The Cadenza ICASSP 2024 recipe normalises each gained stem and then the remix with
pyloudnorm; :class:`LoudnessMatch` does the same arithmetic, but takes the loudness of
any remix from cached per-block cross-powers of the stems
(:class:`~remixer_app.core.dsp.loudness.RemixLoudness`), not from a pass over the audio,
so a gain change costs microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from remixer_app.core.dsp.loudness import RemixLoudness, finite_loudness


class LoudnessMatch:
    """The loudness-matched stem weights of any remix of ``stems``.

    Parameters
    ----------
    stems
        The stems, each (frames, 2).
    target_lufs
        The loudness every remix is brought to: the mixture's, with the recipe's
        :func:`~remixer_app.core.dsp.loudness.finite_loudness` rule.
    rate
        Sample rate in Hz.
    """

    def __init__(self, stems: Sequence[np.ndarray], target_lufs: float, rate: float) -> None:
        self._target_lufs = target_lufs
        self._remix_loudness = RemixLoudness(stems, rate)
        eye = np.eye(len(stems))
        self._stem_lufs = np.array([finite_loudness(self._remix_loudness.loudness(row))
                                    for row in eye])

    def weights(self, gains: np.ndarray) -> np.ndarray:
        """Linear weight of each stem in the remix with ``gains`` (dB, ``-inf``: muted).

        The arithmetic follows the recipe's (pyloudnorm's ``normalize.loudness`` from a
        stem's loudness to that loudness plus the gain, then from the remix loudness to
        the mixture loudness), so the result matches it to rounding error.
        """
        with np.errstate(invalid="ignore"):
            delta = (self._stem_lufs + gains) - self._stem_lufs
        stem_gain = np.where(np.isneginf(gains), 0.0, np.power(10.0, delta / 20.0))
        remix_lufs = finite_loudness(self._remix_loudness.loudness(stem_gain))
        shift = self._target_lufs - remix_lufs
        norm = np.power(10.0, ((remix_lufs + shift) - remix_lufs) / 20.0)
        return stem_gain * norm
