"""The Wiener remask: stems that add up to the mixture, streaming, silence, gains."""

from __future__ import annotations

import numpy as np
import pytest

from remixer_app.core.evaluation.sdr import sdr
from remixer_app.core.separation.remask import FRAME, HOP, WienerRemask

RATE = 44100


def _remask(mix: np.ndarray, estimates: dict[str, np.ndarray], cuts: list[int]
            ) -> dict[str, np.ndarray]:
    """Push ``mix`` in chunks cut at ``cuts``; check the output comes in order, no gaps."""
    remask = WienerRemask(tuple(estimates))
    parts: dict[str, list[np.ndarray]] = {s: [] for s in estimates}
    bounds = [0, *cuts, len(mix)]
    results = [remask.push(mix[a:b], {s: e[a:b] for s, e in estimates.items()})
               for a, b in zip(bounds, bounds[1:], strict=False)]
    expected = 0
    for start, chunk in [*results, remask.finish()]:
        lengths = {len(v) for v in chunk.values()}
        assert len(lengths) == 1
        length = lengths.pop()
        assert start == expected or length == 0
        expected += length
        for s, v in chunk.items():
            assert v.dtype == np.float32 and v.shape[1:] == (2,)
            parts[s].append(v)
    return {s: np.concatenate(v) for s, v in parts.items()}


Stems = dict[str, np.ndarray]


def _tones(seconds: float, seed: int = 0) -> tuple[np.ndarray, Stems, Stems]:
    """Three tonal sources an octave apart, and noisy estimates of them."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    truth = {name: np.stack([np.sin(2 * np.pi * f * t), 0.7 * np.sin(2 * np.pi * f * t + 1)],
                            1).astype(np.float32) * 0.2
             for name, f in (("low", 220.0), ("mid", 440.0), ("high", 880.0))}
    mix = np.sum(list(truth.values()), axis=0)
    estimates = {name: (s + 0.05 * rng.standard_normal(s.shape)).astype(np.float32)
                 for name, s in truth.items()}
    return mix, truth, estimates


def test_remasked_stems_add_up_to_the_mixture_and_are_better_estimates() -> None:
    mix, truth, estimates = _tones(3.0)
    out = _remask(mix, estimates, [])
    assert all(v.shape == mix.shape for v in out.values())
    np.testing.assert_allclose(np.sum(list(out.values()), axis=0), mix, atol=1e-5)
    for name, source in truth.items():
        # the noise falls mostly in bins where another stem (or none) dominates
        assert sdr(source, out[name]) > sdr(source, estimates[name]) + 6.0, name


def test_cutting_the_input_into_chunks_changes_nothing() -> None:
    mix, _, estimates = _tones(2.5, seed=1)
    whole = _remask(mix, estimates, [])
    rng = np.random.default_rng(2)
    for cuts in ([1], [HOP - 1, HOP, FRAME + 7], sorted(rng.choice(len(mix), 9, replace=False))):
        chunked = _remask(mix, estimates, [int(c) for c in cuts])
        for name in whole:
            np.testing.assert_allclose(chunked[name], whole[name], atol=1e-6)


def test_a_stem_alone_takes_the_whole_mixture_and_silence_is_shared() -> None:
    rng = np.random.default_rng(3)
    mix = (0.1 * rng.standard_normal((RATE, 2))).astype(np.float32)
    silent = np.zeros_like(mix)
    out = _remask(mix, {"a": 0.5 * mix, "b": silent}, [])
    np.testing.assert_allclose(out["a"], mix, atol=1e-5)
    np.testing.assert_allclose(out["b"], 0.0, atol=1e-5)
    out = _remask(mix, {"a": silent, "b": silent, "c": silent}, [RATE // 3])
    for v in out.values():  # no stem knows anything: each gets a third
        np.testing.assert_allclose(v, mix / 3, atol=1e-5)


def test_short_inputs_come_out_whole() -> None:
    for frames in (0, 1, HOP, FRAME + 1):
        mix = np.full((frames, 2), 0.1, np.float32)
        out = _remask(mix, {"a": mix, "b": 0 * mix}, [])
        assert out["a"].shape == (frames, 2)
        np.testing.assert_allclose(out["a"] + out["b"], mix, atol=1e-6)


def test_check_runs_between_batches_so_a_cancel_stops_it() -> None:
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("cancelled")

    mix = np.zeros((60 * RATE, 2), np.float32)
    remask = WienerRemask(("a", "b"), check)
    with pytest.raises(RuntimeError, match="cancelled"):
        remask.push(mix, {"a": mix, "b": mix})
    assert len(calls) == 3
