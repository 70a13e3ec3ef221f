"""Level matching of the player's sources (original, remix, aided) to the track's mixture.

Each source gets a gain that brings its integrated loudness (BS.1770, gated: the
measure the engine matches the remix with) to the mixture's, so switching compares
sound, not loudness. The original is the reference (gain 1) and the remix is matched
by its weights already (gain 1; so the player must get the engine's mixture).
The aided loudness of any remix is predicted from K-weighted per-block cross-powers of
the NAL-R-filtered stems (:class:`~remixer_app.core.dsp.loudness.RemixLoudness`, built
once per track; a third of the engine's own build time), in well under a millisecond,
so it is redone on the GUI thread at every settings change. It is exact for the linear
chain; the compressor and the clipper are not modelled, and as both only take level
away, with them on the aided output can come out a little quieter than the others.

The multiband (Cadenza 2) aid is its compressor, whose make-up gains add up to 10 dB and
more for a moderate loss: :func:`multiband_gain_db` measures what it adds to the remix's
loudness once per fitting, on an excerpt at the settings the player starts with, and the
prediction adds it (exact at those settings; the compressor makes it drift a little as
the gains move away from them).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from remixer_app.core.dsp.loudness import RemixLoudness, integrated_loudness

if TYPE_CHECKING:
    from remixer_app.core.engine import ChainSettings, HearingAidEngine

MAX_MATCH_DB = 40.0        # a level-match gain beyond this means a near-silent source
UNITY_GAINS: tuple[float, float, float] = (1.0, 1.0, 1.0)


class LevelMatcher:
    """The level-match gains ``(original, remix, aided)`` of one track.

    Parameters
    ----------
    mixture
        The track's mixture, (frames, 2): the loudness every source is brought to.
    aided
        The NAL-R-filtered stems, (stems, 2, frames), as
        :attr:`~remixer_app.core.engine.HearingAidEngine.aided` holds them.
    rate
        Sample rate in Hz.
    aid_gain_db
        What the hearing aid adds to the loudness beyond ``aided`` (the multiband aid's
        compressor: :func:`multiband_gain_db`); 0 for NAL-R, which ``aided`` holds.
    """

    def __init__(self, mixture: np.ndarray, aided: np.ndarray, rate: float,
                 aid_gain_db: float = 0.0) -> None:
        self._mixture_lufs = integrated_loudness(mixture, rate)
        self._aided_loudness = RemixLoudness(np.transpose(aided, (0, 2, 1)), rate)
        self._aid_gain_db = aid_gain_db

    def gains(self, weights: np.ndarray) -> tuple[float, float, float]:
        """The linear gain of each source while the remix plays with ``weights``."""
        aided_lufs = self._aided_loudness.loudness(weights) + self._aid_gain_db
        if not (math.isfinite(aided_lufs) and math.isfinite(self._mixture_lufs)):
            return UNITY_GAINS  # a silent source: nothing to match
        db = min(MAX_MATCH_DB, max(-MAX_MATCH_DB, self._mixture_lufs - aided_lufs))
        return (1.0, 1.0, 10.0 ** (db / 20.0))


def multiband_gain_db(engine: HearingAidEngine, settings: ChainSettings) -> float:
    """The loudness the multiband aid adds to the remix of ``settings`` (0 for NAL-R).

    Measured on :meth:`~remixer_app.core.engine.HearingAidEngine.excerpt`: the aid's
    output against its input, the weighted sum of the stems. Silence gives 0.
    """
    if engine.hearing_aid != "multiband":
        return 0.0
    remix, out = engine.excerpt(settings)
    gain = integrated_loudness(out, engine.rate) - integrated_loudness(remix, engine.rate)
    return gain if math.isfinite(gain) else 0.0
