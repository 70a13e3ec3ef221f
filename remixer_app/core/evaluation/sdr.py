"""Signal-to-distortion ratio as the Music Demixing Challenges define it.

MDX 2021 and SDX 2023 score a separated stem by one number over the whole track,
both channels together::

    SDR = 10 log10((sum(s**2) + eps) / (sum((s - s_hat)**2) + eps)),  eps = 1e-7

(demucs calls it ``new_sdr``, with ``delta = 1e-7``). Unlike BSSEval (museval), it
allows no distortion filter and no time-varying windows, so it is cheap,
deterministic and punishes gain errors. museval is not used here: it needs an ffmpeg
binary merely to import.
A perfect estimate is capped by ``eps`` at ``10 log10(sum(s**2) / eps + 1)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

EPS = 1e-7  #: the MDX/demucs ``new_sdr`` delta


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """SDR in dB of ``estimate`` against ``reference`` (same shape, any channels)."""
    s = np.asarray(reference, dtype=np.float64)
    s_hat = np.asarray(estimate, dtype=np.float64)
    if s.shape != s_hat.shape:
        raise ValueError(f"reference {s.shape} and estimate {s_hat.shape} differ in shape")
    signal = float(np.sum(s**2))
    error = float(np.sum((s - s_hat) ** 2))
    return 10.0 * float(np.log10((signal + EPS) / (error + EPS)))


def stem_sdrs(references: Mapping[str, np.ndarray], estimates: Mapping[str, np.ndarray]
              ) -> dict[str, float]:
    """SDR of each stem, plus ``"mean"``: their average, the track's score.

    Raises
    ------
    ValueError
        A reference stem has no estimate.
    """
    missing = set(references) - set(estimates)
    if missing:
        raise ValueError(f"no estimate for {', '.join(sorted(missing))}")
    scores = {name: sdr(ref, estimates[name]) for name, ref in references.items()}
    scores["mean"] = float(np.mean(list(scores.values())))
    return scores
