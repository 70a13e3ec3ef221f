"""``remixer evaluate``: argument checks and one-line errors before any work, and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remixer_app.cli import main
from remixer_app.cli.evaluate import print_summary
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.evaluation.results import Summary


@pytest.fixture()
def musdb(tmp_path: Path) -> Path:
    """A MUSDB-like folder (one placeholder track) with a listener file and an HRIR beside it."""
    root = tmp_path / "data"
    (root / "musdb" / "test").mkdir(parents=True)
    (root / "musdb" / "test" / "Some - Track.stem.mp4").touch()
    (root / "listeners").mkdir()
    levels = [20, 20, 30, 40, 50, 60, 70, 70]
    doc = {lid: {"audiogram_cfs": [250, 500, 1000, 2000, 3000, 4000, 6000, 8000],
                 "audiogram_levels_l": levels, "audiogram_levels_r": levels}
           for lid in ("L1", "L2")}
    (root / "listeners" / "clarity_listeners.json").write_text(json.dumps(doc))
    (root / "hrir").mkdir()
    (root / "hrir" / "VP_N6-BTE_fr.mat").write_bytes(b"checked later than the arguments")
    return root / "musdb"


def _run(musdb: Path, tmp_path: Path, *args: str) -> int:
    return main(["evaluate", "--musdb", str(musdb), "--out", str(tmp_path / "r.csv"), *args])


@pytest.mark.parametrize("args, message", [
    (["--oracle", "--listeners", "L1,L7"], "'L7' is not in"),
    (["--oracle", "--listeners", " , "], "names no listener"),
    (["--oracle", "--listeners", "L1", "--gains", "piano=3"], "unknown stem"),
    (["--oracle", "--listeners", "L1", "--gains", "vocals=loud"], "not a number"),
    (["--oracle", "--listeners", "L1", "--jobs", "0"], "--jobs"),
    (["--oracle", "--listeners", "L1", "--limit", "0"], "--limit"),
    (["--oracle", "--mixture-only"], "not allowed with"),
    (["--listeners", "L1"], "one of the arguments"),
    (["--oracle", "--listener-file", "nowhere.json"], "does not exist"),
    (["--oracle", "--split", "train"], "train/"),
    (["--oracle", "--excerpt", "-3"], "at least 1 s"),
    (["--oracle", "--excerpt", "nan"], "at least 1 s"),
    (["--oracle", "--listeners", "L1", "--member", "htdemucs"],
     "remixer: error: --member needs --ensemble: only an ensemble has members to score"),
    (["--mixture-only", "--listeners", "L1", "--member", "htdemucs"],
     "remixer: error: --member needs --ensemble"),
])
def test_errors_are_one_line(musdb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             args: list[str], message: str) -> None:
    assert _run(musdb, tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "r.csv").exists()


def test_unknown_listener_lists_the_valid_ones(musdb: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(musdb, tmp_path, "--oracle", "--listeners", "L7") == 2
    assert "available: L1, L2" in capsys.readouterr().err


def test_bad_gains_file(musdb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "gains.json"
    bad.write_text("[1, 2")
    assert _run(musdb, tmp_path, "--oracle", "--listeners", "L1", "--gains-file", str(bad)) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_missing_folders_and_files(musdb: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path / "nowhere", tmp_path, "--oracle") == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    (musdb.parent / "hrir" / "VP_N6-BTE_fr.mat").unlink()
    assert _run(musdb, tmp_path, "--oracle") == 2
    assert "pass --hrir FILE" in capsys.readouterr().err
    assert _run(musdb, tmp_path, "--oracle", "--hrir", str(tmp_path / "h.mat")) == 2
    assert "h.mat does not exist" in capsys.readouterr().err


def test_existing_results_file_is_refused_before_any_work(
        musdb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.csv").write_text("precious")
    assert _run(musdb / "not-even-checked", tmp_path, "--oracle") == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "r.csv").read_text() == "precious"


def test_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    sdr = {cond: {**{name: float(i) for i, name in enumerate(STEM_NAMES)}, "mean": 1.5}
           for cond in ("plain", "atear")}
    print_summary(Summary(system="htdemucs", tracks=50, scenes=50, sdr=sdr, haaqi=0.6,
                          haaqi_floor=0.5, haaqi_ceiling=0.7, gap_closed=0.5))
    out = capsys.readouterr().out
    assert "htdemucs: 50 tracks, 50 scenes" in out
    assert "at-ear" in out and "1.50" in out
    assert "floor 0.5000  ceiling 0.7000  gap closed 50.0 %" in out
    print_summary(Summary(system="oracle", tracks=1, scenes=1, sdr=sdr, haaqi=0.9,
                          haaqi_floor=None, haaqi_ceiling=None, gap_closed=None))
    assert "floor" not in capsys.readouterr().out
