"""The embedded default ensemble: shipped, checked, offline, small, and it separates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remixer_app.core.evaluation.sdr import stem_sdrs
from remixer_app.core.evaluation.tracks import load_stems
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.ensemble import load_ensemble
from remixer_app.core.separation.members import file_sha256
from remixer_app.training.recipes import RECIPES

MAX_BYTES = 25 * 10**6


def test_the_default_is_our_trained_members_within_25_mb() -> None:
    spec = load_ensemble("default")
    assert {m.id for m in spec.members} == {"hdemucs_small", "tfc_tdf", "dttnet"}
    assert {RECIPES[m.id].architecture for m in spec.members} == {"hdemucs", "tfc_tdf_unet"}
    assert spec.residual_other
    total = 0
    for member in spec.members:
        assert member.kind == "safetensors" and member.file is not None
        assert file_sha256(member.file) == member.sha256
        total += member.file.stat().st_size
        _assert_made_by_its_recipe(member.id, member.file.with_suffix(".json"), member.sha256)
    assert total <= MAX_BYTES


def _assert_made_by_its_recipe(member_id: str, card_path: Path, sha256: str) -> None:
    """The shipped recipe made it; a member continued from its own weights (`--init`,
    see the Makefile) differs only where `remixer train` overrides a recipe: the step
    counts and the batch size (`--batch`, the GPU stage's)."""
    card = json.loads(card_path.read_text())
    assert card["sha256"] == sha256
    recipe = RECIPES[member_id].as_dict()
    changed = {key for key, value in recipe.items() if card["recipe"][key] != value}
    assert changed <= {"steps", "finetune_steps", "batch"}
    assert bool(changed) == (card.get("initial_weights") is not None)


def test_the_default_loads_offline_and_separates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIXER_OFFLINE", "1")
    separator = load_separator(device="cpu")
    rng = np.random.default_rng(0)
    mix = (0.1 * rng.standard_normal((3 * 44100, 2))).astype(np.float32)
    stems = separator.separate(mix, 44100)
    assert set(stems) == {"vocals", "drums", "bass", "other"}
    np.testing.assert_allclose(sum(stems.values()), mix, atol=1e-4)


def test_the_speed_bench_times_a_track_shorter_than_its_10_s_target(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "bench"))
    import bench_default_speed

    def three_seconds(path: Path, minutes: float) -> str:
        noise = 0.1 * np.random.default_rng(0).standard_normal((3 * 44100, 2))
        sf.write(path, noise, 44100, "PCM_16")
        return "noise"

    monkeypatch.setattr(bench_default_speed, "write_track", three_seconds)
    monkeypatch.setattr(sys, "argv", ["bench_default_speed.py", "--minutes", "0.05"])
    monkeypatch.setenv("REMIXER_OFFLINE", "1")
    bench_default_speed.main()
    figures = json.loads(capsys.readouterr().out)
    assert figures["first_audio_s"] == 3.0  # the whole track, not 10 s
    assert 0 < figures["first_s"] <= figures["separate_s"] + 0.05


def test_the_default_separates_real_music(shared_data: Path) -> None:
    # Two test previews never seen in training; the full figures come from
    # ``remixer evaluate`` (see models/MODEL_CARD.md). Untrained weights score
    # about 0 dB or below here.
    separator = load_separator(device="cpu")
    tracks = sorted((shared_data / "musdb18_7s" / "test").glob("*.stem.mp4"))[:2]
    scores = []
    for path in tracks:
        stems = load_stems(path, excerpt=4.0)
        mix = np.sum(list(stems.values()), axis=0, dtype=np.float32)
        scores.append(stem_sdrs(stems, separator.separate(mix, 44100))["mean"])
    assert np.mean(scores) > 1.5, scores


def test_the_classical_ensemble_is_our_trained_instrument_members() -> None:
    spec = load_ensemble("classical")
    assert spec.classical and not spec.residual_other
    tuning = json.loads((spec.path.parent / "classical.tuning.json").read_text())
    assert spec.wiener_remask == tuning["wiener_remask"]  # as `--choose-remask` chose
    assert {m.id for m in spec.members} == {n for n, r in RECIPES.items() if r.presence}
    for member in spec.members:
        assert member.file is not None and file_sha256(member.file) == member.sha256
        _assert_made_by_its_recipe(member.id, member.file.with_suffix(".json"), member.sha256)


def test_the_recipes_separate_with_the_shipped_windows() -> None:
    # `remixer train` writes a recipe's window into the ensembles it makes, so that they
    # run as fast as the shipped ones (models/MODEL_CARD.md, Speed).
    for name in ("default", "classical"):
        for member in load_ensemble(name).members:
            assert RECIPES[member.id].inference_segment == member.segment, member.id
