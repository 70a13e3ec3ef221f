"""The spectra dock in words, for screen readers: the hearing-aid output against the
mixture per broad band, the loudest stem per band, and the listener's thresholds."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from remixer_app.core.audiogram import Listener
from remixer_app.core.band_levels import from_db, to_db
from remixer_app.core.spectra import MIXTURE_KEY, OUTPUT_KEY

SUMMARY_BANDS = ((125.0, 500.0), (500.0, 2000.0), (2000.0, 16000.0))
SUMMARY_FREQS = (1000.0, 2000.0, 4000.0)


def band_power(freqs: np.ndarray, level_db: np.ndarray, low: float, high: float) -> float:
    """Total power (dB FS) of the bins in ``low <= f < high``."""
    inside = (freqs >= low) & (freqs < high)
    return float(to_db(np.sum(from_db(level_db[inside]))))


def _band_name(low: float, high: float) -> str:
    def hz(f: float) -> str:
        return f"{f / 1000:g} kHz" if f >= 1000 else f"{f:g} Hz"
    return f"{hz(low)}-{hz(high)}"


def summary_text(levels: Mapping[str, tuple[np.ndarray, np.ndarray]], stems: tuple[str, ...],
                 listener: Listener | None, ear_name: str) -> str:
    """The plots in words, for screen readers: output against mixture, loudest stems."""
    parts, loudest = [], []
    for low, high in SUMMARY_BANDS:
        f, out = levels[OUTPUT_KEY]
        diff = band_power(f, out, low, high) - band_power(f, levels[MIXTURE_KEY][1], low, high)
        parts.append(f"{_band_name(low, high)} {diff:+.1f} dB")
        best = max(stems, key=lambda s: band_power(f, levels[s][1], low, high))
        loudest.append(f"{best} at {_band_name(low, high)}")
    text = (f"{ear_name}: hearing-aid output against the mixture: {', '.join(parts)}. "
            f"Loudest stem: {', '.join(loudest)}.")
    if listener is not None:
        ears = [f"{side} {'/'.join(f'{v:.0f}' for v in ear.at(SUMMARY_FREQS))}"
                for side, ear in (("left", listener.left), ("right", listener.right))]
        text += f" Thresholds at 1/2/4 kHz (dB HL): {', '.join(ears)}."
    return text
