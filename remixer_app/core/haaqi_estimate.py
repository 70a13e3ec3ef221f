"""HAAQI estimates for the app: the current settings, around the playhead, per ear.

Two comparisons, named so the user knows which one they see:

* ``"true stems"`` (the Cadenza score): when the track came with its real stems, the
  reference is those stems remixed with the same gains, NAL-R, no compressor, no
  clipping, as the challenge builds it; the processed signal is what the user hears
  (separated stems through the full chain).
* ``"chain only"``: without true stems, the reference is the *same* separated stems
  without compressor and clipping, so the score shows what the compressor and the
  clipping cost this listener, not how good the separation is.
* ``"clipping only"``: the same for the multiband aid, whose compressor is part of
  its reference (as in Cadenza 2), so only the clipping is left to cost anything.

The processed signal is clipped as chosen after resampling to the 32 kHz output rate,
as exported. Both signals go to 24 kHz and :func:`remixer_app.core.metrics.compute_haaqi`
scores each ear with ``equalisation=2`` and ``level1 = 65 - 20 log10(rms(remix ear))``,
the remix being the reference's before the hearing aid (as the recipe sets it), numpy
seeded with a fixed value so an unchanged setting gives an unchanged score.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.resample import resample
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.export import DEFAULT_EXPORT_RATE as OUTPUT_RATE
from remixer_app.core.exporting import remix_signal
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
        ``"true stems"``, ``"chain only"`` or ``"clipping only"`` (see the module notes).
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
             reference_stems: Mapping[str, np.ndarray],
             true_engine: HearingAidEngine | None = None,
             seconds: float = EXCERPT_S,
             cancelled: CancelCheck | None = None) -> HaaqiEstimate:
    """Score the hearing-aid output of ``settings`` on an excerpt from ``position``.

    Parameters
    ----------
    engine
        The engine of the stems being remixed (separated ones, usually).
    reference_stems
        The stems the reference engine was built from (``true_engine``'s, else
        ``engine``'s), before the hearing aid: HAAQI's level comes from their remix.
    true_engine
        The engine of the track's true stems, for the Cadenza comparison; None
        otherwise.
    cancelled
        Polled between the steps (render, each ear's reference model, each ear's
        score); when it returns True, :class:`Cancelled` is raised, so a replaced
        estimate stops within one step instead of scoring to its end.

    Raises
    ------
    ValueError
        ``reference_stems`` lacks a stem of the reference engine.
    """
    reference_engine = true_engine or engine
    missing = set(reference_engine.stem_names) - set(reference_stems)
    if missing:
        raise ValueError(f"reference stems lack {', '.join(sorted(missing))}")
    start, end = excerpt_bounds(position, engine.input_frames, seconds)
    # What the user hears and exports: clipped as chosen, after the resampling to the
    # output rate, as the recipe's files are.
    processed, _ = HearingAidEngine.finalize(engine.render(settings)[start:end], settings,
                                             OUTPUT_RATE)
    plain = replace(settings, compressor=None, clip="none")
    reference = reference_engine.render(plain)[start:end]
    remix = remix_signal(reference_engine, {name: reference_stems[name][start:end]
                                            for name in reference_engine.stem_names},
                         settings, aid_input=True)
    scores = []
    for ear in (0, 1):
        check_cancelled(cancelled)
        ref = resample(reference[:, ear], ENGINE_RATE, HAAQI_RATE)
        out = resample(processed[:, ear], OUTPUT_RATE, HAAQI_RATE)
        rms = float(np.sqrt(np.mean(np.square(remix[:, ear]))))
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
    if true_engine is not None:
        comparison = "true stems"
    else:  # the multiband aid's compressor is in its reference too: clipping is what is left
        comparison = "clipping only" if engine.hearing_aid == "multiband" else "chain only"
    return HaaqiEstimate(scores[0], scores[1], comparison,
                         start / ENGINE_RATE, (end - start) / ENGINE_RATE)
