"""Tests for the Cadenza 2 hearing aid: the multiband compressor against pyclarity's, its
fitting rule, the level rule, and the engine's multiband mode against the reference chain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba
import numpy as np
import pyloudnorm as pyln
import pytest
from clarity.enhancer.multiband_compressor.crossover import Crossover
from numba.core.runtime import _nrt_python, rtsys

from remixer_app.core.audiogram import Audiogram, get_preset
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.crossover import CROSSOVER_FREQUENCIES, crossover_filters
from remixer_app.core.dsp.multiband import multiband_block, multiband_compress, process_block
from remixer_app.core.dsp.multiband_fitting import (
    ATTACK_MS,
    INPUT_LUFS,
    RELEASE_MS,
    level_adjustment_db,
    makeup_gain_db,
    multiband_params,
)
from remixer_app.core.dsp.multiband_params import MultibandParams, MultibandState
from remixer_app.core.dsp.reference import reference_classical_chain, reference_multiband
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.instruments import HEARING_AIDS
from remixer_app.core.render_kernels import render_block_multiband
from remixer_app.core.stream import StreamRenderer, warmup_seconds

RATE = 44100
NEG_INF = float("-inf")
LOSS = np.array([20.0, 30.0, 40.0, 50.0, 60.0, 70.0])
FITTED = MultibandParams(attack=ATTACK_MS, release=RELEASE_MS, threshold=(-35.0,),
                         ratio=tuple(1 + (LOSS - 20) / 40), makeup_gain=tuple(0.45 * (LOSS - 20)))


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Stereo noise whose level steps up and down (attack and release both act)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    envelope = 0.05 + 0.5 * (np.sin(2 * np.pi * 0.6 * np.arange(n) / RATE) > 0)
    return rng.standard_normal((n, 2)) * envelope[:, None]


def tones(seconds: float) -> np.ndarray:
    """A loud chord across the bands, gated, with exact zeros in the gaps."""
    t = np.arange(int(seconds * RATE)) / RATE
    chord = sum(a * np.sin(2 * np.pi * f * t) for a, f in
                [(0.4, 110.0), (0.3, 440.0), (0.2, 1500.0), (0.15, 3500.0), (0.1, 7000.0)])
    gate = np.sin(2 * np.pi * 0.7 * t) > -0.5
    return np.stack([chord * gate, 0.8 * chord], axis=1)


def test_crossover_coefficients_are_the_references_bit_for_bit() -> None:
    reference = Crossover(np.array(CROSSOVER_FREQUENCIES), RATE)
    for m, bank in enumerate(crossover_filters(CROSSOVER_FREQUENCIES, RATE)):
        for kind, col in (("low", 0), ("high", 1)):
            assert np.array_equal(bank[kind][0], reference.bstore[:, m, col])
            assert np.array_equal(bank[kind][1], reference.astore[:, m, col])
        assert np.array_equal(bank["all"][0], reference.bstore_phi[:, m])
        assert np.array_equal(bank["all"][1], reference.astore_phi[:, m])


@pytest.mark.parametrize("signal", [noise(5.0), tones(5.0)], ids=["noise", "tones"])
def test_matches_pyclarity(signal: np.ndarray) -> None:
    ours = multiband_compress(signal, FITTED, RATE)
    reference = reference_multiband(signal, FITTED)
    assert np.abs(reference - signal).max() > 0.5  # the compressors really act
    # the filters are the reference's bit for bit; only the gains' exp/log differ (~1e-15)
    assert np.abs(ours - reference).max() < 1e-6


def test_soft_knee_mono_and_another_rate_match_pyclarity() -> None:
    params = MultibandParams(attack=(5.0,), release=(50.0,),
                             threshold=(-30.0, -25.0, -20.0, -20.0, -25.0, -40.0), ratio=(4.0,),
                             makeup_gain=(3.0,), knee_width=(10.0, 6.0, 0.0, 20.0, 10.0, 10.0))
    signal = noise(1.0, seed=3)[:, 0]
    ours = multiband_compress(signal, params, 32000)
    assert ours.shape == signal.shape
    assert np.abs(ours - reference_multiband(signal, params, 32000)).max() < 1e-6


@pytest.mark.parametrize("sizes", [[1, 2, 3, 250, 7], [256], [257, 4096, 1000], [10_000]])
def test_blocks_equal_whole_bitwise(sizes: list[int]) -> None:
    signal = noise(0.5, seed=1)
    signal[5000:15000] = 0.0  # long enough for the state to be flushed in the gap
    whole = multiband_compress(signal, FITTED, RATE)
    coefficients = FITTED.coefficients(RATE)
    state = MultibandState(coefficients, channels=2)
    out = np.empty_like(signal)
    start, k = 0, 0
    while start < len(signal):
        stop = min(len(signal), start + sizes[k % len(sizes)])
        process_block(signal[start:stop], out[start:stop], coefficients, state)
        start, k = stop, k + 1
    assert np.array_equal(out, whole)


def test_silence_flushes_the_state_and_still_matches_pyclarity() -> None:
    signal = np.concatenate([noise(0.3, seed=2)[:, 0], np.zeros(RATE)])
    coefficients = FITTED.coefficients(RATE)
    state = MultibandState(coefficients)
    out = np.empty_like(signal)
    process_block(signal[:, None], out[:, None], coefficients, state)
    # left alone, the all-passes would cycle through subnormals (70 times slower)
    assert not state.filters.any()
    assert np.all(np.abs(out[-RATE // 2 :]) < 1e-9)
    assert np.abs(out - reference_multiband(signal, FITTED)).max() < 1e-6


@numba.njit
def _repeat(times: int, signal: np.ndarray, out: np.ndarray, program: np.ndarray,
            taps: np.ndarray, compressor: np.ndarray, filters: np.ndarray, gains: np.ndarray,
            work: np.ndarray, position: np.ndarray) -> None:  # pragma: no cover - compiled
    for _ in range(times):
        multiband_block(signal, out, program, taps, compressor, filters, gains, work, position)


@contextmanager
def allocation_counter() -> Iterator[Callable[[], int]]:
    """Numba runtime allocations (compiled code's arrays) since entering the block."""
    was_enabled = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    start = rtsys.get_allocation_stats().alloc
    try:
        yield lambda: int(rtsys.get_allocation_stats().alloc - start)
    finally:
        if not was_enabled:
            _nrt_python.memsys_disable_stats()


def test_block_path_allocates_nothing() -> None:
    coefficients = FITTED.coefficients(RATE)
    state = MultibandState(coefficients, channels=1)
    block = noise(0.1)[:4096, 0].copy()
    args = (block, block, coefficients.program, coefficients.taps, coefficients.compressor,
            state.filters[0], state.gains[0], state.work[0], state.position[0:1])
    _repeat(1, *args)  # compiled before counting
    with allocation_counter() as allocations:
        _repeat(1, *args)
        once = allocations()  # passing arrays in costs a few wrappers
        _repeat(20, *args)
        assert allocations() == 2 * once  # and the blocks themselves nothing


def test_params_broadcast_and_validate() -> None:
    params = MultibandParams(threshold=(-30.0,), ratio=[2.0] * 6)
    assert params.threshold == (-30.0,) * 6 and params.ratio == (2.0,) * 6
    assert params.bands == 6 and params.attack == (15.0,) * 6
    assert MultibandParams(crossover_frequencies=(1000.0,)).bands == 2
    with pytest.raises(ValueError, match="ratio has 4 values; expected 1 or 6"):
        MultibandParams(ratio=(1.0, 2.0, 3.0, 4.0))
    with pytest.raises(ValueError, match="attack and release must be positive"):
        MultibandParams(release=(0.0,))
    with pytest.raises(ValueError, match="ratio must be at least 1"):
        MultibandParams(ratio=(0.5,))
    with pytest.raises(ValueError, match="knee_width must not be negative"):
        MultibandParams(knee_width=(-1.0,))
    with pytest.raises(ValueError, match="threshold must be finite"):
        MultibandParams(threshold=(float("nan"),))
    with pytest.raises(ValueError, match="ascending"):
        MultibandParams(crossover_frequencies=(500.0, 250.0))
    with pytest.raises(ValueError, match="at least one"):
        MultibandParams(crossover_frequencies=())
    with pytest.raises(ValueError, match="Nyquist"):
        MultibandParams().coefficients(8000)
    with pytest.raises(ValueError, match=r"\(frames,\) or \(frames, channels\)"):
        multiband_compress(np.zeros((4, 2, 2)), MultibandParams(), RATE)


def test_fitting_rule() -> None:
    normal = multiband_params(get_preset("NH").left, RATE)
    assert normal.ratio == (1.0,) * 6 and normal.makeup_gain == (0.0,) * 6
    assert normal.threshold == (-30.0,) * 6 and normal.knee_width == (0.0,) * 6
    assert normal.attack == ATTACK_MS and normal.release == RELEASE_MS
    assert normal.crossover_frequencies == CROSSOVER_FREQUENCIES
    # The Cadenza 2 recipe's own derivation (CAMFIT table, gain at 65 dB SPL, ratio over
    # 55 -> 85 dB, read at 250 .. 4000 and 6000 Hz) run on presets N1 and S2, left ear.
    n1 = multiband_params(get_preset("N1").left, RATE)
    np.testing.assert_allclose(n1.makeup_gain, [0, 0, 0, 3.0, 12.2, 8.2], atol=0.05)
    np.testing.assert_allclose(n1.ratio, [1.01, 1, 1, 1, 1.12, 1.58], atol=0.005)
    s2 = multiband_params(get_preset("S2").left, RATE)
    np.testing.assert_allclose(s2.makeup_gain, [0, 1.5, 8.9, 17.4, 35.0, 35.0], atol=0.05)
    np.testing.assert_allclose(s2.ratio, [1.04, 1.01, 1.08, 1.83, 1, 1], atol=0.005)
    ear = Audiogram(np.array([250.0, 500, 1000, 2000, 4000, 8000]),
                    np.array([25.0, 45, 65, 85, 105, 120]))
    with pytest.raises(ValueError, match="Nyquist"):
        multiband_params(ear, 8000)


def test_fitting_follows_camfit_table() -> None:
    """Gain and ratio are read from pyclarity's CAMFIT table as the recipe reads them."""
    from clarity.enhancer.gha.gha_utils import gainrule_camfit_compr

    bands = np.array([177.0, 297, 500, 841, 1414, 2378, 4000, 6727, 11314])
    edges = np.array([1e-8, 229.2793, 385.3570, 648.4597, 1090.5, 1833.7, 3084.2, 5187.3,
                      8724.1, 1e7])
    levels = np.arange(-10, 111)
    read = [250, 500, 1000, 2000, 4000, 6000]
    for name in ("N3", "N5", "S3"):
        listener = get_preset(name)
        left, right = listener.left.to_clarity(), listener.right.to_clarity()
        table = gainrule_camfit_compr(
            left, right, {"frequencies": bands, "edge_frequencies": edges, "levels": levels,
                          "channels": 2, "side": "lr"}, 45.0, 0.0, 0.0, 100.0)[0]
        for side, ear in enumerate((listener.left, listener.right)):
            gains = {level: table[levels.tolist().index(level), :, side]
                     for level in (55, 65, 85)}
            output = (85 + gains[85]) - (55 + gains[55])
            flat = output == 0  # the output is at its cap throughout: no compression
            ratio = np.where(flat, 1.0, 30.0 / np.where(flat, 1.0, output))
            fitted = multiband_params(ear, RATE)
            np.testing.assert_allclose(fitted.makeup_gain, np.interp(read, bands, gains[65]),
                                       atol=1e-9)
            np.testing.assert_allclose(fitted.ratio, np.interp(read, bands, ratio), atol=1e-9)
            assert max(fitted.makeup_gain) > 10.0 and max(fitted.ratio) > 1.5
    assert np.any(flat)  # N5 and S3's top bands: the recipe's ratio 1 there is kept


def test_level_adjustment() -> None:
    assert level_adjustment_db([0.0, 0.0, 0.0]) == 0.0
    expected = -10 * math.log10((10 ** 0.6 + 0 + 1 + 10 ** -0.3) / 4)
    assert level_adjustment_db([6.0, NEG_INF, 0.0, -3.0]) == pytest.approx(expected, abs=1e-12)
    assert level_adjustment_db([NEG_INF, NEG_INF]) == 0.0
    assert level_adjustment_db([10.0]) == pytest.approx(-10.0, abs=1e-12)
    # The recipe averages over sources: two bassoons (one stem) count twice. A CAD2
    # test scene's gains, bassoon -5, clarinet +7, oboe -2: -2.98 dB per stem, -1.96
    # per player.
    assert level_adjustment_db([-5.0, 7.0, -2.0]) == pytest.approx(-2.98, abs=0.005)
    assert level_adjustment_db([-5.0, 7.0, -2.0], [2, 1, 1]) == pytest.approx(-1.96, abs=0.005)
    with pytest.raises(ValueError, match="players"):
        level_adjustment_db([0.0, 0.0], [1, 0])
    for bad in ([float("nan")], [float("inf")], []):
        with pytest.raises(ValueError):
            level_adjustment_db(bad)
    with pytest.raises(ValueError, match="players"):
        level_adjustment_db([0.0, 0.0], [1])


# ---------------------------------------------------------------- the engine's multiband mode


def classical_stems(seconds: float = 3.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    return {
        "vocals": 0.2 * rng.standard_normal((n, 2)) * (np.sin(2 * np.pi * 0.5 * t) > 0)[:, None],
        "drums": 0.5 * np.sin(2 * np.pi * 300 * t),  # mono: both ears
        "bass": 0.05 * rng.standard_normal((n, 2)),
        "other": np.stack([0.3 * np.sin(2 * np.pi * 3000 * t),
                           0.1 * np.sin(2 * np.pi * 6000 * t)], axis=1),
    }


@pytest.fixture(scope="module")
def stems() -> dict[str, np.ndarray]:
    return classical_stems()


@pytest.fixture(scope="module")
def engine(stems: dict[str, np.ndarray]) -> HearingAidEngine:
    return HearingAidEngine(stems, get_preset("S3"), hearing_aid="multiband")


GAINS = {"vocals": 6.0, "bass": NEG_INF, "drums": -3.0}


def test_engine_mode_basics(engine: HearingAidEngine, stems: dict[str, np.ndarray]) -> None:
    assert HEARING_AIDS == ("nalr", "multiband") and engine.hearing_aid == "multiband"
    assert engine.output_frames == engine.input_frames == len(stems["bass"])
    assert engine.delay == 0 and HearingAidEngine(stems, get_preset("S3")).delay == 110
    # the stems, not NAL-R filtered, brought to the level the fitting assumes
    mixture = sum(np.broadcast_to(np.reshape(x, (len(x), -1)), (len(x), 2))
                  for x in stems.values())
    lufs = pyln.Meter(RATE).integrated_loudness(mixture)
    assert lufs > INPUT_LUFS + 20.0  # a loud track: the gain matters
    assert engine.input_gain == pytest.approx(10 ** ((INPUT_LUFS - lufs) / 20), rel=1e-9)
    assert np.array_equal(engine.aided[2], stems["bass"].T * engine.input_gain)
    listener = get_preset("S3")
    assert engine.multiband == (multiband_params(listener.left, RATE),
                                multiband_params(listener.right, RATE))
    weights = engine.stem_weights(GAINS)
    level = 10 ** (level_adjustment_db([6.0, -3.0, NEG_INF, 0.0]) / 20)
    np.testing.assert_allclose(weights, np.array([10 ** 0.3, 10 ** -0.15, 0, 1]) * level,
                               rtol=1e-15)
    with pytest.raises(ValueError, match="hearing_aid must be one of nalr, multiband"):
        HearingAidEngine(stems, listener, hearing_aid="nal-r")  # type: ignore[arg-type]
    nalr = HearingAidEngine(stems, listener)
    plan = engine.plan(ChainSettings())
    with pytest.raises(TypeError, match="new_state"):
        engine.render_span(plan, plan.weights, 0, 10, nalr.new_state(ChainSettings()),
                           np.empty(10), np.empty((10, 2)))


def test_engine_matches_the_reference_chain(engine: HearingAidEngine,
                                            stems: dict[str, np.ndarray]) -> None:
    settings = ChainSettings(GAINS, None, "hard")
    ours = engine.render(settings)
    reference = reference_classical_chain(stems, get_preset("S3"), GAINS, clip="none")
    assert np.abs(reference).max() > 1.0  # make-up gains of up to 24 dB: clipping matters
    assert np.abs(ours - reference).max() < 1e-6
    final, over = HearingAidEngine.finalize(ours, settings, RATE)
    clipped = reference_classical_chain(stems, get_preset("S3"), GAINS, clip="hard")
    assert over > 0 and np.abs(final - clipped).max() < 1e-6
    # the single-band compressor setting plays no part in this mode
    with_comp = engine.render(ChainSettings(GAINS, CompressorParams(), "hard"))
    assert np.array_equal(with_comp, ours)


def test_the_aid_hears_any_track_at_the_level_its_fitting_assumes(
        stems: dict[str, np.ndarray]) -> None:
    # A master at its own level would drive the make-up gains into clipping (a third of
    # the samples for N5); the recipe's music sits near -40 LUFS, and so does the input.
    loud, quiet = ({k: g * np.asarray(v) for k, v in stems.items()} for g in (1.0, 0.05))
    outputs = [HearingAidEngine(x, get_preset("N5"), hearing_aid="multiband").render(
        ChainSettings(GAINS)) for x in (loud, quiet)]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)  # rounding, as above
    assert np.mean(np.abs(outputs[0]) > 1.0) < 0.001
    # The stems' sum sets the level, not a mixture given beside them (`render` has only
    # the stems; a silent mixture file once gave a 40 dB boost)
    mixture = sum(np.broadcast_to(np.reshape(x, (len(x), -1)), (len(x), 2))
                  for x in loud.values())
    for given in (0.5 * mixture, np.zeros_like(mixture)):
        engine = HearingAidEngine(loud, get_preset("N5"), mixture=given,
                                  hearing_aid="multiband")
        assert np.array_equal(engine.render(ChainSettings(GAINS)), outputs[0])


def test_all_muted_is_near_silence(engine: HearingAidEngine) -> None:
    muted = dict.fromkeys(engine.stem_names, NEG_INF)
    assert not engine.stem_weights(muted).any()
    # pyclarity's compressor reads exact zeros as 1e-12, so silence stays far below audibility
    assert np.abs(engine.render(ChainSettings(muted))).max() < 1e-9


@pytest.mark.parametrize("block", [1024, 333])
def test_streaming_equals_offline_bitwise(engine: HearingAidEngine, block: int) -> None:
    settings = ChainSettings(GAINS, None, "hard")
    offline = engine.render(settings)
    renderer = StreamRenderer(engine, settings, max_block=1000)
    out = np.empty((block, 2))
    chunks = []
    while (count := renderer.render_into(out)) > 0:
        chunks.append(out[:count].copy())
    streamed = np.concatenate(chunks)
    assert streamed.shape == offline.shape
    assert np.array_equal(streamed, np.clip(offline, -1.0, 1.0))
    assert warmup_seconds(engine) == 2.0  # 20 of the slowest release (100 ms)
    frame = int(1.7 * RATE) + 11  # within the warm-up: the replayed state is exact
    renderer.seek(frame)
    assert renderer.render_into(out) == block
    assert np.array_equal(out, np.clip(offline[frame:frame + block], -1.0, 1.0))
    frame = int(2.6 * RATE) + 5  # beyond it: the state is rebuilt from 0.6 s
    renderer.seek(frame)
    assert renderer.render_into(out) == block
    assert np.abs(out - np.clip(offline[frame:frame + block], -1.0, 1.0)).max() < 1e-6


def test_gain_change_ramps_and_the_state_carries_on(engine: HearingAidEngine) -> None:
    block, before, after = 1024, 40, 20
    old, new = ChainSettings(GAINS, None, "none"), ChainSettings({"drums": 9.0}, None, "none")
    renderer = StreamRenderer(engine, old)
    out = np.empty((block, 2))
    chunks = []
    for i in range(before + 1 + after):
        if i == before:
            renderer.apply(new)
        assert renderer.render_into(out) == block
        chunks.append(out.copy())
    streamed = np.concatenate(chunks)

    # the same by hand: the weights ramp across the first block after the change, and
    # the compressors run on through it
    w_old, w_new = engine.stem_weights(old.gains_db), engine.stem_weights(new.gains_db)
    frames = len(streamed)
    weights = np.empty((len(w_old), frames))
    weights[:, : before * block] = w_old[:, None]
    steps = np.arange(block) + 1.0
    weights[:, before * block : (before + 1) * block] = (
        w_old[:, None] + ((w_new - w_old) / block)[:, None] * steps)
    weights[:, (before + 1) * block :] = w_new[:, None]
    mix = np.zeros((frames, 2))
    for k in range(len(w_old)):
        mix += (weights[k][:, None] * engine.aided[k, :, :frames].T)
    expected = np.stack([multiband_compress(mix[:, ear], engine.multiband[ear], RATE)
                         for ear in range(2)], axis=1)
    np.testing.assert_allclose(streamed, expected, rtol=0, atol=1e-12)
    assert np.array_equal(streamed[: before * block], engine.render(old)[: before * block])


@numba.njit
def _repeat_render(times: int, aided: np.ndarray, weights_from: np.ndarray,
                   weights_to: np.ndarray, program: np.ndarray, taps: np.ndarray,
                   compressors: np.ndarray, filters: np.ndarray, gains: np.ndarray,
                   work: np.ndarray, position: np.ndarray, scratch: np.ndarray,
                   out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(times):
        render_block_multiband(aided, weights_from, weights_to, i * 512, 512, program, taps,
                               compressors, filters, gains, work, position, 0, scratch, out)


def test_the_playback_block_allocates_nothing(engine: HearingAidEngine) -> None:
    plan = engine.plan(ChainSettings(GAINS))
    state = engine.new_state(plan.settings)
    assert isinstance(state, MultibandState)
    args = (engine.aided, plan.weights * 0.5, plan.weights, engine._program, engine._taps,
            engine._band_compressors, state.filters, state.gains, state.work, state.position,
            np.empty(512), np.empty((512, 2)))
    _repeat_render(1, *args)
    with allocation_counter() as allocations:
        _repeat_render(1, *args)
        once = allocations()
        _repeat_render(20, *args)
        assert allocations() == 2 * once


def test_makeup_gain_is_read_per_band() -> None:
    params = multiband_params(get_preset("N3").left, 44100)
    gains = makeup_gain_db(params, [100.0, 1000.0, 2000.0, 10000.0])  # bands 0, 2, 3, 5
    assert list(gains) == [params.makeup_gain[0], params.makeup_gain[2],
                           params.makeup_gain[3], params.makeup_gain[5]]
