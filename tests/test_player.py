"""Tests for remixer_app.core.player: the callback driven by hand, no sound card needed."""

from __future__ import annotations

import tracemalloc
import weakref
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from remixer_app.core import playback_probe
from remixer_app.core.aid_effect import measure_aid_effect
from remixer_app.core.audio_device import output_devices
from remixer_app.core.audiogram import get_preset, presets
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.loudness import integrated_loudness
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.mix_model import MixModel
from remixer_app.core.player import Player
from remixer_app.core.player_mixer import SPLICE_FRAMES
from remixer_app.core.player_transport import PlayState
from remixer_app.core.stream import StreamRenderer

RATE = ENGINE_RATE
BLOCK = 1024
SETTINGS = ChainSettings({"vocals": 4.0, "bass": -3.0}, None, "none")


def make_stems(seconds: float = 3.0) -> dict[str, np.ndarray]:
    """Four quiet stereo stems: two tones, two noises (no clipping anywhere)."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = lambda f, a: np.stack([a * np.sin(2 * np.pi * f * t)] * 2, axis=1)  # noqa: E731
    return {"vocals": tone(440.0, 0.08), "drums": 0.04 * rng.standard_normal((t.size, 2)),
            "bass": tone(70.0, 0.15), "other": 0.02 * rng.standard_normal((t.size, 2))}


@pytest.fixture(scope="module")
def stems() -> dict[str, np.ndarray]:
    return make_stems()


@pytest.fixture(scope="module")
def mixture(stems: dict[str, np.ndarray]) -> np.ndarray:
    return sum(stems.values())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def engine(stems: dict[str, np.ndarray], mixture: np.ndarray) -> HearingAidEngine:
    return HearingAidEngine(stems, get_preset("N3"), mixture=mixture)


@pytest.fixture
def player(engine: HearingAidEngine, stems: dict[str, np.ndarray],
           mixture: np.ndarray) -> Player:
    return Player(engine, stems, mixture=mixture, settings=SETTINGS)


def run(player: Player, blocks: int, size: int = BLOCK) -> np.ndarray:
    """Drive the callback like the device does and return what it wrote."""
    chunks = []
    for _ in range(blocks):
        out = np.full((size, 2), np.nan, dtype=np.float32)
        player.callback(out, size, None, None)
        chunks.append(out)
    return np.concatenate(chunks)


def start(player: Player, source: str) -> None:
    """Play ``source`` past its one-block fade-in."""
    player.set_source(source)  # type: ignore[arg-type]
    player.play()
    run(player, 1)


def aided_reference(engine: HearingAidEngine, frame: int, frames: int) -> np.ndarray:
    renderer = StreamRenderer(engine, SETTINGS)
    renderer.seek(frame + engine.delay)
    out = np.empty((frames, 2))
    renderer.render_into(out)
    return out


def f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32)


FADE_IN = ((np.arange(SPLICE_FRAMES) + 1.0) / SPLICE_FRAMES)[:, None]


def splice(left: np.ndarray | None, new: np.ndarray) -> np.ndarray:
    """A jump's crossfade: ``left`` (the place left; ``None``: silence) fading out over
    :data:`SPLICE_FRAMES` while ``new`` fades in."""
    out = np.array(new, dtype=np.float64)
    k = min(len(out), SPLICE_FRAMES)
    out[:k] *= FADE_IN[:k]
    if left is not None:
        out[:k] += (1.0 - FADE_IN[:k]) * left[:k]
    return out


def test_aided_is_the_renderer_output_times_its_level_gain(player: Player,
                                                           engine: HearingAidEngine) -> None:
    player.play()
    assert player.state is PlayState.PLAYING and player.source == "aided"
    out = run(player, 6)
    gain = player.level_gains["aided"]
    expected = aided_reference(engine, 0, 6 * BLOCK) * gain
    # the first block fades in, the rest is the renderer's output, level-matched
    ramp = (np.arange(BLOCK) + 1.0) / BLOCK
    np.testing.assert_allclose(out[:BLOCK], f32(expected[:BLOCK] * ramp[:, None]), atol=1e-7)
    np.testing.assert_allclose(out[BLOCK:], f32(expected[BLOCK:]), rtol=0, atol=1e-7)
    assert 0.0 < gain < 1.0  # NAL-R for N3 adds level, which the match takes away
    assert player.position == 6 * BLOCK


def test_original_is_the_mixture_times_its_gain(player: Player, mixture: np.ndarray) -> None:
    start(player, "original")
    out = run(player, 4)
    assert player.level_gains["original"] == 1.0  # the reference
    np.testing.assert_array_equal(out, f32(mixture[BLOCK:5 * BLOCK]))


def test_remix_is_the_weighted_stems(player: Player, engine: HearingAidEngine,
                                     stems: dict[str, np.ndarray]) -> None:
    settings = ChainSettings({"vocals": 6.0, "drums": float("-inf")}, None, "none")
    player.apply_settings(settings)
    start(player, "remix")
    out = run(player, 4)
    weights = engine.plan(settings).weights  # gains and the loudness match to the mixture
    span = slice(BLOCK, 5 * BLOCK)
    expected = sum(w * stems[name][span] for w, name in zip(weights, engine.stem_names,
                                                            strict=True))
    assert player.level_gains["remix"] == 1.0  # the weights already match the loudness
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    drums_only = stems["drums"][span]
    assert np.abs(out - (expected + 0.5 * drums_only)).max() > 1e-3  # the mute is heard


def test_switch_takes_effect_at_the_next_block(player: Player, engine: HearingAidEngine,
                                               mixture: np.ndarray) -> None:
    start(player, "original")
    run(player, 2)
    player.set_source("aided")
    switch, after = run(player, 1), run(player, 3)
    gain = player.level_gains["aided"]
    aided = aided_reference(engine, 3 * BLOCK, 4 * BLOCK) * gain
    ramp = ((np.arange(BLOCK) + 1.0) / BLOCK)[:, None]
    crossfade = (1 - ramp) * mixture[3 * BLOCK:4 * BLOCK] + ramp * aided[:BLOCK]
    np.testing.assert_allclose(switch, crossfade, rtol=0, atol=1e-6)
    np.testing.assert_allclose(after, f32(aided[BLOCK:]), rtol=0, atol=1e-7)


def test_pause_fades_out_then_gives_zeros_and_keeps_the_position(
        player: Player, mixture: np.ndarray) -> None:
    start(player, "original")
    run(player, 3)
    player.pause()
    assert player.state is PlayState.PAUSED
    fade = run(player, 1)
    ramp = ((BLOCK - 1.0 - np.arange(BLOCK)) / BLOCK)[:, None]
    np.testing.assert_allclose(fade, mixture[4 * BLOCK:5 * BLOCK] * ramp, atol=1e-7)
    here = player.position
    assert here == 5 * BLOCK
    assert not run(player, 5).any()
    assert player.position == here
    player.pause()  # a no-op while paused
    assert player.state is PlayState.PAUSED
    player.play()
    resumed = run(player, 2)
    assert np.abs(resumed[:BLOCK]).max() > 0
    np.testing.assert_array_equal(resumed[BLOCK:], f32(mixture[here + BLOCK:here + 2 * BLOCK]))


def test_seek_crossfades_from_the_old_place(player: Player, engine: HearingAidEngine,
                                            mixture: np.ndarray) -> None:
    start(player, "original")
    player.seek(20_000)
    assert player.position == 20_000
    expected = splice(mixture[BLOCK:2 * BLOCK], mixture[20_000:20_000 + BLOCK])
    np.testing.assert_allclose(run(player, 1), f32(expected), rtol=0, atol=1e-7)
    np.testing.assert_array_equal(run(player, 1), f32(mixture[20_000 + BLOCK:20_000 + 2 * BLOCK]))
    player.set_source("aided")
    run(player, 1)  # the source crossfade
    player.seek(50_000)
    gain = player.level_gains["aided"]
    left = aided_reference(engine, 20_000, 4 * BLOCK)[3 * BLOCK:]  # the old renderer goes on
    expected = splice(left, aided_reference(engine, 50_000, 2 * BLOCK)) * gain
    np.testing.assert_allclose(run(player, 2), f32(expected), rtol=0, atol=1e-6)
    player.seek(-5)
    assert player.position == 0
    player.seek(10**9)
    assert player.position == player.duration


TONE = 0.3  # amplitude of the tone-only track the click tests play
STEEPEST = TONE * 2 * np.pi * 440.0 / RATE  # the tone's largest step between samples


@pytest.fixture
def tone(engine: HearingAidEngine, stems: dict[str, np.ndarray]) -> Player:
    """A player of a 440 Hz tone alone (level match off): clicks stand out."""
    t = np.arange(len(stems["vocals"])) / RATE
    sine = np.stack([TONE * np.sin(2 * np.pi * 440.0 * t)] * 2, axis=1)
    only = {**{k: 0 * v for k, v in stems.items()}, "vocals": sine}
    player = Player(HearingAidEngine(only, get_preset("N3"), mixture=sine), only,
                    mixture=sine, settings=SETTINGS)
    player.set_level_match(False)
    player.set_source("original")
    return player


def assert_smooth(out: np.ndarray, steepest: float = STEEPEST) -> None:
    steps = np.abs(np.diff(out[:, 0].astype(np.float64)))
    assert steps.max() < 1.3 * steepest, f"a step of {steps.max() / steepest:.1f}x the tone's"


def test_a_seek_does_not_click(tone: Player) -> None:
    """A jump between opposite phases of a tone: no step larger than the tone's own."""
    tone.play()
    head = run(tone, 2)
    period = RATE / 440.0
    tone.seek(int(2 * BLOCK + 20 * period + period / 2))  # half a period off: phase flipped
    assert_smooth(np.concatenate([head, run(tone, 2)]))


@pytest.mark.parametrize("size", [64, 256, 1024])
def test_jumps_during_jumps_and_to_the_end_do_not_click(tone: Player, size: int) -> None:
    tone.play()
    out = [run(tone, 4096 // size, size)]
    for frame in (50_000, 80_123, 20_777):  # seeks 128 frames apart: scrubbing
        tone.seek(frame)
        out.append(run(tone, max(1, 128 // size), size))
    out.append(run(tone, 2048 // size, size))
    tone.seek(tone.duration - 200)  # pressing End, or a drag to it
    out.append(run(tone, 2048 // size, size))
    assert_smooth(np.concatenate(out))
    assert tone.state is PlayState.STOPPED


@pytest.mark.parametrize("size", [64, 256, 1024])
def test_a_stop_mid_crossfade_leaves_nothing_for_the_next_play(tone: Player,
                                                              size: int) -> None:
    tone.play()
    run(tone, 4096 // size, size)
    tone.seek(60_000)
    run(tone, 1, size)  # a block into the seek's crossfade
    tone.stop()
    run(tone, 2, size)
    tone.play()
    out = run(tone, 1, size)
    ramp = ((np.arange(size) + 1.0) / size)[:, None]  # the play's fade-in, of the start only
    np.testing.assert_allclose(out, f32(tone.mixture[:size] * ramp), rtol=0, atol=1e-7)


def test_loop_wraps_do_not_click(tone: Player) -> None:
    end = tone.duration - 30_000
    tone.set_loop((end - 20_000, end))
    tone.seek(end - 700)
    tone.play()  # the wrap falls inside the play's fade-in block
    out = [run(tone, 1)]
    tone.pause()
    out.append(run(tone, 1))
    tone.set_loop((tone.duration - 20_000, 10**9))  # to the track's end: nothing after it
    tone.seek(tone.duration - 20_000)
    tone.play()
    for _ in range(60):  # three laps, the GUI timer preparing each wrap
        out.append(run(tone, 1))
        tone.poll()
    assert_smooth(np.concatenate(out))


@pytest.mark.parametrize("source", ["original", "aided"])
def test_a_wrap_without_a_spare_plays_on_then_crossfades_back(tone: Player,
                                                             source: str) -> None:
    loop = (20_000, 30_000)
    tone.set_source(source)  # type: ignore[arg-type]
    tone.set_loop(loop)
    tone.seek(loop[0])
    tone.play()
    out = run(tone, 24)  # two wraps, no GUI timer: the second has no spare
    assert tone.position > loop[1]
    tone.poll()
    assert loop[0] <= tone.position < loop[1]
    out = np.concatenate([out, run(tone, 2)])
    steepest = STEEPEST
    if source == "aided":  # the hearing aid's own largest step on this tone
        steepest = float(np.abs(np.diff(aided_reference(tone.engine, 0, 20_000)[:, 0])).max())
    assert_smooth(out[BLOCK:], steepest)  # after the play's fade-in block


def test_the_callback_never_frees_a_renderer(player: Player) -> None:
    """Cursors the callback lets go of wait for poll() on the GUI thread."""
    start(player, "original")
    player.pause()
    run(player, 1)  # faded out
    old = weakref.ref(player._head().renderer)
    player.seek(40_000)  # while paused
    player.poll()
    player.poll()  # the cursor chain lets go of the old cursor
    run(player, 1, 4096)  # the callback lets go of it too: handed off, not freed
    assert old() is not None
    player.poll()
    assert old() is None


@pytest.mark.parametrize("source", ["original", "aided"])
def test_loop_wraps_to_the_loop_start(player: Player, engine: HearingAidEngine,
                                      mixture: np.ndarray, source: str) -> None:
    loop = (30_000, 40_000)
    start(player, source)
    player.set_loop(loop)
    before = loop[1] - 300 - BLOCK
    player.seek(before)
    run(player, 1)  # the seek's crossfade
    out = run(player, 1)
    assert player.position == loop[0] + BLOCK - 300
    if source == "original":
        on, back = mixture[before:], mixture[loop[0]:]
    else:
        gain = player.level_gains["aided"]
        on = aided_reference(engine, before, 3 * BLOCK) * gain  # the renderer going on
        back = aided_reference(engine, loop[0], BLOCK) * gain   # the spare's
    at = loop[1] - before  # where the loop's end falls in the stream going on
    expected = np.concatenate([on[BLOCK:at], splice(on[at:], back[:BLOCK - 300])])
    np.testing.assert_allclose(out, f32(expected), rtol=0, atol=1e-6)
    for _ in range(40):  # several more laps, with the GUI timer preparing each jump
        run(player, 1)
        player.poll()
        assert loop[0] <= player.position < loop[1]
    assert player.state is PlayState.PLAYING


def test_a_loop_without_the_gui_timer_wraps_late_but_never_cuts(player: Player,
                                                                 mixture: np.ndarray) -> None:
    """The first wrap uses the prepared spare; with none for the next one the audio plays
    on past the loop's end, and poll() brings it back where the loop would be, crossfaded."""
    loop = (10_000, 15_000)
    start(player, "original")
    player.set_loop(loop)
    player.seek(loop[0])
    out = run(player, 20)
    lap = loop[1] - loop[0]
    expected = np.concatenate([mixture[loop[0]:loop[1]], mixture[loop[0]:loop[1]],
                               mixture[loop[1]:loop[1] + 20 * BLOCK - 2 * lap]])
    expected[:SPLICE_FRAMES] = splice(mixture[BLOCK:], expected)[:SPLICE_FRAMES]  # the seek
    expected[lap:lap + SPLICE_FRAMES] = splice(mixture[loop[1]:],  # the spare's wrap
                                               expected[lap:])[:SPLICE_FRAMES]
    np.testing.assert_allclose(out, f32(expected), rtol=0, atol=1e-7)
    position = player.position
    assert position == loop[1] + 20 * BLOCK - 2 * lap  # played on
    player.poll()
    back = loop[0] + (position - loop[1]) % lap
    assert player.position == back
    np.testing.assert_allclose(run(player, 1), f32(splice(mixture[position:],
                                                          mixture[back:back + BLOCK])),
                               rtol=0, atol=1e-7)
    player.set_loop(None)
    assert player.loop is None


def test_end_of_track_stops_and_fills_zeros(player: Player, mixture: np.ndarray) -> None:
    start(player, "original")
    player.seek(player.duration - 500)
    out = run(player, 1)
    # The track ends mid-crossfade: the place left still fades out to its end.
    ending = np.concatenate([mixture[-500:], np.zeros((SPLICE_FRAMES - 500, 2))])
    expected = splice(mixture[BLOCK:], ending)
    np.testing.assert_allclose(out[:SPLICE_FRAMES], f32(expected), rtol=0, atol=1e-7)
    assert not out[SPLICE_FRAMES:].any()
    assert player.state is PlayState.STOPPED
    assert player.position == player.duration
    assert not run(player, 3).any()
    player.poll()
    assert player.state is PlayState.STOPPED
    player.play()  # from the start again
    run(player, 2)
    assert player.state is PlayState.PLAYING and player.position == 2 * BLOCK


def test_state_machine(player: Player) -> None:
    assert player.state is PlayState.STOPPED
    player.pause()  # no-op
    assert player.state is PlayState.STOPPED
    player.play()
    player.play()  # no-op
    assert player.state is PlayState.PLAYING
    run(player, 3)
    player.toggle()
    assert player.state is PlayState.PAUSED
    player.toggle()
    assert player.state is PlayState.PLAYING
    player.stop()
    assert player.state is PlayState.STOPPED and player.position == 0
    run(player, 1)  # the old place fades out
    assert not run(player, 2).any()
    assert player.position == 0


def test_stop_fades_the_old_place_out_and_waits_at_the_start(player: Player,
                                                              mixture: np.ndarray) -> None:
    start(player, "original")
    player.stop()
    out = run(player, 1)
    fade_out = (1.0 - (np.arange(BLOCK) + 1.0) / BLOCK)[:, None]  # the stop's gain ramp
    expected = np.zeros((BLOCK, 2))
    expected[:SPLICE_FRAMES] = (mixture[BLOCK:BLOCK + SPLICE_FRAMES] * (1.0 - FADE_IN)
                                * fade_out[:SPLICE_FRAMES])  # nothing of the start leaks
    np.testing.assert_allclose(out, f32(expected), rtol=0, atol=1e-7)
    assert player.position == 0
    assert not run(player, 2).any()
    player.play()
    run(player, 2)
    assert player.position == 2 * BLOCK


def test_stop_while_paused_is_silent_at_once(player: Player) -> None:
    start(player, "original")
    player.pause()
    run(player, 1)  # the pause's fade-out
    player.stop()
    assert not run(player, 1).any()
    assert player.position == 0


def test_volume_and_levels(player: Player, mixture: np.ndarray) -> None:
    start(player, "original")
    player.set_volume(0.5)
    run(player, 1)  # the ramp
    out = run(player, 1)
    np.testing.assert_allclose(out, 0.5 * mixture[2 * BLOCK:3 * BLOCK], rtol=0, atol=1e-7)
    levels = player.levels()
    np.testing.assert_allclose(levels.peak, np.abs(out).max(axis=0), rtol=1e-6)
    np.testing.assert_allclose(levels.rms, np.sqrt((out.astype(float) ** 2).mean(axis=0)),
                               rtol=1e-6)
    player.stop()
    run(player, 2)  # the fade-out, then silence
    assert player.levels().peak == (0.0, 0.0)
    player.set_volume(7.0)
    assert player.volume == 1.0
    with pytest.raises(ValueError):
        player.set_volume(float("nan"))


def test_bad_arguments_raise(player: Player) -> None:
    with pytest.raises(ValueError, match="source"):
        player.set_source("karaoke")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="loop"):
        player.set_loop((1000, 1100))
    player.set_loop((-50, 10**9))  # clamped to the track, its end short of the track's
    assert player.loop == (0, player.duration - SPLICE_FRAMES)  # audio to crossfade into


def test_level_matching_equalises_loudness(player: Player) -> None:
    def loudness(source: str) -> float:
        player.stop()
        player.set_source(source)  # type: ignore[arg-type]
        player.play()
        out = run(player, player.duration // BLOCK)
        return integrated_loudness(out.astype(np.float64), RATE)

    matched = [loudness(s) for s in ("original", "remix", "aided")]
    assert max(matched) - min(matched) < 0.5, matched
    player.set_level_match(False)
    assert player.level_gains["aided"] == 1.0
    assert loudness("aided") - matched[0] > 6.0  # the check has teeth


def test_level_matching_takes_in_the_multiband_aids_gain() -> None:
    t = np.arange(3 * RATE) / RATE
    instruments = {"violin": np.stack([0.05 * np.sin(2 * np.pi * 660 * t)] * 2, axis=1),
                   "cello": np.stack([0.08 * np.sin(2 * np.pi * 130 * t)] * 2, axis=1)}
    engine = HearingAidEngine(instruments, get_preset("N3"), hearing_aid="multiband")
    player = Player(engine, instruments)

    def loudness(source: str) -> float:
        player.stop()
        player.set_source(source)  # type: ignore[arg-type]
        player.play()
        return integrated_loudness(run(player, player.duration // BLOCK).astype(np.float64),
                                   RATE)

    original, aided = loudness("original"), loudness("aided")
    assert abs(aided - original) < 1.0, (original, aided)  # was 5 dB louder here
    player.set_level_match(False)
    assert abs(loudness("aided") - original) > 4.0  # input level and make-up gains, undone


def heard_loudness(player: Player, source: str) -> float:
    player.stop()
    player.set_source(source)  # type: ignore[arg-type]
    player.play()
    return integrated_loudness(run(player, player.duration // BLOCK).astype(np.float64), RATE)


def test_level_matching_takes_in_the_clipper_and_the_compressor() -> None:
    loud = {name: 3.0 * x for name, x in make_stems().items()}  # NAL-R drives it to clip
    engine = HearingAidEngine(loud, get_preset("N3"))
    for settings in (ChainSettings({"vocals": 6.0}),
                     ChainSettings({"vocals": 6.0}, CompressorParams(), "soft")):
        player = Player(engine, loud, settings=settings)
        original, aided = heard_loudness(player, "original"), heard_loudness(player, "aided")
        assert abs(aided - original) < 1.0, (original, aided)  # was 5-8 dB quieter
    # Louder settings clip more: once measured there, the match follows.
    player = Player(engine, loud, settings=ChainSettings())
    louder = ChainSettings({"drums": 12.0, "other": 12.0})
    player.apply_settings(louder)
    player.set_aid_effect(measure_aid_effect(engine, louder))
    original, aided = heard_loudness(player, "original"), heard_loudness(player, "aided")
    assert abs(aided - original) < 1.0, (original, aided)


def test_the_multiband_remix_is_level_matched_too() -> None:
    t = np.arange(3 * RATE) / RATE
    instruments = {"violin": np.stack([0.05 * np.sin(2 * np.pi * 660 * t)] * 2, axis=1),
                   "cello": np.stack([0.08 * np.sin(2 * np.pi * 130 * t)] * 2, axis=1)}
    engine = HearingAidEngine(instruments, get_preset("N3"), hearing_aid="multiband")
    player = Player(engine, instruments, settings=ChainSettings({"cello": -12.0,
                                                                 "violin": 12.0}))
    original, remix = heard_loudness(player, "original"), heard_loudness(player, "remix")
    assert abs(remix - original) < 0.1, (original, remix)
    player.set_level_match(False)  # the challenge's level rule: 1.9 LU apart here
    assert abs(heard_loudness(player, "remix") - original) > 1.0


def test_callback_does_not_allocate(player: Player) -> None:
    player.set_loop((20_000, 30_000))
    start(player, "aided")
    for _ in range(30):  # warm-up, including loop jumps
        run(player, 1)
        player.poll()
    player.set_source("remix")  # the first traced block crossfades
    out = np.empty((BLOCK, 2), dtype=np.float32)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(300):  # about 20 laps of the loop, spare-less after the first
            player.callback(out, BLOCK, None, None)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current - base < 1024, "memory kept growing in the callback"
    # Interpreter-level temporaries (array views, floats) only: far below one buffer.
    assert peak - base < out.nbytes // 2, f"the callback allocated {peak - base} bytes"


def test_attach_follows_the_mix_model(player: Player) -> None:
    model = MixModel()
    player.attach(model)
    before = player.level_gains["aided"]
    model.set_gain("vocals", 12.0)
    assert player.settings.gains_db["vocals"] == 12.0
    assert player._head().renderer.settings is player.settings
    assert player.level_gains["aided"] != before
    settings = player.settings
    model.set_listener(next(iter(presets().values())))  # the engine's own business
    assert player.settings is settings
    player.detach()
    model.set_gain("vocals", -6.0)
    assert player.settings.gains_db["vocals"] == 12.0


# ---------------------------------------------------------------------- the device


class PortAudioError(Exception):
    pass


class FakeStream:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.device = 3
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


def fake_sounddevice(devices: list[dict[str, Any]], busy: bool = False) -> SimpleNamespace:
    streams: list[FakeStream] = []

    def query_devices(device: Any = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return devices
        outputs = [d for d in devices if d["max_output_channels"] > 0]
        if not outputs:
            raise PortAudioError("Error querying device -1")
        return outputs[0] if device is None else next(d for d in devices
                                                      if d["index"] == device)

    def output_stream(**kwargs: Any) -> FakeStream:
        if busy:
            raise PortAudioError("Device unavailable [PaErrorCode -9985]")
        streams.append(FakeStream(**kwargs))
        return streams[-1]

    def check_output_settings(**kwargs: Any) -> None:
        query_devices(kwargs["device"])

    return SimpleNamespace(query_devices=query_devices, OutputStream=output_stream,
                           check_output_settings=check_output_settings, streams=streams)


def use_sounddevice(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    def load() -> Any:
        if isinstance(module, Exception):
            raise module
        return module

    monkeypatch.setattr(playback_probe, "import_sounddevice", load)


def test_open_stream_without_a_device(player: Player, monkeypatch: pytest.MonkeyPatch) -> None:
    use_sounddevice(monkeypatch, fake_sounddevice([]))
    assert output_devices() == []
    assert player.output.open() is False
    assert not player.output.available
    assert player.output.status_message == "Playback unavailable: no output device"
    player.output.close()  # nothing to close; no error


def test_open_stream_without_portaudio(player: Player, monkeypatch: pytest.MonkeyPatch) -> None:
    use_sounddevice(monkeypatch, OSError("PortAudio library not found"))
    assert output_devices() == []
    assert player.output.open() is False
    assert "PortAudio library not found" in player.output.status_message


def test_open_and_close_a_stream(player: Player, monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [{"index": 0, "name": "Mic", "max_output_channels": 0},
               {"index": 3, "name": "Speakers", "max_output_channels": 2}]
    sd = fake_sounddevice(devices)
    use_sounddevice(monkeypatch, sd)
    assert [(d.number, d.label) for d in output_devices()] == [(3, "Speakers")]
    assert player.output.open() is True
    assert player.output.available
    assert player.output.status_message == "Playback available: Speakers"
    (stream,) = sd.streams
    assert (stream.kwargs["samplerate"], stream.kwargs["channels"],
            stream.kwargs["dtype"]) == (RATE, 2, "float32")
    out = np.full((BLOCK, 2), np.nan, dtype=np.float32)
    stream.kwargs["callback"](out, BLOCK, None, None)  # the player's, through the port
    assert np.all(out == 0.0)  # stopped: silence, every frame written
    player.output.close()
    assert stream.calls == ["start", "stop", "close"] and not player.output.available


def test_busy_device_is_reported(player: Player, monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [{"index": 3, "name": "Speakers", "max_output_channels": 2}]
    use_sounddevice(monkeypatch, fake_sounddevice(devices, busy=True))
    assert player.output.open(3) is False
    message = player.output.status_message
    assert '"Speakers"' in message and "Device unavailable" in message  # by name


def test_open_stream_on_this_machine_never_raises(player: Player) -> None:
    ok = player.output.open()
    try:
        assert ok is player.output.available
        assert player.output.status_message.startswith("Playback ")
    finally:
        player.output.close()


def test_the_player_inputs_take_no_full_length_float64_copy() -> None:
    """The mixture is the stems' float64 sum, rounded once, but summed a chunk at a time:
    the inputs peak near what they keep (4 float32 stems + the mixture: 40 bytes a frame),
    where a whole-track float64 sum and float64 stem copies once added 16 more."""
    import tracemalloc

    from remixer_app.core import player_inputs

    rng = np.random.default_rng(3)
    frames = 400_003
    stems = {name: (0.1 * rng.standard_normal((frames, 2))).astype(np.float32)
             for name in ("vocals", "drums", "bass", "other")}
    tracemalloc.start()
    try:
        kept, mix = player_inputs.mixer_inputs(list(stems), frames, stems, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / frames < 48
    expected = np.stack(list(stems.values())).sum(axis=0, dtype=np.float64)
    np.testing.assert_array_equal(mix, expected.astype(np.float32))
    np.testing.assert_array_equal(kept[1], stems["drums"])
