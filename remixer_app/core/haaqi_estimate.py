"""HAAQI estimates for the app: the current settings, around the playhead, per ear.

Two comparisons, named so the user knows which one they see:

* ``"true stems"`` (the Cadenza score): when the track came with its real stems, the
  reference is those stems remixed with the same gains, NAL-R, no compressor, no
  clipping, as the challenge builds it; the processed signal is what the user hears
  (separated stems through the full chain).
* ``"chain only"``: without true stems, the reference is the *same* separated stems
  without compressor and clipping, so the score shows what the compressor and the
  clipping cost this listener, not how good the separation is.

Both signals go to 24 kHz and :func:`remixer_app.core.metrics.compute_haaqi` scores
each ear with ``equalisation=2`` and ``level1 = 65 - 20 log10(rms(reference ear))``,
numpy seeded with a fixed value so an unchanged setting gives an unchanged score.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from remixer_app.core.dsp.resample import resample
from remixer_app.core.engine import ENGINE_RATE, ChainSettings, HearingAidEngine
from remixer_app.core.metrics import HaaqiReference
from remixer_app.core.progress import CancelCheck, check_cancelled

HAAQI_RATE = 24000
EXCERPT_S = 8.0
SEED = 2024
# HAAQI draws its threshold noise from numpy's global generator (as pyclarity does):
# estimates running at once would interleave their draws and lose repeatability.
_GLOBAL_RNG = threading.Lock()


@dataclass(frozen=True)
class HaaqiEstimate:
    """Scores of one excerpt.

    Attributes
    ----------
    left, right
        HAAQI per ear, 0 (worst) .. 1 (best).
    comparison
        ``"true stems"`` or ``"chain only"`` (see the module notes).
    start_s, seconds
        The excerpt scored.
    """

    left: float
    right: float
    comparison: str
    start_s: float
    seconds: float

    @property
    def mean(self) -> float:
        """The scene score of the challenge: the mean of the ears."""
        return (self.left + self.right) / 2.0


def excerpt_bounds(position: int, frames: int, seconds: float = EXCERPT_S) -> tuple[int, int]:
    """A ``seconds`` excerpt starting at the playhead, moved back to fit the track."""
    length = min(frames, int(seconds * ENGINE_RATE))
    start = min(max(0, position), frames - length)
    return start, start + length


def estimate(engine: HearingAidEngine, settings: ChainSettings, position: int, *,
             true_engine: HearingAidEngine | None = None,
             seconds: float = EXCERPT_S,
             cancelled: CancelCheck | None = None) -> HaaqiEstimate:
    """Score the hearing-aid output of ``settings`` on an excerpt from ``position``.

    Parameters
    ----------
    engine
        The engine of the stems being remixed (separated ones, usually).
    true_engine
        The engine of the track's true stems, for the Cadenza comparison; None
        otherwise.
    cancelled
        Polled between the steps (render, each ear's reference model, each ear's
        score); when it returns True, :class:`Cancelled` is raised, so a replaced
        estimate stops within one step instead of scoring to its end.
    """

    start, end = excerpt_bounds(position, engine.input_frames, seconds)
    processed = engine.render(settings)[start:end]
    plain = replace(settings, compressor=None, clip="none")
    reference = (true_engine or engine).render(plain)[start:end]
    scores = []
    for ear in (0, 1):
        check_cancelled(cancelled)
        ref = resample(reference[:, ear], ENGINE_RATE, HAAQI_RATE)
        out = resample(np.clip(processed[:, ear], -1.0, 1.0), ENGINE_RATE, HAAQI_RATE)
        rms = float(np.sqrt(np.mean(ref ** 2)))
        if rms == 0.0:  # a silent excerpt cannot be scored
            scores.append(float("nan"))
            continue
        audiogram = engine.listener.left if ear == 0 else engine.listener.right
        model = HaaqiReference(ref, HAAQI_RATE, audiogram, equalisation=2,
                               level1=65.0 - 20.0 * np.log10(rms))
        check_cancelled(cancelled)
        with _GLOBAL_RNG:
            np.random.seed(SEED)
            scores.append(model.score(out, HAAQI_RATE))
    return HaaqiEstimate(scores[0], scores[1],
                         "true stems" if true_engine is not None else "chain only",
                         start / ENGINE_RATE, (end - start) / ENGINE_RATE)
