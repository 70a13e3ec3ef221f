"""Tests for remixer_app.core.engine: input checks, settings, mutes and loudness matching."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyloudnorm as pyln
import pytest

from remixer_app.core import engine as engine_module
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp import nalr
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.nalr import NALR_TAPS, apply_fir, apply_fir_into, nalr_fir
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import AudioError, Cancelled
from remixer_app.core.progress import ProgressReport

RATE = ENGINE_RATE
NEG_INF = float("-inf")
MIN_FRAMES = 17640  # 0.4 s at 44.1 kHz


def make_stems(frames: int = 2 * RATE, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / RATE
    swell = (1 + np.sin(2 * np.pi * 3 * t))[:, None]
    hits = (np.sin(2 * np.pi * 4 * t) > 0.6)[:, None]
    return {
        "vocals": 0.1 * rng.standard_normal((frames, 2)) * swell,
        "drums": 0.3 * rng.standard_normal((frames, 2)) * hits,
        "bass": np.stack([0.4 * np.sin(2 * np.pi * 60 * t), 0.3 * np.sin(2 * np.pi * 80 * t)], 1),
        "other": 0.02 * rng.standard_normal((frames, 2)),
    }


@pytest.fixture(scope="module")
def stems() -> dict[str, np.ndarray]:
    return make_stems()


@pytest.fixture(scope="module")
def mixture(stems: dict[str, np.ndarray]) -> np.ndarray:
    # a mixture that is not exactly the sum of the stems, as after separation
    return 0.8 * sum(stems.values())


@pytest.fixture(scope="module")
def engine(stems: dict[str, np.ndarray], mixture: np.ndarray) -> HearingAidEngine:
    return HearingAidEngine(stems, get_preset("N4"), mixture=mixture)


def lufs(signal: np.ndarray) -> float:
    return float(pyln.Meter(RATE).integrated_loudness(signal))


# ---------------------------------------------------------------------------- input checks


def test_no_stems() -> None:
    with pytest.raises(AudioError, match="no stems"):
        HearingAidEngine({}, get_preset("N3"))


def test_stems_of_different_lengths(stems: dict[str, np.ndarray]) -> None:
    uneven = dict(stems, bass=stems["bass"][:-10])
    with pytest.raises(AudioError, match="differ in length") as info:
        HearingAidEngine(uneven, get_preset("N3"))
    assert "bass" in str(info.value)


@pytest.mark.parametrize("frames", [1, 4410, MIN_FRAMES - 1])
def test_too_short(frames: int) -> None:
    with pytest.raises(AudioError, match=r"too short.*0\.4 s"):
        HearingAidEngine(make_stems(frames), get_preset("N3"))


def test_minimum_length_is_accepted() -> None:
    eng = HearingAidEngine(make_stems(MIN_FRAMES), get_preset("N3"))
    out = eng.render(ChainSettings(clip="none"))
    assert out.shape == (MIN_FRAMES + 220, 2) and np.isfinite(out).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_stem(stems: dict[str, np.ndarray], bad: float) -> None:
    drums = stems["drums"].copy()
    drums[1234, 1] = bad
    with pytest.raises(AudioError, match=r"drums contains NaN or infinite"):
        HearingAidEngine(dict(stems, drums=drums), get_preset("N3"))


def test_non_finite_mixture(stems: dict[str, np.ndarray]) -> None:
    mix = sum(stems.values())
    mix[99, 0] = np.nan
    with pytest.raises(AudioError, match=r"mixture contains NaN"):
        HearingAidEngine(stems, get_preset("N3"), mixture=mix)


@pytest.mark.parametrize("shape", [(RATE, 3), (RATE, 2, 1), (RATE, 1, 2)])
def test_wrong_stem_shape(stems: dict[str, np.ndarray], shape: tuple[int, ...]) -> None:
    others = {name: s[:RATE] for name, s in stems.items()}
    with pytest.raises(AudioError, match=r"other must be mono or stereo.*got shape"):
        HearingAidEngine(dict(others, other=np.zeros(shape)), get_preset("N3"))


def test_channels_first_stems_name_the_shape(stems: dict[str, np.ndarray]) -> None:
    transposed = {name: s.T.copy() for name, s in stems.items()}
    with pytest.raises(AudioError, match="shape"):
        HearingAidEngine(transposed, get_preset("N3"))


def test_wrong_mixture_shape(stems: dict[str, np.ndarray]) -> None:
    with pytest.raises(AudioError, match=r"mixture must be mono or stereo"):
        HearingAidEngine(stems, get_preset("N3"), mixture=np.zeros((2 * RATE, 4)))


@pytest.mark.parametrize("delta", [-1, 1, -RATE])
def test_mixture_length_mismatch(stems: dict[str, np.ndarray], delta: int) -> None:
    mix = np.zeros((2 * RATE + delta, 2))
    with pytest.raises(AudioError, match=rf"mixture has {2 * RATE + delta} frames.*{2 * RATE}"):
        HearingAidEngine(stems, get_preset("N3"), mixture=mix)


def test_mono_and_float32_inputs_are_accepted(stems: dict[str, np.ndarray]) -> None:
    mono = {name: s[:, 0].astype(np.float32) for name, s in stems.items()}
    dual = {name: np.repeat(s[:, :1].astype(np.float32), 2, axis=1) for name, s in stems.items()}
    settings = ChainSettings({"vocals": 3.0}, None, "none")
    a = HearingAidEngine(mono, get_preset("N3")).render(settings)
    b = HearingAidEngine(dual, get_preset("N3")).render(settings)
    assert np.array_equal(a, b)


def test_mixture_defaults_to_the_sum_of_the_stems(stems: dict[str, np.ndarray]) -> None:
    a = HearingAidEngine(stems, get_preset("N3"))
    b = HearingAidEngine(stems, get_preset("N3"), mixture=sum(stems.values()))
    gains = {"drums": -4.0}
    assert np.array_equal(a.stem_weights(gains), b.stem_weights(gains))


def test_unknown_stem_in_gains(engine: HearingAidEngine) -> None:
    with pytest.raises(ValueError, match=r"unknown stem\(s\) guitar.*vocals, drums, bass, other"):
        engine.stem_weights({"vocals": 1.0, "guitar": 3.0})
    with pytest.raises(ValueError, match="unknown stem"):
        engine.render(ChainSettings({"piano": 0.0}))


# ---------------------------------------------------------------------------- gains and loudness


@pytest.mark.parametrize("gains", [
    {},
    {"vocals": 6.0, "drums": -6.0, "bass": -10.0},
    {"drums": NEG_INF},
    {"vocals": NEG_INF, "drums": NEG_INF, "other": 12.0},
    {"vocals": 20.0, "bass": -30.0},
])
def test_remix_is_loudness_matched_to_the_mixture(engine: HearingAidEngine,
                                                  stems: dict[str, np.ndarray],
                                                  mixture: np.ndarray,
                                                  gains: dict[str, float]) -> None:
    weights = engine.stem_weights(gains)
    remix = sum(w * stems[name] for w, name in zip(weights, engine.stem_names, strict=True))
    assert abs(lufs(remix) - lufs(mixture)) < 1e-9
    # per-stem gains are plain linear gains relative to each other
    for k, name in enumerate(engine.stem_names):
        gain = gains.get(name, 0.0)
        if gain == NEG_INF:
            assert weights[k] == 0.0
        else:
            ratio = weights[k] / weights[engine.stem_names.index("bass")]
            expected = 10 ** ((gain - gains.get("bass", 0.0)) / 20)
            assert ratio == pytest.approx(expected, rel=1e-12)


def test_mute_equals_leaving_the_stem_out(stems: dict[str, np.ndarray],
                                          mixture: np.ndarray) -> None:
    listener = get_preset("N4")
    muted = HearingAidEngine(stems, listener, mixture=mixture).render(
        ChainSettings({"drums": NEG_INF, "vocals": 3.0}, CompressorParams(), "none"))
    without = {name: s for name, s in stems.items() if name != "drums"}
    left_out = HearingAidEngine(without, listener, mixture=mixture).render(
        ChainSettings({"vocals": 3.0}, CompressorParams(), "none"))
    np.testing.assert_allclose(muted, left_out, rtol=0, atol=1e-12)
    plain = HearingAidEngine(stems, listener, mixture=mixture).render(
        ChainSettings({"vocals": 3.0}, CompressorParams(), "none"))
    assert np.abs(plain - muted).max() > 0.01


def test_all_muted_is_silence(engine: HearingAidEngine) -> None:
    gains = dict.fromkeys(engine.stem_names, NEG_INF)
    out = engine.render(ChainSettings(gains, CompressorParams(), "none"))
    assert np.array_equal(out, np.zeros_like(out))


def test_silent_stems_do_not_crash(stems: dict[str, np.ndarray]) -> None:
    some_silent = dict(stems, vocals=np.zeros_like(stems["vocals"]))
    eng = HearingAidEngine(some_silent, get_preset("S3"))
    for gains in ({}, {"vocals": 12.0}, {"vocals": NEG_INF, "bass": 6.0}):
        weights = eng.stem_weights(gains)
        assert np.isfinite(weights).all()
        out = eng.render(ChainSettings(gains, CompressorParams(), "none"))
        assert np.isfinite(out).all() and np.abs(out).max() > 0

    silent = {name: np.zeros((RATE, 2)) for name in stems}
    eng = HearingAidEngine(silent, get_preset("S3"))
    for gains in ({}, {"bass": 10.0}, {"drums": NEG_INF}):
        out = eng.render(ChainSettings(gains, CompressorParams(), "none"))
        assert np.array_equal(out, np.zeros((RATE + 220, 2)))
        final, over = HearingAidEngine.finalize(out, ChainSettings(gains), 32000)
        assert over == 0 and not final.any()


def test_render_shape_and_stem_names(engine: HearingAidEngine) -> None:
    assert engine.stem_names == ("vocals", "drums", "bass", "other")
    out = engine.render(ChainSettings())
    assert out.shape == (engine.input_frames + 220, 2) == (engine.output_frames, 2)
    assert out.dtype == np.float64
    # render() returns the signal before clipping, whatever the clip setting
    assert np.array_equal(out, engine.render(ChainSettings(clip="none")))


def test_finalize_clips_after_resampling(engine: HearingAidEngine) -> None:
    out = engine.render(ChainSettings({"vocals": 6.0}))
    assert np.abs(out).max() > 1.0
    hard, over = HearingAidEngine.finalize(out, ChainSettings(clip="hard"), 24000)
    none, over_none = HearingAidEngine.finalize(out, ChainSettings(clip="none"), 24000)
    assert hard.shape == none.shape == (round(out.shape[0] * 24000 / RATE), 2)
    assert over == over_none == np.count_nonzero(np.abs(none) > 1.0) > 0
    assert np.array_equal(hard, np.clip(none, -1.0, 1.0))


def test_finalize_leaves_its_input_alone(engine: HearingAidEngine) -> None:
    out = engine.render(ChainSettings({"vocals": 6.0}))
    kept = out.copy()
    assert np.abs(out).max() > 1.0
    HearingAidEngine.finalize(out, ChainSettings(clip="hard"), RATE)
    assert np.array_equal(out, kept)


# ---------------------------------------------------------------------------- ChainSettings


def test_chain_settings_defaults() -> None:
    s = ChainSettings()
    assert dict(s.gains_db) == {} and s.compressor is None and s.clip == "hard"


@pytest.mark.parametrize("clip", ["medium", "", "HARD", None])
def test_chain_settings_bad_clip(clip: object) -> None:
    with pytest.raises(ValueError, match="clip must be one of hard, soft, none"):
        ChainSettings(clip=clip)  # type: ignore[arg-type]


@pytest.mark.parametrize("gain", [float("nan"), float("inf")])
def test_chain_settings_bad_gain(gain: float) -> None:
    with pytest.raises(ValueError, match="gain of drums must be a finite number"):
        ChainSettings(gains_db={"vocals": 0.0, "drums": gain})


def test_chain_settings_accepts_mute_and_large_gains() -> None:
    s = ChainSettings(gains_db={"vocals": NEG_INF, "drums": 40.0, "bass": -60.0}, clip="soft")
    assert s.gains_db["vocals"] == NEG_INF


def test_concurrent_renders_do_not_share_buffers(engine: HearingAidEngine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = [ChainSettings({"vocals": g}) for g in (-6.0, 0.0, 6.0, 12.0)]
    expected = [engine.render(s) for s in settings]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(engine.render, settings * 2))
    for i, out in enumerate(got):
        assert np.array_equal(out, expected[i % 4])


def test_fits_names_the_listener_object_and_hearing_aid(stems: dict[str, np.ndarray]) -> None:
    listener = get_preset("N3")
    engine = HearingAidEngine(stems, listener)
    assert engine.fits(listener, "nalr")
    assert not engine.fits(replace(listener), "nalr")  # an equal audiogram, another choice
    assert not engine.fits(listener, "multiband") and not engine.fits(None, "nalr")


# ---------------------------------------------------------------------------- lean memory


def test_nalr_in_chunks_equals_one_convolution(monkeypatch: pytest.MonkeyPatch) -> None:
    signal = np.random.default_rng(7).standard_normal(5 * 1000 + 17)
    fir = nalr_fir(get_preset("N4").left, RATE)
    whole = apply_fir(fir, signal)
    monkeypatch.setattr(nalr, "FIR_CHUNK", 1000)
    for dtype, tolerance in ((np.float64, 1e-12), (np.float32, 1e-6)):
        out = np.empty(len(signal) + NALR_TAPS, dtype)
        apply_fir_into(fir, signal, out)
        np.testing.assert_allclose(out, whole, rtol=0, atol=tolerance * np.abs(whole).max())


def test_render_in_blocks_equals_one_span(engine: HearingAidEngine,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ChainSettings(gains_db={"vocals": 6.0}, compressor=CompressorParams())
    whole = engine.render(settings)
    monkeypatch.setattr(engine_module, "RENDER_BLOCK", 1000)
    np.testing.assert_array_equal(engine.render(settings), whole)



@pytest.mark.parametrize("aid", ["nalr", "multiband"])
def test_fitting_reports_its_stages_and_stops_when_cancelled(
        stems: dict[str, np.ndarray], aid: str) -> None:
    reports: list[ProgressReport] = []
    HearingAidEngine(stems, get_preset("N3"), hearing_aid=aid,  # type: ignore[arg-type]
                     progress=reports.append)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # Cancelled once the loudness is measured: no filtering of a replaced fitting's stems
    seen: list[ProgressReport] = []
    with pytest.raises(Cancelled):
        HearingAidEngine(stems, get_preset("N3"), hearing_aid=aid,  # type: ignore[arg-type]
                         progress=seen.append, cancelled=lambda: bool(seen))
    assert len(seen) == 1 and seen[0].fraction < 1.0


def test_building_a_player_stops_when_cancelled(engine: HearingAidEngine,
                                                stems: dict[str, np.ndarray]) -> None:
    from remixer_app.core.player import Player

    with pytest.raises(Cancelled):
        Player(engine, stems, cancelled=lambda: True)
