"""``remixer evaluate`` end to end on a real MUSDB18 preview, and its one-line errors.

The real runs score one track, one listener and one gains scenario on a 2-second
excerpt (HAAQI costs seconds of CPU per second of audio), through the CLI for the
oracle and mixture-only systems and through the core API for a fake separator
with its floor and ceiling, in two worker processes: its floor and ceiling must
equal the single-process CLI runs' numbers exactly.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from remixer_app.cli import main
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.evaluation.harness import EvaluationSetup, evaluate
from remixer_app.core.evaluation.hrir import load_speaker_hrirs
from remixer_app.core.evaluation.protocol import GainsScenario, default_listener_ids
from remixer_app.core.evaluation.results import COLUMNS
from remixer_app.core.evaluation.systems import SeparatorSystem
from remixer_app.core.evaluation.tracks import Condition, list_tracks, prepare_track
from remixer_app.core.listener_io import load_listeners
from remixer_app.core.progress import ProgressReport

EXCERPT = 2.0
LISTENER = "L0088"
SCENARIO = GainsScenario("vocals+6", {"vocals": 6.0, "drums": 0.0, "bass": 0.0, "other": 0.0})


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cli_runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, dict[str, str]]:
    """The oracle and mixture-only rows of the same scene, each from one CLI run (jobs 1)."""
    folder = tmp_path_factory.mktemp("evaluate")
    gains = folder / "gains.json"
    gains.write_text(json.dumps({"format": "remixer-evaluation-gains", "version": 1,
                                 "scenarios": [{"id": SCENARIO.id,
                                                "gains": SCENARIO.gains_db}]}))
    rows = {}
    for system in ("oracle", "mixture-only"):
        out = folder / f"{system}.csv"
        # --hrir and --listener-file are left to their defaults beside the --musdb folder
        code = main(["evaluate", "--musdb", str(shared_data / "musdb18_7s"), "--split", "test",
                     f"--{system}", "--listeners", LISTENER, "--gains-file", str(gains),
                     "--excerpt", str(EXCERPT), "--limit", "1", "--jobs", "1",
                     "--out", str(out)])
        assert code == 0
        (row,) = _read(out)
        assert tuple(row) == COLUMNS
        rows[system] = row
    return rows


def test_cli_rows(cli_runs: dict[str, dict[str, str]]) -> None:
    oracle, floor = cli_runs["oracle"], cli_runs["mixture-only"]
    for row, system in ((oracle, "oracle"), (floor, "mixture-only")):
        assert (row["listener"], row["gains"], row["system"]) == (LISTENER, SCENARIO.id, system)
        assert row["haaqi_floor"] == row["haaqi_ceiling"] == ""  # only for separators
        assert float(row["haaqi"]) == pytest.approx(
            (float(row["haaqi_left"]) + float(row["haaqi_right"])) / 2, abs=2e-6)
    # the true stems are only limited by eps; a quarter of the mixture is far off
    assert float(oracle["sdr_mean_plain"]) > 80 and float(oracle["sdr_mean_atear"]) > 80
    assert float(floor["sdr_mean_plain"]) < 5 and float(floor["sdr_mean_atear"]) < 5
    # The oracle differs from the reference only by the output file (16 bit, 32 kHz, hard
    # clip); loud previews clip after NAL-R, which costs HAAQI, so it is not 0.999 here.
    assert 0.8 < float(oracle["haaqi"]) <= 1.0
    assert float(floor["haaqi"]) < float(oracle["haaqi"])


def test_unknown_listener_lists_valid_ones(shared_data: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--musdb", str(shared_data / "musdb18_7s"), "--oracle",
                 "--listeners", "L0088,L9999", "--out", str(tmp_path / "x.csv")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "L9999" in err and "L0001" in err and "\n" not in err
    assert not (tmp_path / "x.csv").exists()


def test_shipped_listener_choice_is_in_the_clarity_file(shared_data: Path) -> None:
    listeners = load_listeners(shared_data / "listeners" / "clarity_listeners.json")
    chosen = default_listener_ids()
    assert 4 <= len(chosen) <= 6 and set(chosen) <= set(listeners)


class _LeakySeparator:
    """Half the true stem plus an eighth of the mixture: imperfect, but not useless."""

    identity = "leaky-test"

    def __init__(self, conditions: list[Condition]) -> None:
        self.conditions = conditions

    def separate(self, audio: np.ndarray, sr: int, **_: object) -> dict[str, np.ndarray]:
        (match,) = [c for c in self.conditions if np.array_equal(c.mixture, audio)]
        return {name: (0.5 * match.stems[name] + audio / 8).astype(np.float32)
                for name in STEM_NAMES}


def test_fake_separator_between_floor_and_ceiling_in_two_processes(
        shared_data: Path, cli_runs: dict[str, dict[str, str]]) -> None:
    track = list_tracks(shared_data / "musdb18_7s", "test", limit=1)[0]
    hrirs = load_speaker_hrirs(shared_data / "hrir" / "VP_N6-BTE_fr.mat", 30.0, 44100)
    listener = load_listeners(shared_data / "listeners" / "clarity_listeners.json")[LISTENER]
    conditions = prepare_track(track, hrirs, EXCERPT)
    system = SeparatorSystem("leaky", _LeakySeparator([conditions.plain, conditions.atear]))
    setup = EvaluationSetup(tracks=(track,), listeners=(listener,), scenarios=(SCENARIO,),
                            hrirs=hrirs, excerpt=EXCERPT)
    reports: list[ProgressReport] = []
    (result,) = evaluate(setup, system, bounds=True, jobs=2, progress=reports.append)
    assert result.system == "leaky"
    assert result.haaqi_floor is not None and result.haaqi_ceiling is not None
    assert result.haaqi_floor <= result.haaqi <= result.haaqi_ceiling
    assert 0 < result.sdr["atear"]["mean"] < 80
    # jobs=2 (worker processes) gives the single-process CLI numbers exactly
    assert f"{result.haaqi_floor:.6f}" == cli_runs["mixture-only"]["haaqi"]
    assert f"{result.haaqi_ceiling:.6f}" == cli_runs["oracle"]["haaqi"]
    assert reports[0].message.startswith("track 1/1") and reports[0].fraction == 0
    assert reports[-1].message.startswith("scene 1/1") and reports[-1].fraction == 1
    assert reports[-1].eta_s == 0


def test_tiny_ensemble_and_one_member_through_the_cli(shared_data: Path, tmp_path: Path,
                                                      cli_runs: dict[str, dict[str, str]]
                                                      ) -> None:
    """A real (random-weight) ensemble file end to end, alone and as one of its members."""
    from tiny_models import write_tiny_ensemble

    ensemble = write_tiny_ensemble(tmp_path / "ens")
    common = ["evaluate", "--musdb", str(shared_data / "musdb18_7s"), "--listeners", LISTENER,
              "--gains", "vocals=6", "--excerpt", "1", "--limit", "1", "--jobs", "2",
              "--device", "cpu"]
    out = tmp_path / "tiny.csv"
    assert main([*common, "--ensemble", str(ensemble), "--out", str(out)]) == 0
    (row,) = _read(out)
    floor, ceiling = float(row["haaqi_floor"]), float(row["haaqi_ceiling"])
    assert 0.0 < float(row["haaqi"]) < ceiling and floor < ceiling
    assert np.isfinite(float(row["sdr_mean_plain"])) and np.isfinite(float(row["sdr_mean_atear"]))
    member = tmp_path / "member.csv"
    assert main([*common, "--ensemble", str(ensemble), "--member", "tiny", "--no-bounds",
                 "--out", str(member)]) == 0
    (alone,) = _read(member)
    assert alone["system"].endswith("[tiny]")
    assert alone["haaqi_floor"] == alone["haaqi_ceiling"] == ""  # not scored
