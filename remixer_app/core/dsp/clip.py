"""Output clipping: hard, soft (tanh) or none, as the Cadenza recipe's writer does."""

from __future__ import annotations

from typing import Literal

import numpy as np

ClipMode = Literal["hard", "soft", "none"]
CLIP_MODES: tuple[ClipMode, ...] = ("hard", "soft", "none")


def clip_signal(signal: np.ndarray, mode: ClipMode, out: np.ndarray | None = None) -> np.ndarray:
    """Clip to [-1, 1]; ``soft`` passes the signal through tanh first.

    With ``out`` given (it may be ``signal`` itself) nothing is allocated, so the
    audio callback can use it.
    """
    if mode not in CLIP_MODES:
        raise ValueError(f"clip mode must be one of {', '.join(CLIP_MODES)}, not {mode!r}")
    if out is None:
        out = np.array(signal, dtype=np.float64)
    elif out is not signal:
        out[...] = signal
    if mode == "soft":
        np.tanh(out, out=out)
    if mode != "none":
        np.clip(out, -1.0, 1.0, out=out)
    return out


def count_clipped(signal: np.ndarray) -> int:
    """Samples whose magnitude exceeds full scale."""
    return int(np.count_nonzero(np.abs(signal) > 1.0))
