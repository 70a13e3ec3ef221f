"""What the user sets on the hearing-aid chain, and that setting resolved for rendering.

:class:`ChainSettings` is everything that changes without re-filtering the stems (gains,
compressor, clip); :class:`RenderPlan` is those settings as the compiled render kernels
take them, built once per change by :meth:`~remixer_app.core.engine.HearingAidEngine.plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from remixer_app.core.dsp.clip import CLIP_MODES, ClipMode
from remixer_app.core.dsp.compressor import CompressorParams

ENGINE_RATE = 44100
CLIP_CODES = {mode: code for code, mode in enumerate(CLIP_MODES)}  # hard 0, soft 1, none 2


@dataclass(frozen=True)
class ChainSettings:
    """Everything the user can change without re-filtering the stems.

    Attributes
    ----------
    gains_db
        Per-stem gain in dB; ``-inf`` mutes a stem; stems not named get 0 dB.
    compressor
        Compressor settings, or ``None`` for no compressor (the challenge baseline);
        ignored by the multiband hearing aid, which has its own.
    clip
        ``"hard"``, ``"soft"`` (tanh) or ``"none"``.
    """

    gains_db: Mapping[str, float] = field(default_factory=dict)
    compressor: CompressorParams | None = None
    clip: ClipMode = "hard"

    def __post_init__(self) -> None:
        if self.clip not in CLIP_MODES:
            raise ValueError(f"clip must be one of {', '.join(CLIP_MODES)}, not {self.clip!r}")
        for name, gain in self.gains_db.items():
            if np.isnan(gain) or gain == float("inf"):
                raise ValueError(f"gain of {name} must be a finite number of dB or -inf (mute)")
        if self.compressor is not None:  # refused now, not at the first render
            self.compressor.check_rate(ENGINE_RATE)


@dataclass(frozen=True, eq=False)
class RenderPlan:
    """:class:`ChainSettings` resolved into what the render kernel takes.

    Built once per settings change, off the audio thread
    (:meth:`~remixer_app.core.engine.HearingAidEngine.plan`), so rendering a block
    converts nothing and allocates nothing.
    """

    settings: ChainSettings
    weights: np.ndarray        # linear stem weights, loudness-matched or level-ruled
    coeffs: np.ndarray         # compressor constants for the kernel
    window_length: int         # compressor RMS window in samples (0: multiband)
    clip_code: int
