"""The Cadenza chains built from the reference libraries, as the recipes do them.

This is the yardstick for :class:`remixer_app.core.engine.HearingAidEngine`. The
ICASSP 2024 chain: gains with pyloudnorm, remix and loudness match with pyloudnorm,
NAL-R and the compressor from pyclarity. The Cadenza 2 (classical) chain: gains, the
level rule, pyclarity's multiband compressor per ear with our fitted settings, clip.
They are slow (the compressors are Python loops, every loudness is measured anew) and
are used by the tests, the benchmarks, and evaluation's reference signals
(``--reference-impl`` style checks).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.dsp.clip import ClipMode
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.multiband_fitting import (
    input_gain,
    level_adjustment_db,
    multiband_params,
)
from remixer_app.core.dsp.multiband_params import MultibandParams

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


def reference_multiband(signal: np.ndarray, params: MultibandParams,
                        rate: float = RATE) -> np.ndarray:
    """pyclarity's ``MultibandCompressor`` on (frames,) or (frames, channels) audio."""
    from clarity.enhancer.multiband_compressor import MultibandCompressor

    settings = params.as_dict()
    crossovers = settings.pop("crossover_frequencies")
    compressor = MultibandCompressor(crossover_frequencies=np.array(crossovers),
                                     sample_rate=rate, compressors_params=settings)
    x = np.array(signal, dtype=np.float64)  # a copy: pyclarity's compressor writes its input
    channels = np.ascontiguousarray(x.reshape(len(x), -1).T)
    return np.asarray(compressor(channels)).T.reshape(x.shape)


def reference_classical_chain(stems: Mapping[str, np.ndarray], listener: Listener,
                              gains_db: Mapping[str, float], clip: ClipMode = "hard",
                              players: Mapping[str, int] | None = None) -> np.ndarray:
    """The Cadenza 2 hearing aid's output: (frames, 2), clipped as ``clip`` says.

    The stems' sum is brought to the level the aid's fitting assumes (pyloudnorm, then
    :func:`~remixer_app.core.dsp.multiband_fitting.input_gain`); each stem (mono ones
    on both ears) is weighted by that gain times ``10 ** (g / 20)`` times the level
    rule's gain (:func:`~remixer_app.core.dsp.multiband_fitting.level_adjustment_db`,
    counting each stem's ``players``, 1 where not given),
    the stems are summed in order, and each ear goes through pyclarity's multiband
    compressor with the settings
    :func:`~remixer_app.core.dsp.multiband_fitting.multiband_params` gives that ear.

    The weights and the sum are formed as the engine forms them, not as "gain each stem,
    then the sum": pyclarity's 8th-order all-passes turn one ulp of difference in their
    input into up to 1e-7 at their output, so a remix that is equal but rounded
    differently would swamp the comparison.
    """
    import pyloudnorm as pyln

    gains = np.array([float(gains_db.get(name, 0.0)) for name in stems])
    counts = [(players or {}).get(name, 1) for name in stems]
    level = np.power(10.0, level_adjustment_db(gains, counts) / 20.0)
    channels = [np.asarray(x, np.float64).reshape(len(x), -1) for x in stems.values()]
    mixture = np.sum([np.broadcast_to(x, (len(x), 2)) for x in channels], axis=0)
    into = input_gain(pyln.Meter(RATE).integrated_loudness(mixture))
    weights = into * (np.power(10.0, gains / 20.0) * level)
    remix = np.zeros((len(mixture), 2))
    for weight, x in zip(weights, channels, strict=True):
        remix = remix + x * weight
    out = np.stack([
        reference_multiband(remix[:, 0], multiband_params(listener.left, RATE)),
        reference_multiband(remix[:, 1], multiband_params(listener.right, RATE)),
    ], axis=1)
    if clip == "soft":
        out = np.tanh(out)
    if clip != "none":
        out = np.clip(out, -1.0, 1.0)
    return out
