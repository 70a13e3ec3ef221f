"""What the player plays now, as the live spectrum reads it.

The block of the source heard that ends at the player's position, read from the
track's data on the GUI thread, never from the audio thread. It is the signal before
the player's level match and volume; for the aided source it is the aid's linear part
(:attr:`~remixer_app.core.engine.HearingAidEngine.aided`, weighted), to which the
caller adds what the compressor and clipper do.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from remixer_app.core.band_levels import LIVE_NFFT
from remixer_app.core.player import Player


def live_block(player: Player, stems: Mapping[str, np.ndarray] | None = None,
               weights: np.ndarray | None = None) -> np.ndarray:
    """The :data:`~remixer_app.core.band_levels.LIVE_NFFT` frames of the source heard
    up to ``player.position`` (fewer in a shorter track), (frames, 2) float64.

    Parameters
    ----------
    player
        The player; its engine gives the aided stems.
    stems
        The stems of the player's track, or ``None`` where the caller has not got them:
        the remix then reads as the mixture.
    weights
        The remix weights in the order of the engine's stems; ``None``: those of
        ``player.settings``.
    """
    engine = player.engine
    stop = min(max(player.position, LIVE_NFFT), player.duration)
    start = max(0, stop - LIVE_NFFT)
    source = player.source
    if source == "original" or (source == "remix" and stems is None):
        return np.asarray(player.mixture[start:stop], dtype=float)
    if weights is None:
        weights = engine.stem_weights(dict(player.settings.gains_db))
    if source == "remix" and stems is not None:
        return sum((w * np.asarray(stems[name][start:stop], dtype=float)
                    for w, name in zip(weights, engine.stem_names, strict=True)),
                   np.zeros((stop - start, 2)))
    # the player reads the aided signal ahead by the hearing aid's delay; so do we
    rows = engine.aided[:, :, start + engine.delay:stop + engine.delay]
    return np.einsum("k,kcn->nc", weights, rows)
