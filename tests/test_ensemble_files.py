"""The ensemble files `remixer train` writes and `remixer tune-ensemble` weights: what they
keep, what they refuse to lose, and how they run."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import yaml
from test_classical_separation import TASNET
from test_training import TINY, _write_tracks

from remixer_app.cli import build_parser, main
from remixer_app.cli import train as train_cli
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.ensemble import load_ensemble
from remixer_app.core.separation.members import register_architecture, save_member
from remixer_app.training import recipes
from remixer_app.training.ensemble_file import write_ensemble
from remixer_app.training.trainer import train_member
from remixer_app.training.tuning import tune_ensemble

from tiny_models import SLOW_ARCHITECTURE, SlowScaleModel, write_tone_scene

TINY_CLASSICAL = dataclasses.replace(recipes.RECIPES["classical_tasnet"], name="tiny_classical",
                                     config=TASNET, steps=1, segment_s=0.5, batch=2)
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def tiny_recipes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    monkeypatch.setitem(recipes.RECIPES, "tiny_classical", TINY_CLASSICAL)


def _classical_data(root: Path) -> Path:
    write_tone_scene(root / "0000", {"violin": 660.0, "cello": 130.0}, seconds=1.0)
    return root


@pytest.mark.usefixtures("tiny_recipes")
def test_a_classical_member_never_replaces_a_pop_ensemble_unasked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "models"
    pop_data, classical_data = _write_tracks(tmp_path / "pop"), _classical_data(tmp_path / "cl")
    assert main(["train", "tiny", "--data", str(pop_data), "--out", str(out),
                 "--threads", "1"]) == 0
    pop = (out / "custom.yaml").read_bytes()
    classical = ["train", "tiny_classical", "--data", str(classical_data), "--out", str(out),
                 "--threads", "1"]
    # Refused before any training: nothing of the member is written.
    assert main([*classical, "--ensemble-name", "custom"]) == 2
    err = capsys.readouterr().err
    assert "custom.yaml lists tiny" in err and "--overwrite" in err
    assert not list(out.rglob("*tiny_classical*"))  # weights, card, checkpoint
    assert (out / "custom.yaml").read_bytes() == pop
    # By default a classical member gets a file of its own.
    assert main(classical) == 0
    assert (out / "custom.yaml").read_bytes() == pop
    assert load_ensemble(out / "custom_classical.yaml").classical
    # A file that is not an ensemble is not replaced either; --overwrite replaces.
    (out / "notes.yaml").write_text("my notes\n")
    assert main([*classical, "--ensemble-name", "notes"]) == 2
    assert "notes.yaml exists and is not an ensemble file" in capsys.readouterr().err
    assert main([*classical, "--ensemble-name", "custom", "--overwrite"]) == 0
    assert load_ensemble(out / "custom.yaml").classical


@pytest.mark.usefixtures("tiny_recipes")
def test_retraining_a_member_updates_every_ensemble_file_that_lists_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "models"
    data = _write_tracks(tmp_path / "data")
    args = ["train", "tiny", "--data", str(data), "--out", str(out), "--threads", "1"]
    assert main(args) == 0
    both = out / "both.yaml"
    spec = yaml.safe_load((out / "custom.yaml").read_text())
    spec["members"][0]["weights"] = {"vocals": 0.5, "drums": 1.0, "bass": 1.0, "other": 1.0}
    spec["overlap"] = 0.5  # set by hand
    both.write_text(yaml.safe_dump(spec))
    as_json = out / "both2.json"
    as_json.write_text(json.dumps(spec))
    capsys.readouterr()
    assert main([*args, "--fresh", "--overwrite", "--steps", "4"]) == 0
    printed = capsys.readouterr().out
    assert f"{both}: updated tiny's checksum" in printed and str(as_json) in printed
    for path in (both, as_json):
        load_separator(str(path), device="cpu")  # the checksum matches the new weights
        again = yaml.safe_load(path.read_text())
        assert again["members"][0]["weights"] == spec["members"][0]["weights"]
        assert again["overlap"] == 0.5
        assert again["members"][0]["sha256"] != spec["members"][0]["sha256"]
    json.loads(as_json.read_text())  # still JSON


def test_written_members_separate_with_their_recipes_window(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    windowed = dataclasses.replace(TINY, inference_segment=2.0)
    monkeypatch.setitem(recipes.RECIPES, "tiny", windowed)
    out = tmp_path / "models"
    train_member(windowed, _write_tracks(tmp_path / "data"), out, hrir=None)
    path = write_ensemble(out, "mine")
    assert [m.segment for m in load_ensemble(path).members] == [2.0]
    # A file from before the recipes named a window gets it; tuned weights stay, and
    # so does a window set by hand, `null` included.
    spec = yaml.safe_load(path.read_text())
    del spec["members"][0]["segment"]
    spec["members"][0]["weights"] = {"vocals": 0.5, "drums": 1.0, "bass": 1.0, "other": 1.0}
    path.write_text(yaml.safe_dump(spec))
    member = load_ensemble(write_ensemble(out, "mine")).members[0]
    assert member.segment == 2.0 and member.weights["vocals"] == 0.5
    spec["members"][0]["segment"] = None
    path.write_text(yaml.safe_dump(spec))
    assert load_ensemble(write_ensemble(out, "mine")).members[0].segment is None
    # The training settings stay those of checkpoints and cards made before.
    assert "inference_segment" not in windowed.as_dict()


def test_a_silent_stem_is_tuned_only_on_the_tracks_where_it_plays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_architecture(SLOW_ARCHITECTURE, SlowScaleModel)
    out = tmp_path / "models"
    out.mkdir()
    members = []
    for k, fraction in enumerate((0.1, 0.4)):
        config: dict[str, Any] = {"fractions": [fraction] * 4, "delay_s": 0.0}
        sha = save_member(SlowScaleModel(**config), out / f"m{k}.safetensors",
                          SLOW_ARCHITECTURE, config)
        members.append({"id": f"m{k}", "kind": "safetensors", "file": f"m{k}.safetensors",
                        "sha256": sha})
    path = out / "duo.yaml"
    path.write_text(yaml.safe_dump({"description": "two", "members": members,
                                    "residual_other": True}))
    data = _write_tracks(tmp_path / "data", count=2)
    singing = tune_ensemble(str(path), data, steps=4)["stems"]
    instrumental = _write_tracks(tmp_path / "more", count=1) / "track0"
    sf.write(instrumental / "vocals.wav", np.zeros((44100, 2), np.float32), 44100, "FLOAT")
    instrumental.rename(data / "track9")
    assert main(["tune-ensemble", str(path), "--data", str(data), "--steps", "4"]) == 0
    assert re.search(r"vocals: .* dB on 2 of 3 tracks", capsys.readouterr().out)
    report = json.loads((out / "duo.tuning.json").read_text())["stems"]
    assert report["vocals"]["tracks"] == 2 and report["drums"]["tracks"] == 3
    for key in ("weights", "ensemble_sdr", "members_alone_sdr"):
        assert report["vocals"][key] == pytest.approx(singing["vocals"][key])


def test_the_readme_fine_tuning_example_passes_the_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    # The README's command as written, on tiny stems, up to where training would start.
    text = README.read_text(encoding="utf-8").replace("\\\n", " ")
    line = re.search(r"remixer (train tfc_tdf --data MY_STEMS [^\n#]*)", text)
    assert line is not None
    names = {"MY_STEMS": str(_write_tracks(tmp_path / "stems")),
             "MODELS": str(tmp_path / "models"),
             "F": str(shared_data / "hrir" / "VP_N6-BTE_fr.mat")}
    args = build_parser().parse_args([names.get(w, w) for w in shlex.split(line.group(1))])
    monkeypatch.chdir(README.parent)  # models/ as the example means it
    recipe, *_ = train_cli._checked(args)
    assert recipe.name == "tfc_tdf" and recipe.finetune_steps > 0
