"""The waveform overview: min and max of the channel mean per column, read in chunks."""

from __future__ import annotations

import numpy as np
import pytest

from remixer_app.core.overview import COLUMNS_PER_CHUNK, overview


def direct(audio: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same figures from the whole track at once."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    starts = np.unique(np.linspace(0, len(mono), min(columns, len(mono)), endpoint=False
                                   ).astype(np.int64))
    return starts, np.minimum.reduceat(mono, starts), np.maximum.reduceat(mono, starts)


def test_a_single_click_shows_in_its_column() -> None:
    audio = np.zeros((10_000, 2))
    audio[5000, 0] = 1.0
    view = overview(audio, 1000.0, columns=100)
    assert len(view.seconds) == len(view.low) == len(view.high) == 100
    assert view.high.max() == 0.5 and view.low.min() == 0.0
    assert view.seconds[int(np.argmax(view.high))] == 5.0
    assert view.duration_s == 10.0


@pytest.mark.parametrize("frames, columns", [(44_100 * 7 + 13, 2000), (999, 2000),
                                             (COLUMNS_PER_CHUNK * 40 + 3, 777)])
def test_chunks_give_what_the_whole_track_gives(frames: int, columns: int) -> None:
    audio = np.random.default_rng(frames).standard_normal((frames, 2)).astype(np.float32)
    starts, low, high = direct(audio, columns)
    view = overview(audio, 44_100.0, columns=columns)
    np.testing.assert_allclose(view.seconds, starts / 44_100.0)
    np.testing.assert_allclose(view.low, low, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(view.high, high, rtol=1e-6, atol=1e-6)


def test_mono_and_empty_tracks() -> None:
    mono = np.linspace(-1.0, 1.0, 400)
    view = overview(mono, 100.0, columns=4)
    np.testing.assert_allclose(view.low, mono[::100], rtol=1e-6)
    assert len(overview(np.zeros((0, 2)), 100.0).seconds) == 0
    assert overview(np.zeros((0, 2)), 100.0).duration_s == 1e-3
