"""One scene's HAAQI: reference and processed signals line up, and a perfect chain scores ~1."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.evaluation.haaqi import (
    HAAQI_RATE,
    HaaqiTask,
    make_task,
    processed_signal,
    reference_signals,
    score,
)

RATE = 44100
GAINS = {"vocals": 6.0, "bass": -3.0}


@pytest.fixture(scope="module")
def scene() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One second of four quiet, different stems (no clipping anywhere in the chain)."""
    rng = np.random.default_rng(7)
    t = np.arange(RATE) / RATE
    stems = {}
    for i, name in enumerate(STEM_NAMES):
        tone = np.sin(2 * np.pi * 110 * (i + 1) * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
        noise = rng.standard_normal(RATE)
        stems[name] = (0.02 * np.stack([tone + 0.1 * noise, tone - 0.1 * noise], axis=1)
                       ).astype(np.float32)
    return stems, sum(stems.values())


def _task(stems: dict[str, np.ndarray], mixture: np.ndarray, trim: int = 0) -> HaaqiTask:
    listener = get_preset("N3")
    reference = reference_signals(stems, mixture, listener, GAINS)
    engine = HearingAidEngine(stems, listener, mixture=mixture)
    processed = processed_signal(engine, ChainSettings(gains_db=GAINS))
    return make_task("t|N3|g", 1234, processed[: len(processed) - trim], reference, listener)


def test_processed_is_the_16_bit_32k_file(scene: tuple[dict[str, np.ndarray], np.ndarray]
                                          ) -> None:
    stems, mixture = scene
    engine = HearingAidEngine(stems, get_preset("N3"), mixture=mixture)
    processed = processed_signal(engine, ChainSettings(gains_db=GAINS))
    assert processed.dtype == np.float32
    assert np.array_equal(processed * 32768, np.round(processed * 32768))  # 16-bit steps
    assert abs(len(processed) - (RATE + 220) * 32000 / RATE) < 2


def test_task_signals_are_aligned(scene: tuple[dict[str, np.ndarray], np.ndarray]) -> None:
    task = _task(*scene)
    assert task.processed.shape == task.reference.shape
    assert abs(len(task.reference) - (RATE + 220) * HAAQI_RATE / RATE) < 2
    for ear in range(2):
        p, r = task.processed[:, ear], task.reference[:, ear]
        lags = scipy.signal.correlate(p, r, mode="full", method="fft")
        assert np.argmax(lags) == len(r) - 1  # best match at lag 0
        assert np.max(np.abs(p - r)) < 0.01 * np.max(np.abs(r))
    rms = np.sqrt(np.mean(task.reference**2))
    assert 0 < rms < 0.1 and all(lv > 65 for lv in task.level1)


def test_length_mismatch_is_a_bug(scene: tuple[dict[str, np.ndarray], np.ndarray]) -> None:
    with pytest.raises(ValueError, match="lengths"):
        _task(*scene, trim=50)


def test_a_perfect_system_scores_near_one(scene: tuple[dict[str, np.ndarray], np.ndarray]
                                          ) -> None:
    # The oracle through the engine vs the recipe's reference: only 16-bit rounding and
    # resampling differ, so HAAQI is what it gives for identical signals (0.999).
    left, right = score(_task(*scene))
    assert left > 0.99 and right > 0.99
    assert left <= 1.0 and right <= 1.0
