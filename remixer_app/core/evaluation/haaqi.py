"""HAAQI scoring of one scene, exactly as the Cadenza ICASSP 2024 evaluation does it.

* Reference: the true at-ear stems with the scene's gains, remixed and
  loudness-matched to the at-ear mixture with pyloudnorm, then NAL-R per ear, no
  compressor (:mod:`remixer_app.core.dsp.reference`, the recipe's own libraries).
* Processed: a system's stems through the app's engine with the same gains (and
  the compressor if asked), resampled to 32 kHz, clipped, written as a 16-bit FLAC
  and read back, as the recipe scores the submitted files.
* Both are resampled to exactly 24 kHz and scored per ear with
  ``compute_haaqi(..., equalisation=2, level1=65 - 20 log10(rms(remix_ear)))``,
  where ``remix_ear`` is the reference remix *before* NAL-R (as in the recipe).
  numpy's global generator is seeded from the scene id once, before the left ear,
  as the recipe's ``set_song_seed(scene_id)`` does; HAAQI adds random noise.

HAAQI is our fast implementation (:mod:`remixer_app.core.metrics`, pyclarity's score
to ~1e-11 and the same random draws); tasks made inside :func:`haaqi_implementation`
``("reference")`` are scored with pyclarity's ``compute_haaqi`` instead, to check.

The slow part, :func:`score`, gets a picklable :class:`HaaqiTask`, so it can run
in worker processes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.nalr import NALR_TAPS
from remixer_app.core.dsp.reference import RATE, reference_hearing_aid, reference_remix
from remixer_app.core.dsp.resample import resample
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.export import DEFAULT_EXPORT_RATE, write_audio
from remixer_app.core.metrics import IMPLEMENTATIONS, Implementation, haaqi_score

HAAQI_RATE = 24000
OUTPUT_RATE = DEFAULT_EXPORT_RATE  # the challenge's 32 kHz output files
_MAX_LENGTH_MISMATCH = 2  # samples at 24 kHz: resampler rounding of the two paths
# Set around an evaluation (harness code stays unaware of it); read when a task is made.
_IMPLEMENTATION: ContextVar[Implementation] = ContextVar("haaqi_implementation", default="fast")


@contextmanager
def haaqi_implementation(implementation: Implementation) -> Iterator[None]:
    """Score the tasks :func:`make_task` makes in this block with ``implementation``.

    Parameters
    ----------
    implementation
        ``"fast"`` (ours, the default outside any block) or ``"reference"``
        (pyclarity's ``compute_haaqi``).
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, "
                         f"not {implementation!r}")
    token = _IMPLEMENTATION.set(implementation)
    try:
        yield
    finally:
        _IMPLEMENTATION.reset(token)


@dataclass(frozen=True, eq=False)
class Reference:
    """The reference side of a scene at 44.1 kHz.

    Attributes
    ----------
    aided
        The hearing aid's output per ear: (frames + 220, 2) from NAL-R (full
        convolution: 110 samples of delay, as the engine's output has), (frames, 2)
        from the Cadenza 2 multiband compressor.
    remix
        (frames, 2) loudness-matched remix before NAL-R; sets HAAQI's ``level1``.
    rate
        Sample rate of ``aided`` (``remix`` is at 44.1 kHz).
    """

    aided: np.ndarray
    remix: np.ndarray
    rate: int = RATE

    def level1(self, ear: int) -> float:
        """HAAQI's level of an RMS of 1, in dB SPL: the remix ear is put at 65 dB SPL."""
        rms = float(np.sqrt(np.mean(np.square(self.remix[:, ear]))))
        return 65.0 - 20.0 * float(np.log10(rms))


@dataclass(frozen=True, eq=False)
class HaaqiTask:
    """Everything :func:`score` needs, at 24 kHz and of equal length (picklable)."""

    scene_id: str
    seed: int
    processed: np.ndarray
    reference: np.ndarray
    level1: tuple[float, float]
    audiograms: tuple[Audiogram, Audiogram]
    implementation: Implementation = "fast"


def reference_signals(stems: Mapping[str, np.ndarray], mixture: np.ndarray,
                      listener: Listener, gains_db: Mapping[str, float]) -> Reference:
    """The recipe's reference for one scene (true at-ear stems and mixture)."""
    remix = reference_remix(stems, mixture, gains_db)
    aided = np.stack([reference_hearing_aid(remix[:, 0], listener.left, None),
                      reference_hearing_aid(remix[:, 1], listener.right, None)], axis=1)
    return Reference(aided=aided, remix=remix)


def processed_signal(engine: HearingAidEngine, settings: ChainSettings) -> np.ndarray:
    """The engine's output as the challenge would score it: its 32 kHz 16-bit FLAC.

    Returns
    -------
    numpy.ndarray
        (frames, 2) float32, the written file read back (``int16 / 32768``, what the
        recipe's ``read_flac_signal`` returns).
    """
    final, _ = HearingAidEngine.finalize(engine.render(settings), settings, OUTPUT_RATE)
    # A real file round trip, so the 16-bit rule is the exporter's own, not a copy of it.
    with tempfile.TemporaryDirectory(prefix="remixer-eval-") as folder:
        path = write_audio(Path(folder) / "processed.flac", final, OUTPUT_RATE)
        data, _ = sf.read(path, dtype="float32", always_2d=True)
    return data


def make_task(scene_id: str, seed: int, processed: np.ndarray, reference: Reference,
              listener: Listener, *, delay_frames: int = NALR_TAPS) -> HaaqiTask:
    """Resample both sides to 24 kHz and align their lengths.

    Both chains start at the same instant (the NAL-R delay is in both) and both
    resamplers are linear-phase and delay-compensated, so the signals are
    already time-aligned; they may differ in length by a sample of rounding
    (44.1k -> 24k vs 44.1k -> 32k -> 24k), and the longer one is cut at the end.
    ``delay_frames`` is how much longer than the remix the hearing-aid output is at
    44.1 kHz (the NAL-R filter's length; 0 for the multiband compressor).

    Raises
    ------
    ValueError
        The lengths differ by more than rounding can explain (a chain bug).
    """
    proc = resample(processed, OUTPUT_RATE, HAAQI_RATE)
    ref = resample(reference.aided, reference.rate, HAAQI_RATE)
    expected = round(reference.remix.shape[0] * HAAQI_RATE / RATE)
    if (abs(len(proc) - len(ref)) > _MAX_LENGTH_MISMATCH
            or abs(len(ref) - expected - round(delay_frames * HAAQI_RATE / RATE))
            > _MAX_LENGTH_MISMATCH):
        raise ValueError(f"scene {scene_id}: processed ({len(proc)}) and reference "
                         f"({len(ref)}) lengths at 24 kHz do not match")
    n = min(len(proc), len(ref))
    return HaaqiTask(scene_id=scene_id, seed=seed, processed=proc[:n], reference=ref[:n],
                     level1=(reference.level1(0), reference.level1(1)),
                     audiograms=(listener.left, listener.right),
                     implementation=_IMPLEMENTATION.get())


def score(task: HaaqiTask) -> tuple[float, float]:
    """HAAQI of the left and right ear (seeded from the scene, so repeatable anywhere)."""
    np.random.seed(task.seed)
    left, right = (haaqi_score(task.processed[:, ear], task.reference[:, ear], HAAQI_RATE,
                               HAAQI_RATE, task.audiograms[ear], equalisation=2,
                               level1=task.level1[ear], implementation=task.implementation)
                   for ear in range(2))
    return left, right
