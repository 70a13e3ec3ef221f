"""What the hearing aid does beyond its linear part, measured at the settings in force.

:attr:`~remixer_app.core.engine.HearingAidEngine.aided` holds the stems through the
aid's linear filter (NAL-R; the plain stems for the multiband aid), so the loudness and
spectrum of the aid's input are known at once for any gains (the player's level match,
the spectra). The rest of the chain depends on level: the multiband aid's compressor
(make-up gains of 10 dB and more for a moderate loss), NAL-R's optional compressor, and
the clipper. NAL-R adds 25-35 dB for a moderate loss, so a pop track's output clips
hard: measured on test previews, the clipped output is 5-15 LU below the filtered
input. :func:`measure_aid_effect` runs the chain on the engine's excerpt at given
settings and measures what those parts do: the loudness they add and their power gain
per frequency. It takes a tenth to a few tenths of a second, so the app redoes it in a
worker after each change (:mod:`remixer_app.ui.aid_effect_watch`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from remixer_app.core.band_levels import LONG_TERM_NFFT, welch_power
from remixer_app.core.dsp.clip import clip_signal
from remixer_app.core.dsp.loudness import integrated_loudness

if TYPE_CHECKING:
    from remixer_app.core.chain_settings import ChainSettings
    from remixer_app.core.engine import HearingAidEngine

_FLOOR = 1e-30  # power below which a bin counts as silent (its gain reads 1)


@dataclass(frozen=True, eq=False)
class AidEffect:
    """What the aid adds to its linear part at ``settings``.

    Attributes
    ----------
    settings
        The settings it was measured at (a compressor's gain depends on level, so it
        drifts a little as the gains move away from them).
    gain_db
        Loudness (BS.1770, gated) of the aid's output, clipped as ``settings`` say, minus
        that of its input; 0 when the chain is linear or the excerpt silent.
    freqs
        Bin frequencies of ``power_gain`` in Hz.
    power_gain
        (ears, bins) output over input power per bin; ``None`` when the chain is linear
        at ``settings`` (no compressor, nothing clipped).
    """

    settings: ChainSettings
    gain_db: float = 0.0
    freqs: np.ndarray | None = None
    power_gain: np.ndarray | None = None

    def power_gain_at(self, freqs: np.ndarray) -> np.ndarray:
        """(ears, len(freqs)) power gain at ``freqs`` (interpolated; 1 if linear)."""
        if self.power_gain is None or self.freqs is None:
            return np.ones((2, len(freqs)))
        return np.stack([np.interp(freqs, self.freqs, ear) for ear in self.power_gain])

    def gain_db_at(self, freqs: np.ndarray, ear: int | None = None) -> np.ndarray:
        """The gain at ``freqs`` in dB: one ear's, or (``None``) both ears' mean power."""
        gain = self.power_gain_at(freqs)
        return np.asarray(10.0 * np.log10(gain.mean(axis=0) if ear is None else gain[ear]))


def measure_aid_effect(engine: HearingAidEngine, settings: ChainSettings,
                       nfft: int = LONG_TERM_NFFT) -> AidEffect:
    """Run the aid on ``engine``'s excerpt at ``settings`` and measure :class:`AidEffect`.

    A NAL-R chain without a compressor whose output is not clipped, or hard-clipped but
    stays within full scale, is linear: its effect is nothing, and no spectrum is taken.
    """
    linear = engine.hearing_aid != "multiband" and settings.compressor is None
    if linear and settings.clip == "none":
        return AidEffect(settings)
    before, after = engine.excerpt(settings)
    if linear and settings.clip == "hard" and not np.any(np.abs(after) > 1.0):
        return AidEffect(settings)  # (tanh changes every sample: soft clip is measured)
    clip_signal(after, settings.clip, out=after)
    gain = integrated_loudness(after, engine.rate) - integrated_loudness(before, engine.rate)
    into = welch_power(before, nfft)[0]
    power = np.where(into > _FLOOR, welch_power(after, nfft)[0] / np.maximum(into, _FLOOR),
                     1.0)
    return AidEffect(settings, gain if math.isfinite(gain) else 0.0,
                     np.fft.rfftfreq(nfft, 1.0 / engine.rate), power)
