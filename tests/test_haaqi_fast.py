"""Our HAAQI (remixer_app.core.metrics) against pyclarity's ``compute_haaqi``.

The fast implementation must give pyclarity's score (within 1e-4; in practice ~1e-11)
and leave numpy's global generator exactly where pyclarity leaves it, since the
recipe seeds it once before two ears. Real Cadenza scenes need ../shared/data; the
synthetic cases and the CLI tests do not. Kept short: pyclarity costs ~3 s per
second of audio here, so the signals are under a second except the real scenes.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from remixer_app.cli import main
from remixer_app.core.audio_io import STEM_NAMES, load_audio
from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.resample import resample
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.evaluation.haaqi import (
    HAAQI_RATE,
    haaqi_implementation,
    make_task,
    processed_signal,
    reference_signals,
)
from remixer_app.core.listener_io import load_listeners
from remixer_app.core.metrics import HaaqiReference, compute_haaqi, haaqi_score
from remixer_app.core.metrics.auditory import adjusted_bandwidth
from remixer_app.core.metrics.noise import standard_normal

RATE = 24000
TOLERANCE = 1e-4
CFS = [250, 500, 1000, 2000, 3000, 4000, 6000, 8000]
MODERATE = Audiogram(frequencies=np.array(CFS, dtype=float),
                     levels=np.array([30, 35, 40, 50, 60, 65, 70, 75], dtype=float))


def music(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A few decaying harmonic notes over soft noise: broadband, with onsets."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.003 * rng.standard_normal(len(t))
    for k, f0 in enumerate((196.0, 294.0, 440.0, 659.0)):
        onset = k * seconds / 4
        env = np.where(t >= onset, np.exp(-3 * (t - onset)), 0.0)
        x += sum(0.05 / h * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 6)) * env
    return x


def level1_of(reference: np.ndarray) -> float:
    return 65.0 - 20.0 * float(np.log10(np.sqrt(np.mean(reference ** 2))))


def seeded(seed: int, fn: Callable[[], float]) -> tuple[float, Any]:
    """``fn()`` after seeding numpy's global generator, and the generator's state after."""
    np.random.seed(seed)
    return fn(), np.random.get_state()


def same_state(a: Any, b: Any) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def both(seed: int, *args: Any, **kwargs: Any) -> tuple[float, float]:
    """(pyclarity, fast) scores from the same seed; asserts the generators end alike."""
    ref, ref_state = seeded(seed, lambda: haaqi_score(*args, **kwargs,
                                                       implementation="reference"))
    fast, fast_state = seeded(seed, lambda: haaqi_score(*args, **kwargs, implementation="fast"))
    assert same_state(ref_state, fast_state)
    return ref, fast


# ---------------------------------------------------------------------------- synthetic


def test_identical_signals_give_pyclaritys_near_perfect_score() -> None:
    x = music(0.75)
    ref, fast = both(5, x, x, RATE, RATE, MODERATE.to_clarity(), equalisation=2,
                     level1=level1_of(x))
    assert ref > 0.99
    assert abs(fast - ref) < TOLERANCE


def test_other_rates_and_added_nalr_match_pyclarity() -> None:
    # 44.1 and 16 kHz inputs are resampled by the model; equalisation 1 adds NAL-R.
    reference = music(0.5, rate=16000, seed=1)
    processed = 0.5 * music(0.5, rate=44100, seed=2) + 0.5 * resample(reference, 16000, 44100)
    ref, fast = both(11, processed, reference, 44100, 16000, MODERATE, equalisation=1,
                     level1=80.0)
    assert abs(fast - ref) < TOLERANCE


def test_the_seed_makes_scores_repeatable_and_different_seeds_differ() -> None:
    x = music(0.5)
    y = 0.8 * np.roll(x, 40) + 0.002 * np.random.default_rng(9).standard_normal(len(x))
    score = lambda: compute_haaqi(y, x, RATE, RATE, MODERATE, 2, 85.0)  # noqa: E731
    first, _ = seeded(1, score)
    again, _ = seeded(1, score)
    other, _ = seeded(2, score)
    assert first == again
    assert other != first and abs(other - first) < 1e-3


def test_a_cached_reference_rescores_as_compute_haaqi_does() -> None:
    x = music(0.5)
    cached = HaaqiReference(x, RATE, MODERATE, equalisation=2, level1=85.0)
    for processed in (0.7 * x, np.roll(x, 100), x[:-300] * 0.9):  # the last is shorter
        expected, _ = seeded(4, lambda p=processed: compute_haaqi(p, x, RATE, RATE, MODERATE,
                                                                  2, 85.0))
        rescored, _ = seeded(4, lambda p=processed: cached.score(p, RATE))
        assert rescored == expected


def test_normal_draws_are_numpys_legacy_stream() -> None:
    shapes = [1, 0, 623, 624, 625, 1249, (3, 5), 7, 100_000]  # odd counts carry a deviate
    np.random.seed(123)
    expected = [np.random.standard_normal(s) for s in shapes]
    expected_state = np.random.get_state()
    np.random.seed(123)
    ours = [standard_normal(s) for s in shapes]
    assert all(np.array_equal(a, b) for a, b in zip(expected, ours, strict=True))
    assert same_state(np.random.get_state(), expected_state)


def test_bad_inputs() -> None:
    x = music(0.5)
    with pytest.raises(ValueError, match="equalisation"):
        compute_haaqi(x, x, RATE, RATE, MODERATE, equalisation=3)
    with pytest.raises(ValueError, match="silent"):
        compute_haaqi(x, np.zeros_like(x), RATE, RATE, MODERATE)
    with pytest.raises(ValueError, match="implementation"):
        haaqi_score(x, x, RATE, RATE, MODERATE, implementation="slow")  # type: ignore[arg-type]
    assert compute_haaqi(np.array([]), np.array([]), RATE, RATE, MODERATE) == 1.0
    assert compute_haaqi(x, np.array([]), RATE, RATE, MODERATE) == 0.0


# ---------------------------------------------------------------------------- real scenes


@pytest.fixture(scope="module")
def real_cases(shared_data: Path) -> list[tuple[str, np.ndarray, np.ndarray, Any, float]]:
    """3 s of a MUSDB18 preview for a severe loss (L0044) as the Cadenza evaluation
    scores it, compressor on (both ears) and off (left ear)."""
    stems = load_audio(sorted((shared_data / "musdb18_7s" / "train").glob("*.stem.mp4"))[7]
                       ).stems
    assert stems is not None
    stems = {name: stems[name][44100:4 * 44100] for name in STEM_NAMES}
    mixture = sum(stems.values())
    listener = load_listeners(shared_data / "listeners" / "clarity_listeners.json")["L0044"]
    gains = {"vocals": 6.0, "bass": -3.0}
    reference = reference_signals(stems, mixture, listener, gains)
    engine = HearingAidEngine(stems, listener, mixture=mixture)
    cases = []
    for compressor, ears in ((CompressorParams(), (0, 1)), (None, (0,))):
        processed = processed_signal(engine, ChainSettings(gains_db=gains, compressor=compressor))
        task = make_task("L0044", 0, processed, reference, listener)
        label = "compressor" if compressor else "no compressor"
        cases += [(f"{label}, ear {ear}", task.processed[:, ear], task.reference[:, ear],
                   task.audiograms[ear], task.level1[ear]) for ear in ears]
    return cases


def test_real_scenes_match_pyclarity(real_cases: list[tuple[str, np.ndarray, np.ndarray, Any,
                                                             float]]) -> None:
    for k, (label, processed, reference, audiogram, level1) in enumerate(real_cases):
        ref, fast = both(100 + k, processed, reference, HAAQI_RATE, HAAQI_RATE, audiogram,
                         equalisation=2, level1=level1)
        assert abs(fast - ref) < TOLERANCE, (label, ref, fast)


def test_evaluation_tasks_carry_the_chosen_implementation() -> None:
    # One second of quiet stems: enough for the recipe's loudness steps.
    stems = {name: np.stack([music(1.0, 44100, seed=k)] * 2, axis=1)
             for k, name in enumerate(STEM_NAMES)}
    mixture = sum(stems.values())
    listener = Listener(id="L", left=MODERATE, right=MODERATE)
    reference = reference_signals(stems, mixture, listener, {})
    processed = processed_signal(HearingAidEngine(stems, listener, mixture=mixture),
                                 ChainSettings())
    assert make_task("s", 1, processed, reference, listener).implementation == "fast"
    with haaqi_implementation("reference"):
        task = make_task("s", 1, processed, reference, listener)
    assert task.implementation == "reference"
    assert pickle.loads(pickle.dumps(task)).implementation == "reference"  # for workers
    assert make_task("s", 1, processed, reference, listener).implementation == "fast"
    bad = haaqi_implementation("slow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="implementation"), bad:
        pass


# ---------------------------------------------------------------------------- CLI


@pytest.fixture()
def cli_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A 0.75 s stereo reference and processed WAV at 44.1 kHz and a Clarity listener file."""
    left, right = music(0.75, 44100, seed=3), music(0.75, 44100, seed=4)
    reference = np.stack([left, right], axis=1)
    processed = 0.8 * np.roll(reference, 30, axis=0) + 0.001
    sf.write(tmp_path / "ref.wav", reference, 44100, subtype="FLOAT")
    sf.write(tmp_path / "proc.wav", processed, 44100, subtype="FLOAT")
    listeners = {"L1": {"name": "L1", "audiogram_cfs": CFS,
                        "audiogram_levels_l": [20, 25, 30, 40, 50, 55, 60, 65],
                        "audiogram_levels_r": [40, 45, 50, 60, 70, 70, 75, 80]}}
    (tmp_path / "listeners.json").write_text(json.dumps(listeners), encoding="utf-8")
    return tmp_path / "proc.wav", tmp_path / "ref.wav", tmp_path / "listeners.json"


def _cli(files: tuple[Path, Path, Path], *extra: str) -> list[str]:
    return ["haaqi", "--processed", str(files[0]), "--reference", str(files[1]),
            "--listener-file", str(files[2]), "--listener", "L1", *extra]


def _scores(out: str) -> dict[str, float]:
    return {line.split()[0]: float(line.split()[2]) for line in out.splitlines()
            if "HAAQI" in line}


def test_cli_scores_both_ears_as_the_api_does(cli_files: tuple[Path, Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cli(cli_files, "--seed", "3")) == 0
    printed = _scores(capsys.readouterr().out)
    assert set(printed) == {"left", "right"}
    listener = load_listeners(cli_files[2])["L1"]
    processed = load_audio(cli_files[0]).samples.astype(np.float64)
    reference = load_audio(cli_files[1]).samples.astype(np.float64)
    np.random.seed(3)  # once, before the left ear, as the CLI does
    for ear, name in enumerate(("left", "right")):
        expected = compute_haaqi(resample(processed[:, ear], 44100, RATE),
                                 resample(reference[:, ear], 44100, RATE), RATE, RATE,
                                 getattr(listener, name), 2, level1_of(reference[:, ear]))
        assert printed[name] == pytest.approx(expected, abs=1e-6)  # printed to 6 decimals


def test_cli_takes_the_recipes_level_from_the_remix_before_the_aid(
        cli_files: tuple[Path, Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    remix = load_audio(cli_files[1]).samples.astype(np.float64) * 0.25  # 12 dB quieter
    sf.write(tmp_path / "remix.wav", remix, 44100, subtype="FLOAT")
    assert main(_cli(cli_files, "--ear", "left", "--seed", "3", "--level-from",
                     str(tmp_path / "remix.wav"))) == 0
    out = capsys.readouterr().out
    assert f"level1 {level1_of(remix[:, 0]):.2f} dB SPL" in out
    assert main(_cli(cli_files, "--ear", "left", "--seed", "3", "--level1", "90")) == 0
    expected = _scores(capsys.readouterr().out)["left"]
    assert _scores(out)["left"] != expected  # the level changes the score
    assert main(_cli(cli_files, "--level1", "90", "--level-from", str(cli_files[1]))) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cli_warns_when_the_files_differ_in_length(cli_files: tuple[Path, Path, Path],
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short.wav"
    sf.write(short, sf.read(cli_files[0])[0][:22050], 44100, subtype="FLOAT")
    assert main(_cli((short, cli_files[1], cli_files[2]), "--ear", "left")) == 0
    err = capsys.readouterr().err
    assert "lasts 0.50 s and the reference 0.75 s; only the first 0.50 s" in err


def test_cli_reference_implementation_agrees(cli_files: tuple[Path, Path, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    scores = []
    for extra in ((), ("--reference-impl",)):
        assert main(_cli(cli_files, "--ear", "right", "--seed", "8", "--level1", "90",
                         "--equalisation", "1", *extra)) == 0
        scores.append(_scores(capsys.readouterr().out)["right"])
    assert abs(scores[0] - scores[1]) < TOLERANCE


def test_cli_user_errors_are_one_line(cli_files: tuple[Path, Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((33075, 2)), 44100)
    bad_runs = [
        (_cli(cli_files)[:-2] + ["--listener", "nobody"], "nobody"),
        (["haaqi", "--processed", str(tmp_path / "missing.wav"), "--reference",
          str(cli_files[1]), "--listener", "N3"], "does not exist"),
        (_cli((cli_files[0], silent, cli_files[2])), "silent"),
    ]
    right_silent = tmp_path / "right_silent.wav"
    reference = sf.read(cli_files[1])[0]
    reference[:, 1] = 0.0
    sf.write(right_silent, reference, 44100, subtype="FLOAT")
    bad_runs += [(_cli(cli_files, "--level1", "nan"), "--level1 must be a finite number"),
                 (_cli((cli_files[0], right_silent, cli_files[2])), "silent in this ear")]
    for argv, message in bad_runs:
        assert main(argv) == 2
        captured = capsys.readouterr()
        # A warning may come first (a silent file is warned about as it is read).
        errors = [line for line in captured.err.splitlines()
                  if not line.startswith("remixer: warning: ")]
        assert len(errors) == 1 and message in errors[0]
        assert "HAAQI" not in captured.out  # no half result (the left ear) before failing


def test_a_silent_control_band_takes_the_narrowest_bandwidth_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log10(0) used to warn on every silent frame
        assert adjusted_bandwidth(0.0, 1.0, 3.0, 65.0) == 1.0
    assert adjusted_bandwidth(1e-9, 1.0, 3.0, 65.0) == 1.0  # the same branch, by the level
    assert adjusted_bandwidth(1.0, 1.0, 3.0, 75.0) == pytest.approx(2.0)
