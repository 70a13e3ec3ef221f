"""The spectra dock's summary in words (what a screen reader says of the plots)."""

from __future__ import annotations

import numpy as np
import pytest

from remixer_app.core.audiogram import get_preset
from remixer_app.core.spectra import MIXTURE_KEY, OUTPUT_KEY
from remixer_app.core.spectra_summary import band_power, summary_text

FREQS = np.geomspace(100.0, 16000.0, 60)


def test_band_power_adds_the_bins_powers() -> None:
    level = np.full_like(FREQS, -30.0)
    inside = int(np.sum((FREQS >= 1000.0) & (FREQS < 2000.0)))
    assert band_power(FREQS, level, 1000.0, 2000.0) == pytest.approx(
        -30.0 + 10 * np.log10(inside))


def test_summary_reads_output_against_mixture_and_the_loudest_stems() -> None:
    low = FREQS < 500.0
    mixture = np.full_like(FREQS, -20.0)
    output = mixture + np.where(low, 6.0, -3.0)  # +6 dB in the lowest band, -3 dB above
    violin = np.where(low, -40.0, -25.0)
    cello = np.where(low, -25.0, -40.0)
    levels = {MIXTURE_KEY: (FREQS, mixture), OUTPUT_KEY: (FREQS, output),
              "violin": (FREQS, violin), "cello": (FREQS, cello)}
    text = summary_text(levels, ("violin", "cello"), None, "Left ear")
    assert text.startswith("Left ear: hearing-aid output against the mixture: "
                           "125 Hz-500 Hz +6.0 dB, 500 Hz-2 kHz -3.0 dB, 2 kHz-16 kHz -3.0 dB.")
    assert "Loudest stem: cello at 125 Hz-500 Hz, violin at 500 Hz-2 kHz, violin at " in text
    assert "Thresholds" not in text

    listener = get_preset("N3")
    with_listener = summary_text(levels, ("violin", "cello"), listener, "Left ear")
    left = "/".join(f"{v:.0f}" for v in listener.left.at([1000.0, 2000.0, 4000.0]))
    assert f"Thresholds at 1/2/4 kHz (dB HL): left {left}, right " in with_listener
