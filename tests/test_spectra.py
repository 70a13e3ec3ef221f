"""Tests for remixer_app.core.spectra: levels, band smoothing, cross-spectra, NAL-R gains."""

from __future__ import annotations

import numpy as np
import pytest

from remixer_app.core.aid_effect import measure_aid_effect
from remixer_app.core.audiogram import Audiogram, get_preset
from remixer_app.core.band_levels import (
    FULL_SCALE_SINE_POWER,
    live_spectrum,
    long_term_spectrum,
    nalr_gain_db,
    third_octave,
)
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import Cancelled
from remixer_app.core.progress import ProgressReport
from remixer_app.core.spectra import MIXTURE_KEY, OUTPUT_KEY, TrackSpectra

RATE = ENGINE_RATE
NAMES = ("vocals", "drums", "bass", "other")


def power(db: np.ndarray) -> np.ndarray:
    return FULL_SCALE_SINE_POWER * 10.0 ** (np.asarray(db) / 10.0)


def sine(freq: float, amplitude: float, frames: int) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(frames) / RATE)


@pytest.fixture(scope="module")
def track() -> tuple[HearingAidEngine, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    frames = RATE  # 1 s: enough for the engine's loudness blocks, quick to filter
    shared = rng.standard_normal((frames, 2))  # correlated stems make the cross terms matter
    stems = {name: 0.05 * (rng.standard_normal((frames, 2)) + (k + 1) * 0.5 * shared)
             for k, name in enumerate(NAMES)}
    stems["bass"] = stems["bass"] + sine(100.0, 0.2, frames)[:, None]
    return HearingAidEngine(stems, get_preset("N3")), stems


@pytest.fixture(scope="module")
def spectra(track: tuple[HearingAidEngine, dict[str, np.ndarray]]) -> TrackSpectra:
    engine, stems = track
    return TrackSpectra.compute(engine, stems, nfft=1024)


@pytest.mark.parametrize("frames", [RATE, 1500])  # a long signal and a block shorter than nfft
def test_sine_peak_and_level(frames: int) -> None:
    x = np.stack([sine(1000.0, 0.5, frames)] * 2, axis=1)
    freqs, db = long_term_spectrum(x, RATE) if frames > 4096 else live_spectrum(x, RATE)
    assert abs(freqs[np.argmax(db)] - 1000.0) <= freqs[1]
    # the bins around the peak hold the sine's power: 0.5**2 / 2, i.e. -6.02 dB FS
    near = np.abs(freqs - 1000.0) < 12 * freqs[1]
    assert np.sum(power(db[near])) == pytest.approx(0.125, rel=0.02)
    centres, bands = third_octave(freqs, db)
    assert bands[np.argmin(np.abs(centres - 1000.0))] == pytest.approx(-6.02, abs=0.2)


def test_full_scale_sine_reads_zero_db_fs() -> None:
    freqs, db = long_term_spectrum(sine(2000.0, 1.0, RATE), RATE)
    assert 10 * np.log10(np.sum(power(db)) / FULL_SCALE_SINE_POWER) == pytest.approx(0, abs=0.05)


def test_third_octave_keeps_total_power() -> None:
    rng = np.random.default_rng(1)
    freqs = np.fft.rfftfreq(4096, 1 / RATE)
    db = rng.uniform(-80, 0, (2, freqs.size))
    centres, bands = third_octave(freqs, db)
    assert bands.shape == (2, centres.size)
    assert np.all(np.diff(centres) > 0)
    assert np.allclose(power(bands).sum(axis=1), power(db[:, 1:]).sum(axis=1), rtol=1e-12)
    assert centres[np.argmin(np.abs(centres - 1000))] == pytest.approx(1000.0)


def test_quadratic_form_equals_direct_spectrum(
        track: tuple[HearingAidEngine, dict[str, np.ndarray]], spectra: TrackSpectra) -> None:
    engine, stems = track
    rng = np.random.default_rng(3)
    for trial in range(3):
        gains = {name: float(rng.uniform(-20, 10)) for name in NAMES}
        gains[NAMES[trial]] = float("-inf")  # a mute
        w = engine.stem_weights(gains)
        assert w[trial] == 0.0
        for ear in range(2):
            aided = np.einsum("k,kn->n", w, engine.aided[:, ear])
            _, direct = long_term_spectrum(aided, RATE, nfft=1024)
            got = spectra.output_power(w)[ear]
            np.testing.assert_allclose(got, power(direct), rtol=1e-9)
            remix = sum(wk * stems[name][:, ear] for wk, name in zip(w, NAMES, strict=True))
            _, direct = long_term_spectrum(remix, RATE, nfft=1024)
            np.testing.assert_allclose(spectra.remix_power(w)[ear], power(direct), rtol=1e-9)
    levels = spectra.levels(w)
    k = 1
    _, direct = long_term_spectrum(w[k] * stems[NAMES[k]], RATE, nfft=1024)
    np.testing.assert_allclose(power(levels[NAMES[k]][1]), power(direct), rtol=1e-9)


def loud_instruments(amplitude: float) -> dict[str, np.ndarray]:
    t = np.arange(3 * RATE) / RATE
    rng = np.random.default_rng(4)
    return {"violin": np.stack([amplitude * np.sin(2 * np.pi * 660 * t)] * 2, axis=1)
            + 0.2 * amplitude * rng.standard_normal((t.size, 2)),
            "cello": np.stack([1.6 * amplitude * np.sin(2 * np.pi * 130 * t)] * 2, axis=1)
            + 0.2 * amplitude * rng.standard_normal((t.size, 2))}


@pytest.mark.parametrize(("aid", "amplitude", "settings"), [
    ("multiband", 0.05, ChainSettings()),
    ("multiband", 0.05, ChainSettings({"violin": 6.0})),
    ("nalr", 0.3, ChainSettings()),  # NAL-R drives it far beyond full scale: clipped
    ("nalr", 0.1, ChainSettings(compressor=CompressorParams(), clip="none")),
])
def test_the_output_curve_is_what_the_aid_renders(aid: str, amplitude: float,
                                                  settings: ChainSettings) -> None:
    instruments = loud_instruments(amplitude)
    engine = HearingAidEngine(instruments, get_preset("N3"),
                              hearing_aid=aid)  # type: ignore[arg-type]
    spectra = TrackSpectra.compute(engine, instruments, nfft=1024)
    effect = measure_aid_effect(engine, settings, nfft=1024)
    rendered = engine.render(settings)
    if settings.clip == "hard":
        rendered = np.clip(rendered, -1.0, 1.0)
    weights = engine.stem_weights(settings.gains_db)
    worst = []
    for ear in range(2):
        freqs, direct = long_term_spectrum(rendered[:, ear], RATE, nfft=1024)
        centres, actual = third_octave(freqs, direct)
        band = (centres > 100) & (centres < 10000)
        _, shown = third_octave(freqs, spectra.levels(weights, ear, effect)[OUTPUT_KEY][1])
        _, linear = third_octave(freqs, spectra.levels(weights, ear)[OUTPUT_KEY][1])
        assert np.abs(shown - actual)[band].max() < 0.5
        worst.append(np.abs(linear - actual)[band].max())
    assert max(worst) > 3.0  # the linear part alone is far off: the check has teeth


def test_soft_clipping_below_full_scale_is_measured() -> None:
    # tanh changes every sample, not only those beyond full scale
    instruments = loud_instruments(0.03)
    engine = HearingAidEngine(instruments, get_preset("N3"))
    settings = ChainSettings(clip="soft")
    _, out = engine.excerpt(settings)
    assert 0.5 < np.abs(out).max() < 1.0
    assert measure_aid_effect(engine, settings).gain_db < -0.1


def test_a_linear_chain_has_no_effect() -> None:
    instruments = loud_instruments(0.01)
    engine = HearingAidEngine(instruments, get_preset("N3"))
    for settings in (ChainSettings(), ChainSettings(clip="none")):
        effect = measure_aid_effect(engine, settings)
        assert effect.gain_db == 0.0 and effect.power_gain is None
        assert not effect.gain_db_at(np.array([100.0, 1000.0])).any()


def test_levels_keys_mixture_and_ears(spectra: TrackSpectra,
                                      track: tuple[HearingAidEngine, dict[str, np.ndarray]]
                                      ) -> None:
    engine, stems = track
    levels = spectra.levels(np.ones(4), ear=1)
    assert set(levels) == {*NAMES, MIXTURE_KEY, OUTPUT_KEY}
    _, direct = long_term_spectrum(sum(stems.values())[:, 1], RATE, nfft=1024)
    np.testing.assert_allclose(power(levels[MIXTURE_KEY][1]), power(direct), rtol=1e-9)
    # a stem that is muted reads the floor, not -inf, so plots can autoscale
    muted = spectra.levels(np.array([0.0, 1.0, 1.0, 1.0]))
    assert np.all(np.isfinite(muted[NAMES[0]][1]))


def test_compute_reports_progress_and_cancels(
        track: tuple[HearingAidEngine, dict[str, np.ndarray]]) -> None:
    engine, stems = track
    reports: list[ProgressReport] = []
    TrackSpectra.compute(engine, stems, nfft=512, progress=reports.append)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    with pytest.raises(Cancelled):
        TrackSpectra.compute(engine, stems, nfft=512, cancelled=lambda: True)


def test_nalr_gain_normal_hearing_is_flat_and_grows_with_loss() -> None:
    freqs = np.array([250.0, 500.0, 1000.0, 2000.0, 4000.0])
    assert np.max(np.abs(nalr_gain_db(get_preset("NH").left, freqs))) < 1.0
    means = [np.mean(nalr_gain_db(get_preset(p).left, freqs[2:])) for p in ("NH", "N2", "N4")]
    assert means[0] < means[1] < means[2]
    flat = get_preset("NH").left.frequencies
    mild = Audiogram(flat, np.full(flat.size, 30.0))
    severe = Audiogram(flat, np.full(flat.size, 60.0))
    assert np.all(nalr_gain_db(severe, freqs) > nalr_gain_db(mild, freqs))
