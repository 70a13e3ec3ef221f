"""The Cadenza ICASSP 2024 chain built from the reference libraries, as the recipe does it.

This is the yardstick for :class:`remixer_app.core.engine.HearingAidEngine`: gains
with pyloudnorm, remix and loudness match with pyloudnorm, NAL-R and the compressor
from pyclarity. It is slow (the compressor is a Python loop, every loudness is
measured anew) and is used by the tests, the benchmark, and evaluation's reference
signals (``--reference-impl`` style checks).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.dsp.compressor import CompressorParams

RATE = 44100


def _loudness_shift(signal: np.ndarray, source_lufs: float, target_lufs: float) -> np.ndarray:
    import pyloudnorm as pyln

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Possible clipped samples in output")
        return pyln.normalize.loudness(signal, source_lufs, target_lufs)


def _measure(signal: np.ndarray) -> float:
    import pyloudnorm as pyln

    lufs = pyln.Meter(RATE).integrated_loudness(signal)
    return -80.0 if lufs == -np.inf else lufs


def reference_remix(stems: Mapping[str, np.ndarray], mixture: np.ndarray,
                    gains_db: Mapping[str, float]) -> np.ndarray:
    """Per-stem LUFS gains, sum, and loudness match to ``mixture`` (recipe steps 2-3)."""
    remix = np.zeros(np.shape(next(iter(stems.values()))))
    for name, stem in stems.items():
        lufs = _measure(stem)
        remix += _loudness_shift(stem, lufs, lufs + gains_db.get(name, 0.0))
    remix_lufs = _measure(remix)
    return _loudness_shift(remix, remix_lufs, remix_lufs + (_measure(mixture) - remix_lufs))


def reference_hearing_aid(signal: np.ndarray, audiogram: Audiogram,
                          compressor: CompressorParams | None) -> np.ndarray:
    """pyclarity's NAL-R, then optionally its compressor, on one ear (recipe steps 4-5)."""
    from clarity.enhancer.compressor import Compressor
    from clarity.enhancer.nalr import NALR

    nalr = NALR(nfir=220, sample_rate=RATE)
    fir, _ = nalr.build(audiogram.to_clarity())
    out = nalr.apply(fir, signal)
    if compressor is not None:
        comp = Compressor(fs=RATE, threshold=compressor.threshold,
                          attenuation=compressor.attenuation, attack=compressor.attack,
                          release=compressor.release,
                          rms_buffer_size=compressor.rms_buffer_size,
                          makeup_gain=compressor.makeup_gain)
        out, _, _ = comp.process(out)
    return out


def reference_chain(stems: Mapping[str, np.ndarray], mixture: np.ndarray, listener: Listener,
                    gains_db: Mapping[str, float],
                    compressor: CompressorParams | None = None) -> np.ndarray:
    """The recipe's enhanced signal: (frames + 220, 2), before clipping and resampling."""
    remix = reference_remix(stems, mixture, gains_db)
    return np.stack([
        reference_hearing_aid(remix[:, 0], listener.left, compressor),
        reference_hearing_aid(remix[:, 1], listener.right, compressor),
    ], axis=1)
