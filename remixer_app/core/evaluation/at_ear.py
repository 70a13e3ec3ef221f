"""What the hearing-aid microphones pick up from a stereo pair of loudspeakers.

As in the Cadenza ICASSP 2024 data generator, each ear hears both loudspeakers::

    left_ear  = lfilter(h_LL, 1, x_left) + lfilter(h_RL, 1, x_right)
    right_ear = lfilter(h_LR, 1, x_left) + lfilter(h_RR, 1, x_right)

where ``h_SE`` is the response from speaker ``S`` to ear ``E``. Every at-ear signal
is then scaled to the integrated loudness of the signal it was made from, so the
head changes the timbre and the interaural cues of the music but not its level.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from remixer_app.core.dsp.loudness import finite_loudness, integrated_loudness
from remixer_app.core.dsp.nalr import apply_fir
from remixer_app.core.evaluation.hrir import SpeakerHrirs


def _fir(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    # lfilter(h, 1, x) is the first len(x) samples of the full convolution; the FFT
    # convolution gives the same to rounding error, many times faster for 235 taps.
    return apply_fir(h, x)[: len(x)]


def binaural(signal: np.ndarray, hrirs: SpeakerHrirs) -> np.ndarray:
    """Play a (frames, 2) stereo signal over the loudspeakers; (frames, 2) at the ears.

    ``signal`` must be at ``hrirs.rate``. The result is float64 and as long as the
    input (the responses' tails past the end are cut, as ``lfilter`` does).
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected a (frames, 2) stereo signal, got shape {x.shape}")
    ears = []
    for ear in range(2):
        ears.append(_fir(hrirs.left_speaker[:, ear], x[:, 0])
                    + _fir(hrirs.right_speaker[:, ear], x[:, 1]))
    return np.stack(ears, axis=1)


def match_loudness(signal: np.ndarray, target: np.ndarray, rate: float) -> np.ndarray:
    """``signal`` scaled to the integrated loudness of ``target``.

    Silence (a loudness of -inf) counts as -80 LUFS on both sides, the recipe's
    rule, so a silent stem stays silent instead of turning into NaN.
    """
    gain_db = (finite_loudness(integrated_loudness(target, rate))
               - finite_loudness(integrated_loudness(signal, rate)))
    return signal * 10.0 ** (gain_db / 20.0)


def at_ear(stems: Mapping[str, np.ndarray], hrirs: SpeakerHrirs
           ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The stems and their mixture as heard at the hearing-aid microphones.

    Parameters
    ----------
    stems
        Stem name -> (frames, 2) loudspeaker signal at ``hrirs.rate``.
    hrirs
        Loudspeaker-to-ear responses.

    Returns
    -------
    tuple[dict[str, numpy.ndarray], numpy.ndarray]
        The at-ear stems, each loudness-matched to its loudspeaker signal, and the
        at-ear mixture (the sum of the unmatched at-ear stems, i.e. the loudspeaker
        mixture through the head) loudness-matched to the loudspeaker mixture.
        Because each is matched on its own, the stems do not sum exactly to the
        mixture; that is how the challenge's data were made.
    """
    raw = {name: binaural(x, hrirs) for name, x in stems.items()}
    mixture = np.sum([np.asarray(x, dtype=np.float64) for x in stems.values()], axis=0)
    raw_mixture = np.sum(list(raw.values()), axis=0)
    matched = {name: match_loudness(raw[name], stems[name], hrirs.rate) for name in stems}
    return matched, match_loudness(raw_mixture, mixture, hrirs.rate)
