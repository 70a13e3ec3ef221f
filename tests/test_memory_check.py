"""A track too long for the machine's memory gets a message, not an out-of-memory kill."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from remixer_app.core import memory_check
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import AudioError
from remixer_app.core.memory_check import (
    BYTES_PER_FRAME,
    BYTES_PER_FRAME_STEM,
    available_bytes,
    check_fits,
)
from remixer_app.core.player import Player


def test_the_available_memory_is_read() -> None:
    available = available_bytes()
    assert available is None or available > 0


def test_a_track_that_would_not_fit_is_refused_with_the_numbers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 20 * 10**9)
    hour = 3600 * 44100
    with pytest.raises(AudioError, match=r"this 60-minute track of 4 stems needs about "
                                         r"30\.5 GB of memory for the hearing aid, and "
                                         r"20\.0 GB are available: open a shorter excerpt"):
        check_fits(hour, 4, 44100)
    check_fits(hour // 3, 4, 44100)  # 20 minutes: 10.2 GB, it fits
    monkeypatch.setattr(memory_check, "available_bytes", lambda: None)
    check_fits(100 * hour, 4, 44100)  # unknown: not refused on a guess


def test_the_engine_asks_before_copying_the_stems(monkeypatch: pytest.MonkeyPatch) -> None:
    stems = {name: np.zeros((44100, 2), np.float32) for name in ("violin", "cello")}
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 1000)
    with pytest.raises(AudioError, match="needs about"):
        HearingAidEngine(stems, get_preset("N3"), hearing_aid="multiband")
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 10**9)
    assert HearingAidEngine(stems, get_preset("N3"), hearing_aid="multiband").input_frames == 44100


def test_fitting_playing_and_rendering_peak_below_what_is_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine, the player and a whole render of 4 float32 stems (the app's format)
    hold at their peak less than the bytes a frame :func:`check_fits` counts, and fitting
    the engine little more than the filtered stems it keeps; it once made stacked float64
    copies of the stems and peaked at 2.5 times those, 184 bytes a frame in all."""
    # The player measures the aid on an excerpt of at most 30 s: a fixed cost, which a
    # 10 s track would count as one per frame. A 1 s excerpt keeps it apart.
    excerpt = HearingAidEngine.excerpt
    monkeypatch.setattr(HearingAidEngine, "excerpt",
                        lambda self, settings, seconds=1.0: excerpt(self, settings, seconds))
    rng = np.random.default_rng(0)
    listener = get_preset("N3")

    def stems(seconds: int) -> dict[str, np.ndarray]:
        return {name: (0.1 * rng.standard_normal((seconds * ENGINE_RATE, 2))).astype(np.float32)
                for name in ("vocals", "drums", "bass", "other")}

    def fit_play_and_render(track: dict[str, np.ndarray]) -> tuple[HearingAidEngine, int]:
        engine = HearingAidEngine(track, listener)
        fitted = tracemalloc.get_traced_memory()[1]
        Player(engine, track).stop()
        engine.render(ChainSettings())
        return engine, fitted

    fit_play_and_render(stems(1))  # compiles kernels, imports: not per frame
    track = stems(10)
    tracemalloc.start()
    try:
        engine, fitted = fit_play_and_render(track)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fitted < 1.5 * engine.aided.nbytes
    assert peak / (10 * ENGINE_RATE) < 4 * BYTES_PER_FRAME_STEM + BYTES_PER_FRAME
