"""Tests for remixer_app.core.live_block: the block the live spectrum reads, per source."""

from __future__ import annotations

import numpy as np
from test_player import SETTINGS, make_stems

from remixer_app.core.audiogram import get_preset
from remixer_app.core.band_levels import LIVE_NFFT
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.live_block import live_block
from remixer_app.core.player import Player


def test_each_source_reads_the_frames_before_the_position() -> None:
    stems = make_stems(1.0)
    mixture = sum(stems.values())
    engine = HearingAidEngine(stems, get_preset("N3"), mixture=mixture)
    player = Player(engine, stems, mixture=mixture, settings=SETTINGS)
    player.seek(10_000)
    start, stop = 10_000 - LIVE_NFFT, 10_000
    player.set_source("original")
    assert np.array_equal(live_block(player, stems), player.mixture[start:stop])
    weights = engine.stem_weights(dict(SETTINGS.gains_db))
    player.set_source("remix")
    remix = sum(w * stems[name][start:stop] for w, name in zip(weights, engine.stem_names,
                                                                 strict=True))
    assert np.allclose(live_block(player, stems), remix)
    # without the stems (another track's player) the remix reads as the mixture
    assert np.array_equal(live_block(player), player.mixture[start:stop])
    player.set_source("aided")
    aided = np.einsum("k,kcn->nc", weights,
                      engine.aided[:, :, start + engine.delay:stop + engine.delay])
    assert np.allclose(live_block(player), aided)
    assert np.allclose(live_block(player, stems, weights * 0.5), aided * 0.5)
