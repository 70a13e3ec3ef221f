"""Level matching of the player's sources (original, remix, aided) to the track's mixture.

Each source gets a gain that brings its integrated loudness (BS.1770, gated: the
measure the engine matches the remix with) to the mixture's, so switching compares
sound, not loudness. The original is the reference (gain 1). With NAL-R the remix is
matched by its weights already (gain 1; so the player must get the engine's mixture);
the multiband (Cadenza 2) aid's weights follow the challenge's level rule instead, so
its remix gets a gain too.
The loudness of any remix, and of the aid's linear part, is predicted from K-weighted
per-block cross-powers of ``engine.aided`` (:class:`~remixer_app.core.dsp.loudness.
RemixLoudness`, built once per track; a third of the engine's own build time), in well
under a millisecond, so it is redone on the GUI thread at every settings change. What
the rest of the aid does (compressor, clipping: 5-15 LU for NAL-R on a loud track) is
an :class:`~remixer_app.core.aid_effect.AidEffect` measured at some settings and added
to the prediction: exact at those settings, drifting a little as the gains move away
from them until it is measured again.
"""

from __future__ import annotations

import math

import numpy as np

from remixer_app.core.dsp.loudness import RemixLoudness, integrated_loudness

MAX_MATCH_DB = 40.0        # a level-match gain beyond this means a near-silent source
UNITY_GAINS: tuple[float, float, float] = (1.0, 1.0, 1.0)


class LevelMatcher:
    """The level-match gains ``(original, remix, aided)`` of one track.

    Parameters
    ----------
    mixture
        The track's mixture, (frames, 2): the loudness every source is brought to.
    aided
        The stems through the aid's linear part, (stems, 2, frames), as
        :attr:`~remixer_app.core.engine.HearingAidEngine.aided` holds them.
    rate
        Sample rate in Hz.
    match_remix
        Whether the remix needs a gain: its weights are not loudness-matched (the
        multiband aid), and ``aided`` holds the stems times ``input_gain``.
    input_gain
        What ``aided`` holds beyond the stems' linear filter: the multiband aid's
        input level (:attr:`~remixer_app.core.engine.HearingAidEngine.input_gain`).
    """

    def __init__(self, mixture: np.ndarray, aided: np.ndarray, rate: float, *,
                 match_remix: bool = False, input_gain: float = 1.0) -> None:
        self._mixture_lufs = integrated_loudness(mixture, rate)
        self._aided_loudness = RemixLoudness(np.transpose(aided, (0, 2, 1)), rate)
        self._match_remix = match_remix
        self._input_db = 20.0 * math.log10(input_gain)

    def gains(self, weights: np.ndarray, aid_gain_db: float = 0.0
              ) -> tuple[float, float, float]:
        """The linear gain of each source while the remix plays with ``weights`` and
        the aid adds ``aid_gain_db`` to the loudness of its linear part."""
        linear = self._aided_loudness.loudness(weights)
        remix = self._gain(linear - self._input_db) if self._match_remix else 1.0
        return (1.0, remix, self._gain(linear + aid_gain_db))

    def _gain(self, lufs: float) -> float:
        if not (math.isfinite(lufs) and math.isfinite(self._mixture_lufs)):
            return 1.0  # a silent source: nothing to match
        db = min(MAX_MATCH_DB, max(-MAX_MATCH_DB, self._mixture_lufs - lufs))
        return 10.0 ** (db / 20.0)
