"""Tests for remixer_app.core.stream.StreamRenderer: blocks equal the offline render.

Block timing is not tested here; the benchmarks measure it.
"""

from __future__ import annotations

import numpy as np
import pytest

from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.stream import WARMUP_SECONDS, StreamRenderer

RATE = ENGINE_RATE
COMP = CompressorParams()


def noise_stems(seconds: float, seed: int) -> dict[str, np.ndarray]:
    """Four stereo noise stems with different spectra and loud/quiet passages."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    white = rng.standard_normal((4, n, 2))
    low = np.cumsum(white[1], axis=0)
    low = 0.01 * (low - np.cumsum(low, axis=0) / np.arange(1, n + 1)[:, None])
    envelope = (0.2 + 0.8 * (np.sin(2 * np.pi * 0.23 * t) > -0.3))[:, None]
    return {
        "vocals": 0.15 * envelope * white[0],
        "drums": 0.3 * white[2] * (np.sin(2 * np.pi * 2.0 * t) > 0.5)[:, None],
        "bass": low,
        "other": 0.05 * white[3],
    }


@pytest.fixture(scope="module")
def engine() -> HearingAidEngine:
    return HearingAidEngine(noise_stems(3.0, seed=1), get_preset("N3"))


@pytest.fixture(scope="module")
def long_engine() -> HearingAidEngine:
    return HearingAidEngine(noise_stems(25.0, seed=2), get_preset("N3"))


def stream_all(renderer: StreamRenderer, block: int) -> np.ndarray:
    chunks = []
    out = np.empty((block, 2))
    while (count := renderer.render_into(out)) > 0:
        chunks.append(out[:count].copy())
    return np.concatenate(chunks)


def stream_blocks(renderer: StreamRenderer, block: int, count: int) -> np.ndarray:
    out = np.empty((block, 2))
    chunks = []
    for _ in range(count):
        assert renderer.render_into(out) == block
        chunks.append(out.copy())
    return np.concatenate(chunks)


def test_compressor_acts_on_the_test_signals(engine: HearingAidEngine) -> None:
    with_comp = engine.render(ChainSettings(compressor=COMP, clip="none"))
    without = engine.render(ChainSettings(clip="none"))
    assert np.abs(with_comp - without).max() > 0.1


@pytest.mark.parametrize("block", [1024, 333])
@pytest.mark.parametrize("compressor", [None, COMP])
def test_blocks_equal_offline_render_bitwise(engine: HearingAidEngine, block: int,
                                             compressor: CompressorParams | None) -> None:
    gains = {"vocals": 6.0, "drums": float("-inf"), "bass": -3.0}
    offline = engine.render(ChainSettings(gains, compressor, "none"))
    streamed = stream_all(StreamRenderer(engine, ChainSettings(gains, compressor, "none")), block)
    assert streamed.shape == offline.shape
    assert np.array_equal(streamed, offline)

    hard = stream_all(StreamRenderer(engine, ChainSettings(gains, compressor, "hard")), block)
    assert np.abs(offline).max() > 1.0  # so clipping really happens
    assert np.array_equal(hard, np.clip(offline, -1.0, 1.0))

    soft = stream_all(StreamRenderer(engine, ChainSettings(gains, compressor, "soft")), block)
    np.testing.assert_allclose(soft, np.clip(np.tanh(offline), -1.0, 1.0), rtol=0, atol=1e-15)


def test_tail_is_zero_and_count_is_real_frames(engine: HearingAidEngine) -> None:
    renderer = StreamRenderer(engine, ChainSettings(clip="none"))
    block = 1000
    out = np.empty((block, 2))
    total = 0
    while True:
        out[:] = np.nan
        count = renderer.render_into(out)
        total += count
        if count < block:
            break
    assert total == engine.output_frames == renderer.frames == renderer.position
    assert count == engine.output_frames % block
    assert np.isfinite(out[:count]).all() and np.abs(out[:count]).max() > 0
    assert np.array_equal(out[count:], np.zeros((block - count, 2)))
    out[:] = np.nan
    assert renderer.render_into(out) == 0
    assert np.array_equal(out, np.zeros_like(out))


def test_apply_changes_the_next_block_with_a_ramp(engine: HearingAidEngine) -> None:
    block, before = 1024, 20
    old = ChainSettings({"vocals": 0.0, "drums": -6.0}, None, "none")
    new = ChainSettings({"vocals": 12.0, "drums": float("-inf")}, None, "none")
    w_old, w_new = engine.stem_weights(old.gains_db), engine.stem_weights(new.gains_db)
    offline_old, offline_new = engine.render(old), engine.render(new)

    renderer = StreamRenderer(engine, old)
    head = stream_blocks(renderer, block, before)
    assert np.array_equal(head, offline_old[: before * block])
    renderer.apply(new)
    assert renderer.settings is new
    ramp_block = stream_blocks(renderer, block, 1)
    after = stream_all(renderer, block)

    start = before * block
    span = slice(start, start + block)
    assert np.abs(ramp_block - offline_old[span]).max() > 0.01  # the change is in this block
    # the weights move linearly from the old to the new ones across the block
    ramp = (np.arange(block) + 1.0) / block
    weights = w_old[:, None] + (w_new - w_old)[:, None] * ramp
    expected = np.einsum("ki,kei->ie", weights, engine.aided[:, :, span])
    np.testing.assert_allclose(ramp_block, expected, rtol=0, atol=1e-12)
    # without a compressor, everything after the ramp block is the new offline render
    assert np.array_equal(after, offline_new[start + block :])


def test_gain_step_does_not_click() -> None:
    n = 2 * RATE
    t = np.arange(n) / RATE
    stems = {"vocals": 0.2 * np.sin(2 * np.pi * 1000 * t),
             "other": 0.2 * np.sin(2 * np.pi * 200 * t)}
    eng = HearingAidEngine(stems, get_preset("N3"))
    old = ChainSettings({}, None, "none")
    new = ChainSettings({"vocals": 12.0}, None, "none")
    block, before = 512, 30
    renderer = StreamRenderer(eng, old)
    head = stream_blocks(renderer, block, before)
    renderer.apply(new)
    tail = stream_blocks(renderer, block, 20)
    signal = np.concatenate([head, tail])
    change = before * block
    steady_after = np.abs(np.diff(signal[change + block :], axis=0)).max()
    around_change = np.abs(np.diff(signal[change - 100 : change + block + 1], axis=0)).max()
    assert around_change <= steady_after * (1 + 1e-9), (around_change, steady_after)
    # the check has teeth: switching the gains without a ramp would click
    offline_new = eng.render(new)
    abrupt = np.concatenate([head, offline_new[change : change + block]])
    abrupt_step = np.abs(np.diff(abrupt[change - 100 :], axis=0)).max()
    assert abrupt_step > 1.5 * steady_after


def test_compressor_state_carries_on_through_a_change(engine: HearingAidEngine) -> None:
    block, before = 1024, 40
    old = ChainSettings({"vocals": 0.0}, COMP, "none")
    new = ChainSettings({"vocals": 9.0, "other": -6.0}, COMP, "none")
    w_old, w_new = engine.stem_weights(old.gains_db), engine.stem_weights(new.gains_db)

    renderer = StreamRenderer(engine, old)
    stream_blocks(renderer, block, before)
    renderer.apply(new)
    streamed = stream_blocks(renderer, block, 3)

    def continue_from(state) -> np.ndarray:
        out = np.empty((3 * block, 2))
        scratch = np.empty(block)
        start = before * block
        engine.render_span(engine.plan(new), w_old, start, block, state, scratch, out[:block])
        for i in (1, 2):
            engine.render_span(engine.plan(new), w_new, start + i * block, block, state, scratch,
                               out[i * block : (i + 1) * block])
        return out

    carried = engine.new_state(old)
    sink, scratch = np.empty((before * block, 2)), np.empty(before * block)
    engine.render_span(engine.plan(old), w_old, 0, before * block, carried, scratch, sink)
    assert np.array_equal(streamed, continue_from(carried))
    reset = continue_from(engine.new_state(new))
    assert np.abs(streamed[:block] - reset[:block]).max() > 0.05


def test_apply_same_settings_keeps_the_offline_render(engine: HearingAidEngine) -> None:
    settings = ChainSettings({"bass": 4.0}, COMP, "none")
    renderer = StreamRenderer(engine, settings)
    head = stream_blocks(renderer, 1024, 25)
    renderer.apply(ChainSettings({"bass": 4.0}, CompressorParams(), "none"))
    rest = stream_all(renderer, 1024)
    assert np.array_equal(np.concatenate([head, rest]), engine.render(settings))


def test_switching_the_compressor_on_mid_stream(engine: HearingAidEngine) -> None:
    """The state advances while the compressor is off, so switching it on does not jump."""
    renderer = StreamRenderer(engine, ChainSettings({"drums": 3.0}, None, "none"))
    stream_blocks(renderer, 1024, 30)
    on = ChainSettings({"drums": 3.0}, COMP, "none")
    renderer.apply(on)
    rest = stream_all(renderer, 1024)
    assert np.array_equal(rest, engine.render(on)[30 * 1024 :])


@pytest.mark.parametrize("compressor", [None, COMP])
def test_seek_within_warmup_is_exact(long_engine: HearingAidEngine,
                                     compressor: CompressorParams | None) -> None:
    settings = ChainSettings({"vocals": 3.0}, compressor, "none")
    offline = long_engine.render(settings)
    renderer = StreamRenderer(long_engine, settings)
    stream_blocks(renderer, 1024, 50)
    frame = int(3.3 * RATE) + 17
    assert frame < WARMUP_SECONDS * RATE
    renderer.seek(frame)
    assert renderer.position == frame
    assert np.array_equal(stream_all(renderer, 1024), offline[frame:])


def test_seek_after_warmup_is_close(long_engine: HearingAidEngine) -> None:
    settings = ChainSettings({"vocals": 3.0, "bass": -2.0}, COMP, "none")
    offline = long_engine.render(settings)
    assert np.abs(offline - long_engine.render(ChainSettings(settings.gains_db, None, "none"))
                  ).max() > 0.1  # the compressor acts, so its history matters
    frame = int(20.5 * RATE) + 3
    assert frame > WARMUP_SECONDS * RATE
    renderer = StreamRenderer(long_engine, settings)
    renderer.seek(frame)
    streamed = stream_all(renderer, 1024)
    assert streamed.shape == offline[frame:].shape
    diff = np.abs(streamed - offline[frame:]).max()
    assert diff < 1e-6, f"max abs diff {diff:.3g}"


def test_seek_clamps_to_the_track(engine: HearingAidEngine) -> None:
    settings = ChainSettings({}, COMP, "none")
    renderer = StreamRenderer(engine, settings)
    renderer.seek(engine.output_frames + 5000)
    assert renderer.position == engine.output_frames
    out = np.ones((256, 2))
    assert renderer.render_into(out) == 0 and not out.any()
    renderer.seek(-100)
    assert renderer.position == 0
    assert np.array_equal(stream_all(renderer, 777), engine.render(settings))


def test_rms_window_change_mid_stream(engine: HearingAidEngine) -> None:
    old = ChainSettings({"vocals": 2.0}, COMP, "none")
    new = ChainSettings({"vocals": 2.0}, CompressorParams(rms_buffer_size=0.01), "none")
    assert engine.window_length(new) != engine.window_length(old)
    renderer = StreamRenderer(engine, old)
    stream_blocks(renderer, 1024, 40)
    renderer.apply(new)
    assert renderer.position == 40 * 1024 and renderer.settings is new
    rest = stream_all(renderer, 1024)
    # same gains, and less than the warm-up into the track: the replayed history is exact
    assert np.array_equal(rest, engine.render(new)[40 * 1024 :])


def test_rms_window_change_after_warmup(long_engine: HearingAidEngine) -> None:
    old = ChainSettings({}, COMP, "none")
    new = ChainSettings({}, CompressorParams(rms_buffer_size=0.128), "none")
    renderer = StreamRenderer(long_engine, old)
    frame = int(15 * RATE)
    renderer.seek(frame)
    renderer.apply(new)
    rest = stream_all(renderer, 4096)
    diff = np.abs(rest - long_engine.render(new)[frame:]).max()
    assert diff < 1e-6, f"max abs diff {diff:.3g}"


def test_an_rms_window_change_while_playing_keeps_the_renderer_in_time(
        engine: HearingAidEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    old = ChainSettings({"vocals": 2.0}, COMP, "none")
    new = ChainSettings({"vocals": 2.0}, CompressorParams(rms_buffer_size=0.01), "none")
    renderer = StreamRenderer(engine, old)
    stream_blocks(renderer, 1024, 10)
    real_render_span = engine.render_span
    played = np.empty((1024, 2))

    def audio_thread_plays_on(*args: object, **kwargs: object) -> None:
        # While the GUI thread replays the history, the callback renders a block.
        monkeypatch.setattr(engine, "render_span", real_render_span)
        renderer.render_into(played)
        real_render_span(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "render_span", audio_thread_plays_on)
    renderer.apply(new)
    assert renderer.position == 11 * 1024  # where the old state got to, not a block behind
    rest = stream_all(renderer, 1024)
    assert np.array_equal(rest, engine.render(new)[11 * 1024:])


def test_a_spare_cursor_starts_on_the_settings_applied_after_its_seek(
        engine: HearingAidEngine) -> None:
    muted = ChainSettings({"drums": -np.inf, "bass": -np.inf, "other": -np.inf}, None, "none")
    spare = StreamRenderer(engine, ChainSettings({}, None, "none"))
    spare.seek(RATE)  # a loop's start, prepared before the user mutes the stems
    spare.apply(muted)
    fresh = StreamRenderer(engine, muted)
    fresh.seek(RATE)
    # From the wrap on the new mix plays: no ramp from the mix of before the change.
    assert np.array_equal(stream_blocks(spare, 1024, 2), stream_blocks(fresh, 1024, 2))


def test_buffers_longer_than_max_block_are_rendered_whole(engine: HearingAidEngine) -> None:
    settings = ChainSettings({"vocals": 3.0}, COMP, "none")
    offline = engine.render(settings)
    renderer = StreamRenderer(engine, settings, max_block=512)
    streamed = stream_all(renderer, 1500)
    assert np.array_equal(streamed, offline)
