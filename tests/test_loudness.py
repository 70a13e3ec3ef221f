"""Tests for remixer_app.core.dsp.loudness against pyloudnorm (the recipe's meter)."""

from __future__ import annotations

import numpy as np
import pyloudnorm as pyln
import pytest

from remixer_app.core.dsp import loudness
from remixer_app.core.dsp.loudness import (
    SILENCE_LUFS,
    RemixLoudness,
    finite_loudness,
    integrated_loudness,
)

RATE = 44100
HOP = 4410  # 100 ms: the gating blocks start every HOP samples
TOL_LU = 1e-9


def reference_lufs(signal: np.ndarray, rate: int = RATE) -> float:
    return float(pyln.Meter(rate).integrated_loudness(signal))


def coloured_noise(rng: np.random.Generator, frames: int, channels: int) -> np.ndarray:
    """Noise with some low-frequency weight and a slowly varying level, so blocks differ."""
    white = rng.standard_normal((frames, channels))
    lowpassed = np.cumsum(white, axis=0) * 0.02
    lowpassed -= lowpassed.mean(axis=0)
    envelope = 0.05 + 0.2 * (1.0 + np.sin(np.arange(frames) / RATE * 2 * np.pi * 0.7))[:, None]
    x = envelope * (0.3 * white + lowpassed)
    return x[:, 0] if channels == 1 else x


def assert_same_lufs(ours: float, ref: float) -> None:
    if np.isinf(ref):
        assert ours == ref, f"ours {ours} LUFS, pyloudnorm {ref}"
    else:
        assert abs(ours - ref) < TOL_LU, f"ours {ours!r} LUFS, pyloudnorm {ref!r}"


@pytest.mark.parametrize("frames", [
    17640,               # exactly one 400 ms block
    17641,
    17640 + HOP - 1,     # one sample short of a second block
    2 * RATE + 1234,     # not a multiple of the hop
    3 * RATE,
    5 * RATE + HOP // 2 + 7,
])
@pytest.mark.parametrize("channels", [1, 2])
def test_integrated_loudness_matches_pyloudnorm(frames: int, channels: int) -> None:
    rng = np.random.default_rng(frames * 10 + channels)
    x = coloured_noise(rng, frames, channels)
    assert_same_lufs(integrated_loudness(x, RATE), reference_lufs(x))


@pytest.mark.parametrize("channels", [1, 2])
def test_gated_passages_match_pyloudnorm(channels: int) -> None:
    """Loud, quiet (below the relative gate) and near-silent (below -70 LUFS) passages."""
    rng = np.random.default_rng(7 + channels)
    loud = 0.3 * rng.standard_normal((2 * RATE, channels))
    quiet = 0.003 * rng.standard_normal((RATE + 321, channels))     # ~ -40 dB: relative gate
    faint = 1e-5 * rng.standard_normal((RATE + 999, channels))      # < -70 LUFS: absolute gate
    x = np.concatenate([faint, loud, quiet, faint, loud[: RATE // 2], quiet])
    if channels == 1:
        x = x[:, 0]
    meter = pyln.Meter(RATE)
    ref = float(meter.integrated_loudness(x))
    blocks = np.asarray(meter.blockwise_loudness)
    # the signal must really exercise both gates, or this test proves little
    assert (blocks < -70).any()
    assert ((blocks > -70) & (blocks < ref - 10)).any()
    ungated = integrated_loudness(loud, RATE)
    assert abs(ref - ungated) > 0.5
    assert_same_lufs(integrated_loudness(x, RATE), ref)


def test_one_loud_block_between_silence() -> None:
    x = np.zeros((3 * RATE + 17, 2))
    x[RATE : RATE + 3000] = 0.5
    assert_same_lufs(integrated_loudness(x, RATE), reference_lufs(x))


@pytest.mark.parametrize("shape", [(RATE,), (2 * RATE + 5, 2)])
def test_silence_is_minus_infinity(shape: tuple[int, ...]) -> None:
    x = np.zeros(shape)
    assert integrated_loudness(x, RATE) == float("-inf")
    assert reference_lufs(x) == float("-inf")


def test_below_absolute_gate_everywhere_is_minus_infinity() -> None:
    x = 1e-6 * np.random.default_rng(3).standard_normal((2 * RATE, 2))
    assert integrated_loudness(x, RATE) == float("-inf")
    assert reference_lufs(x) == float("-inf")


@pytest.mark.parametrize("frames", [0, 1, 4410, 17639])
def test_too_short_raises(frames: int) -> None:
    with pytest.raises(ValueError, match=rf"audio of {frames} samples .* too short: "
                       r"loudness needs at least 0.4 s \(17640 samples\)"):
        integrated_loudness(np.ones((frames, 2)) * 0.1, RATE)


def test_exactly_minimum_length_is_accepted() -> None:
    x = 0.1 * np.random.default_rng(0).standard_normal(17640)
    assert np.isfinite(integrated_loudness(x, RATE))


def test_other_rate_matches_pyloudnorm() -> None:
    rate = 48000
    x = coloured_noise(np.random.default_rng(11), 2 * rate + 77, 2)
    assert_same_lufs(integrated_loudness(x, rate), reference_lufs(x, rate))


def test_scaling_shifts_loudness_by_the_gain() -> None:
    x = coloured_noise(np.random.default_rng(5), 2 * RATE, 2)
    base = integrated_loudness(x, RATE)
    assert integrated_loudness(2.0 * x, RATE) == pytest.approx(base + 20 * np.log10(2), abs=1e-9)


# ---------------------------------------------------------------------------- RemixLoudness


@pytest.fixture(scope="module")
def stems() -> np.ndarray:
    """Four different (n, 2) stems: coloured noise, a sine, a quiet one and a half-silent one."""
    rng = np.random.default_rng(42)
    frames = 3 * RATE + 2345
    t = np.arange(frames) / RATE
    a = coloured_noise(rng, frames, 2)
    b = np.stack([0.4 * np.sin(2 * np.pi * 220 * t), 0.3 * np.sin(2 * np.pi * 3000 * t)], axis=1)
    c = 0.01 * rng.standard_normal((frames, 2))
    d = 0.5 * rng.standard_normal((frames, 2))
    d[: frames // 2] = 0.0
    return np.stack([a, b, c, d])


@pytest.mark.parametrize("weights", [
    [1.0, 1.0, 1.0, 1.0],
    [2.0, 0.5, 0.0, 1.0],
    [0.0, 0.0, 0.0, 1.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.1, 3.0, 0.7, 0.0],
    [1.5, -0.5, 2.0, 0.25],
    [1e-3, 1e-3, 1e-3, 1e-3],
])
def test_remix_loudness_matches_pyloudnorm(stems: np.ndarray, weights: list[float]) -> None:
    w = np.array(weights)
    remix = np.einsum("k,knc->nc", w, stems)
    ours = RemixLoudness(stems, RATE).loudness(w)
    assert_same_lufs(ours, reference_lufs(remix))


def test_remix_loudness_all_zero_weights_is_minus_infinity(stems: np.ndarray) -> None:
    assert RemixLoudness(stems, RATE).loudness(np.zeros(4)) == float("-inf")


def test_remix_loudness_of_single_stem_equals_its_integrated_loudness(stems: np.ndarray) -> None:
    remix = RemixLoudness(stems, RATE)
    for k in range(stems.shape[0]):
        row = np.eye(stems.shape[0])[k]
        assert_same_lufs(remix.loudness(row), integrated_loudness(stems[k], RATE))


def test_remix_loudness_block_power_is_mean_square_of_k_weighted_remix(stems: np.ndarray) -> None:
    remix = RemixLoudness(stems, RATE)
    power = remix.block_power(np.array([1.0, 2.0, 0.0, 0.5]))
    assert power.shape[1] == 2 and np.all(power >= 0)
    # the half-silent stem alone has no power in the first blocks but some in the last
    alone = remix.block_power(np.array([0.0, 0.0, 0.0, 1.0]))
    assert alone[0].max() < 1e-12 < alone[-1].min()


def test_finite_loudness() -> None:
    assert finite_loudness(float("-inf")) == SILENCE_LUFS == -80.0
    assert finite_loudness(-23.5) == -23.5
    assert finite_loudness(-95.0) == -95.0  # only -inf is replaced, as in the recipe
    assert finite_loudness(3.0) == 3.0


def test_k_weighting_a_chunk_at_a_time_changes_no_sample(stems: np.ndarray,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks shorter than a gating block (one piece each) give what whole ones give: the
    filter state carries over, and float32 stems are widened a chunk at a time."""
    whole = RemixLoudness(stems, RATE).block_power(np.array([1.0, 2.0, 0.5, 1.0]))
    lufs = integrated_loudness(stems[0], RATE)
    monkeypatch.setattr(loudness, "CHUNK_FRAMES", 1000)
    chunked = RemixLoudness(list(stems), RATE).block_power(np.array([1.0, 2.0, 0.5, 1.0]))
    np.testing.assert_array_equal(chunked, whole)
    assert integrated_loudness(stems[0], RATE) == lufs
    narrow = stems.astype(np.float32)
    weights = np.array([1.0, -0.5, 3.0, 0.25])
    np.testing.assert_array_equal(
        RemixLoudness(narrow, RATE).block_power(weights),
        RemixLoudness(narrow.astype(np.float64), RATE).block_power(weights))
