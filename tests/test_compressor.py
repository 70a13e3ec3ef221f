"""Tests for remixer_app.core.dsp.compressor against pyclarity's Compressor."""

from __future__ import annotations

import numpy as np
import pytest
from clarity.enhancer.compressor import Compressor

from remixer_app.core.dsp.compressor import (
    MAX_RMS_WINDOW,
    CompressorParams,
    CompressorState,
    compress,
    compress_block,
)

RATE = 44100

PARAM_SETS = {
    "recipe": (CompressorParams(), RATE),
    "fast_makeup": (CompressorParams(threshold=0.1, attenuation=0.5, attack=5.0, release=100.0,
                                     rms_buffer_size=0.0123, makeup_gain=2.0), RATE),
    "slow_limit_22k": (CompressorParams(threshold=0.2, attenuation=0.0, attack=1.0,
                                        release=20.0, rms_buffer_size=0.2, makeup_gain=0.5),
                       22050),
}


def bursts(rate: int, seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """Noise bursts well above and below the thresholds, with silent gaps."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    envelope = 0.8 * (1.0 + np.sin(2 * np.pi * 1.3 * t)) ** 2
    x = envelope * rng.standard_normal(n) * 0.5
    x[n // 3 : n // 3 + rate // 10] = 0.0
    return x




def reference(x: np.ndarray, params: CompressorParams, rate: int) -> np.ndarray:
    comp = Compressor(fs=rate, threshold=params.threshold, attenuation=params.attenuation,
                      attack=params.attack, release=params.release,
                      rms_buffer_size=params.rms_buffer_size, makeup_gain=params.makeup_gain)
    out, _, _ = comp.process(x)
    return out


def run_blocks(x: np.ndarray, params: CompressorParams, rate: int, sizes: list[int],
               apply_gain: list[bool] | None = None, in_place: bool = False) -> np.ndarray:
    state = CompressorState(params.window_length(rate))
    coeffs = params.coefficients(rate)
    out = x.copy() if in_place else np.empty_like(x)
    start = 0
    for i, size in enumerate(sizes):
        stop = min(start + size, len(x))
        src = out[start:stop] if in_place else x[start:stop]
        compress_block(src, out[start:stop], coeffs, state.window[0], state.values[0],
                       state.position[0:1], True if apply_gain is None else apply_gain[i])
        start = stop
    assert start == len(x), "block sizes must cover the signal"
    return out


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_compress_matches_pyclarity(name: str) -> None:
    params, rate = PARAM_SETS[name]
    x = bursts(rate)
    ref = reference(x, params, rate)
    ours = compress(x, params, rate)
    diff = np.abs(ours - ref).max()
    assert diff < 1e-12, f"max abs diff {diff:.3g}"
    # the compressor must actually have acted on this signal
    assert np.abs(ours - x * params.makeup_gain).max() > 0.1


def test_coefficients_and_window_match_pyclarity() -> None:
    for params, rate in PARAM_SETS.values():
        comp = Compressor(fs=rate, attack=params.attack, release=params.release,
                          rms_buffer_size=params.rms_buffer_size)
        threshold, attenuation, attack, release, makeup = params.coefficients(rate)
        assert (attack, release) == (comp.attack, comp.release)
        assert (threshold, attenuation, makeup) == (
            params.threshold, params.attenuation, params.makeup_gain)
        assert params.window_length(rate) == comp.win_len


def test_recipe_defaults() -> None:
    p = CompressorParams()
    assert (p.threshold, p.attenuation, p.attack, p.release, p.rms_buffer_size,
            p.makeup_gain) == (0.35, 0.1, 50.0, 1000.0, 0.064, 1.0)
    assert p.window_length(RATE) == 2822


@pytest.mark.parametrize("name", list(PARAM_SETS))
@pytest.mark.parametrize("in_place", [False, True])
def test_blocks_equal_whole_signal_bitwise(name: str, in_place: bool) -> None:
    params, rate = PARAM_SETS[name]
    x = bursts(rate, seed=1)
    whole = compress(x, params, rate)
    # blocks shorter and longer than the RMS window, including single samples
    sizes = [1, 7, 1000, 333, 4096, 1, 2, 9000, 5555]
    sizes.append(len(x) - sum(sizes))
    assert sizes[-1] > 0
    blocks = run_blocks(x, params, rate, sizes, in_place=in_place)
    assert np.array_equal(blocks, whole)


def test_channels_of_a_state_are_independent() -> None:
    params = CompressorParams()
    coeffs = params.coefficients(RATE)
    left, right = bursts(RATE, 1.0, seed=2), 0.3 * bursts(RATE, 1.0, seed=3)
    state = CompressorState(params.window_length(RATE), channels=2)
    out = np.empty((2, len(left)))
    for a, b in ((0, 500), (500, 20000), (20000, len(left))):
        for ch, x in enumerate((left, right)):
            compress_block(x[a:b], out[ch, a:b], coeffs, state.window[ch], state.values[ch],
                           state.position[ch:ch + 1], True)
    assert np.array_equal(out[0], compress(left, params, RATE))
    assert np.array_equal(out[1], compress(right, params, RATE))


def test_apply_gain_false_passes_through_while_state_advances() -> None:
    params = CompressorParams()
    x = bursts(RATE, seed=4)
    split = 30001
    whole = compress(x, params, RATE)
    out = run_blocks(x, params, RATE, [10000, split - 10000, len(x) - split],
                     apply_gain=[False, False, True])
    assert np.array_equal(out[:split], x[:split])
    assert np.array_equal(out[split:], whole[split:])
    # a compressor that starts fresh at the split point gives something else
    fresh = compress(x[split:], params, RATE)
    assert np.abs(fresh - whole[split:]).max() > 1e-3


def test_state_holds_the_gain_after_a_block() -> None:
    params = CompressorParams()
    state = CompressorState(params.window_length(RATE))
    assert state.window_length == 2822 and state.values[0, 2] == 1.0
    loud = np.full(RATE // 2, 0.9)
    out = np.empty_like(loud)
    compress_block(loud, out, params.coefficients(RATE), state.window[0], state.values[0],
                   state.position[0:1], True)
    target = 0.9 * params.attenuation + (1 - params.attenuation) * params.threshold
    assert state.values[0, 2] == pytest.approx(target, rel=1e-3)
    assert out[-1] == pytest.approx(0.9 * target, rel=1e-3)


def test_long_signal_stays_with_pyclarity() -> None:
    """10 s of alternating loud and quiet passages: the running RMS sum does not drift."""
    params = CompressorParams(threshold=0.05, rms_buffer_size=0.005)
    rng = np.random.default_rng(9)
    n = 10 * RATE
    x = rng.standard_normal(n) * np.where((np.arange(n) // RATE) % 2 == 0, 1.0, 1e-3)
    ours = compress(x, params, RATE)
    ref = reference(x, params, RATE)
    assert np.abs(ours - ref).max() < 1e-12


@pytest.mark.parametrize("kwargs", [
    {"attack": 0.0},
    {"attack": -5.0},
    {"release": 0.0},
    {"release": float("nan")},
    {"rms_buffer_size": 0.0},
    {"rms_buffer_size": -0.1},
    {"rms_buffer_size": 5.001},
    {"rms_buffer_size": 1e6},
    {"attenuation": 1.5},
    {"attenuation": -0.1},
    {"attenuation": float("nan")},
    {"threshold": float("nan")},
    {"makeup_gain": float("nan")},
    {"makeup_gain": float("inf")},
])
def test_invalid_params_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CompressorParams(**kwargs)


def test_rms_window_is_at_most_a_few_seconds() -> None:
    assert CompressorParams(rms_buffer_size=MAX_RMS_WINDOW).window_length(RATE) == 5 * RATE
    with pytest.raises(ValueError) as caught:
        CompressorParams(rms_buffer_size=1e6)
    assert str(caught.value) == "rms_buffer_size must be positive and at most 5 seconds, not 1e+06"


@pytest.mark.parametrize("name", ["attack", "release"])
def test_attack_and_release_must_last_one_sample(name: str) -> None:
    params = CompressorParams(**{name: 0.01})  # valid in itself: the limit depends on the rate
    with pytest.raises(ValueError) as caught:
        params.coefficients(RATE)
    assert str(caught.value) == (f"compressor {name} must be at least 0.02268 ms (one sample "
                                 "at 44100 Hz), not 0.01 ms")
    assert params.coefficients(100_000)[2:4].max() == pytest.approx(1.0)
    # At the limit the gain steps straight to its target and stays bounded.
    shortest = CompressorParams(**{name: 1000.0 / RATE})
    out = compress(bursts(RATE, seconds=0.5), shortest, RATE)
    assert np.isfinite(out).all() and np.abs(out).max() < 10.0
