"""``remixer evaluate --classical``: Cadenza 2 scenes, HAAQI through the multiband aid."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_classical_separation import _classical_ensemble

from remixer_app.cli import main
from remixer_app.cli.evaluate_classical import print_classical
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation import classical
from remixer_app.core.evaluation.classical import (
    ClassicalResult,
    evaluate_scene,
    list_scenes,
    load_scene,
    scene_gains,
    summarise_classical,
)

from tiny_models import write_tone_scene


@pytest.fixture
def scenes(tmp_path: Path) -> Path:
    root = tmp_path / "classical"
    write_tone_scene(root / "test" / "0000", {"violin": 660.0, "cello": 130.0}, seconds=2.0)
    write_tone_scene(root / "test" / "0001", {"flute": 880.0, "bassoon": 98.0, "viola": 330.0},
           seconds=2.0)
    return root


def test_scene_gains_are_fixed_by_the_scene() -> None:
    gains = scene_gains("test/0003", ("cello", "violin"))
    assert gains == scene_gains("test/0003", ("cello", "violin"))
    assert gains != scene_gains("test/0004", ("cello", "violin"))
    assert all(g == int(g) and -10 <= g <= 10 for g in gains.values())


def test_true_stems_score_the_ceiling_and_the_mixture_the_floor(scenes: Path) -> None:
    stems = load_scene(list_scenes(scenes)[0])
    listener = get_preset("N4")
    gains = {"cello": -8.0, "violin": 6.0}
    oracle = evaluate_scene("test/0000", stems, stems, listener, gains)
    assert oracle.haaqi == oracle.haaqi_ceiling  # (0.999 for real music, unless it clips)
    assert oracle.sdr["violin"] > 60
    mixture = np.sum(list(stems.values()), axis=0)
    unmixed = evaluate_scene("test/0000", stems, {k: mixture / 2 for k in stems}, listener,
                             gains)
    assert unmixed.haaqi < oracle.haaqi and unmixed.haaqi_floor < oracle.haaqi_ceiling
    summary = summarise_classical([oracle, unmixed])
    assert summary.sdr.keys() == {"cello", "violin"} and summary.gap_closed is not None


def test_the_haaqi_reference_is_the_recipes_unclipped_44k_compressor_output(
        scenes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CAD2's evaluate.py: the true stems through the compressor, not through the 32 kHz
    # clipped 16-bit file the system's output becomes.
    stems = {k: 8 * v for k, v in load_scene(list_scenes(scenes)[0]).items()}
    listener, gains = get_preset("N7"), {"cello": -8.0, "violin": 6.0}
    references, make_task = [], classical.make_task

    def capture(*args: Any, **kwargs: Any) -> Any:
        references.append(args[3])
        return make_task(*args, **kwargs)  # the real one: the lengths must still agree

    monkeypatch.setattr(classical, "make_task", capture)
    monkeypatch.setattr(classical, "score", lambda task: (0.5, 0.5))  # HAAQI is not the point
    evaluate_scene("test/0000", stems, stems, listener, gains, bounds=False)
    truth = HearingAidEngine(stems, listener, mixture=np.sum(list(stems.values()), axis=0),
                             hearing_aid="multiband")
    aided = truth.render(ChainSettings(gains_db=gains))
    assert np.abs(aided).max() > 1  # the make-up gains take it past full scale
    (reference,) = references
    assert reference.rate == 44100
    np.testing.assert_array_equal(reference.aided, aided)  # unclipped, not resampled


def test_the_printed_sdr_mean_is_the_mean_per_scene(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    results = [ClassicalResult("test/0000", "N1", {}, {"cello": 2.0, "violin": 6.0}, 0.5),
               ClassicalResult("test/0001", "N2", {}, {"violin": 3.0}, 0.5)]
    summary = summarise_classical(results)
    assert summary.sdr == {"cello": 2.0, "violin": 4.5}  # over the scenes where each plays
    assert summary.sdr_mean_per_scene == 3.5  # (4 + 3) / 2, not (2 + 4.5) / 2
    print_classical("duo", summary, "test")
    lines = capsys.readouterr().out.splitlines()
    assert any("mean per scene 3.50" in line for line in lines)
    assert not any("3.25" in line for line in lines)


def test_evaluate_classical_command(scenes: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    ensemble = _classical_ensemble(tmp_path)
    out = tmp_path / "scores.csv"
    assert main(["evaluate", "--classical", str(scenes), "--ensemble", str(ensemble),
                 "--listeners", "N2,S1", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["scene"] for r in rows] == ["test/0000", "test/0001"]
    assert [r["listener"] for r in rows] == ["N2", "S1"]
    assert rows[0]["sdr_violin"] and not rows[0]["sdr_flute"] and rows[1]["sdr_flute"]
    for row in rows:
        assert 0 <= float(row["haaqi_floor"]) <= float(row["haaqi_ceiling"]) <= 1
    printed = capsys.readouterr().out
    assert "gap closed" in printed and "held-out scenes" in printed
    assert main(["evaluate", "--classical", str(scenes), "--oracle", "--out",
                 str(tmp_path / "x.csv")]) == 2
    capsys.readouterr()
    assert main(["evaluate", "--classical", str(scenes), "--ensemble", str(ensemble),
                 "--jobs", "2", "--compressor", "--angle", "30", "--out",
                 str(tmp_path / "y.csv")]) == 2  # options of the other protocol: refused
    assert capsys.readouterr().err.strip().endswith(
        "--compressor, --jobs apply to --musdb, not to --classical")
    assert not (tmp_path / "y.csv").exists()


def test_a_missing_split_says_how_to_make_the_data(tmp_path: Path) -> None:
    with pytest.raises(RemixerError, match="remixer data classical"):
        list_scenes(tmp_path)
