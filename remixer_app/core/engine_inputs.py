"""The engine's inputs checked: a track's stems and mixture as audio the engine can fit.

:class:`~remixer_app.core.engine.HearingAidEngine` takes whatever a loader or a caller
hands it; this brings it to (frames, 2) floating-point audio of one length, or says
plainly (:class:`~remixer_app.core.errors.AudioError`) why it cannot be remixed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from remixer_app.core.chain_settings import ENGINE_RATE
from remixer_app.core.dsp.loudness import BLOCK_SECONDS
from remixer_app.core.errors import AudioError
from remixer_app.core.instruments import HearingAid
from remixer_app.core.memory_check import check_fits


def checked_inputs(stems: Mapping[str, np.ndarray], mixture: np.ndarray | None,
                   hearing_aid: HearingAid) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The stems (in their mapping's order) and the mixture as (frames, 2) audio.

    Raises
    ------
    AudioError
        When the track would not fit in memory, a stem or the mixture is not mono or
        stereo or holds NaN or infinite samples, the stems differ in length or are
        too short for NAL-R's loudness match, or the mixture's length differs.
    """
    names = tuple(stems)
    # Before any copy of the stems is made: those copies are what may not fit.
    check_fits(len(stems[names[0]]), len(stems), ENGINE_RATE)
    checked = [_stereo(stems[name], name) for name in names]
    lengths = {name: len(x) for name, x in zip(names, checked, strict=True)}
    if len(set(lengths.values())) != 1:
        raise AudioError(f"stems differ in length: {lengths}")
    frames = checked[0].shape[0]
    if hearing_aid == "nalr" and frames < BLOCK_SECONDS * ENGINE_RATE:
        raise AudioError(f"the stems are too short: loudness matching needs at least "
                         f"{BLOCK_SECONDS} s of audio")
    mix = None
    if mixture is not None:
        mix = _stereo(mixture, "mixture")
        if mix.shape != checked[0].shape:
            raise AudioError(
                f"the mixture has {mix.shape[0]} frames but the stems have {frames}")
    return checked, mix


def _stereo(audio: np.ndarray, name: str) -> np.ndarray:
    """(frames, 2) floating-point ``audio``, copied only to make it so; mono is duplicated
    to both channels."""
    x = np.asarray(audio)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    if x.ndim == 1:
        x = np.stack([x, x], axis=1)
    if x.ndim != 2 or x.shape[1] != 2:
        raise AudioError(f"{name} must be mono or stereo (frames, 2), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise AudioError(f"{name} contains NaN or infinite samples")
    return x
