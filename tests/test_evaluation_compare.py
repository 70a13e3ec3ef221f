"""Reading results files back, and the paired comparison of two runs (`remixer compare`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from remixer_app.cli import main
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.comparison import compare
from remixer_app.core.evaluation.results import SceneResult, read_results, write_results


def _scene(track: str, listener: str, sdr: dict[str, float], haaqi: tuple[float, float], *,
           system: str = "A", floor: float | None = None) -> SceneResult:
    per_stem = {**sdr, "mean": float(np.mean([sdr[s] for s in STEM_NAMES]))}
    atear = {key: value - 1.0 for key, value in per_stem.items()}
    return SceneResult(track=track, listener=listener, gains="vocals+6", system=system,
                       sdr={"plain": per_stem, "atear": atear}, haaqi_left=haaqi[0],
                       haaqi_right=haaqi[1], haaqi_floor=floor,
                       haaqi_ceiling=None if floor is None else floor + 0.1)


def _sdr(vocals: float) -> dict[str, float]:
    return {"vocals": vocals, "drums": 4.0, "bass": 3.0, "other": 2.0}


def _run(system: str, vocals: tuple[float, float, float],
         haaqi: tuple[float, float, float, float]) -> list[SceneResult]:
    """Three tracks, the first scored in two scenes (two listeners)."""
    tracks = ("t1", "t1", "t2", "t3")
    listeners = ("L1", "L2", "L1", "L1")
    per_track = dict(zip(("t1", "t2", "t3"), vocals, strict=True))
    return [_scene(t, listener, _sdr(per_track[t]), (h - 0.01, h + 0.01), system=system)
            for t, listener, h in zip(tracks, listeners, haaqi, strict=True)]


def test_results_read_back_as_written(tmp_path: Path) -> None:
    written = [_scene("t1", "L1", _sdr(5.25), (0.5, 0.625), floor=0.4),
               _scene("t2", "L2", _sdr(-1.5), (0.75, 0.875))]
    path = write_results(tmp_path / "r.csv", written)
    assert read_results(path) == written


@pytest.mark.parametrize(("content", "message"), [
    ("track,listener\nx,y\n", "is not a results file of `remixer evaluate --musdb`: "
                              "it has no column gains"),
    (None, "line 3: haaqi_left is 'loud', not a number"),
    (b"\xff\xfe\x00", "cannot read results file"),
])
def test_bad_results_files_are_refused(tmp_path: Path, content: str | bytes | None,
                                       message: str) -> None:
    path = tmp_path / "r.csv"
    if content is None:  # a valid file with one cell spoiled
        write_results(path, _run("A", (1.0, 2.0, 3.0), (0.5, 0.5, 0.5, 0.5))[:2])
        lines = path.read_text().splitlines()
        cells = lines[2].split(",")
        cells[-5] = "loud"  # haaqi_left
        lines[2] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(RemixerError, match=message.replace("(", r"\(")):
        read_results(path)
    with pytest.raises(RemixerError, match="cannot read results file"):
        read_results(tmp_path / "missing.csv")


def test_sdr_pairs_tracks_once_and_haaqi_pairs_scenes() -> None:
    a = _run("A", (1.0, 2.0, 3.0), (0.50, 0.60, 0.70, 0.80))
    b = _run("B", (1.1, 2.2, 3.3), (0.50, 0.60, 0.70, 0.84))
    result = compare(a, b)
    assert (result.system_a, result.system_b, result.tracks, result.scenes) == ("A", "B", 3, 4)
    by_metric = {d.metric: d for d in result.differences}
    assert list(by_metric) == [f"SDR {cond} {key}" for cond in ("plain", "atear")
                               for key in (*STEM_NAMES, "mean")] + ["HAAQI"]
    vocals = by_metric["SDR plain vocals"]
    # Differences 0.1, 0.2, 0.3, t1 counted once though it has two scenes.
    assert vocals.pairs == 3
    assert (vocals.mean_a, vocals.mean_b) == pytest.approx((2.0, 2.2))
    assert vocals.mean_difference == pytest.approx(0.2)
    assert vocals.standard_error == pytest.approx(0.1 / np.sqrt(3))
    assert vocals.significant  # 0.2 > 2 * 0.0577
    assert by_metric["SDR atear vocals"].mean_difference == pytest.approx(0.2)
    drums = by_metric["SDR plain drums"]
    assert drums.mean_difference == 0.0 and drums.standard_error == 0.0
    assert not drums.significant
    haaqi = by_metric["HAAQI"]  # differences 0, 0, 0, 0.04 over four scenes
    assert haaqi.pairs == 4 and haaqi.mean_difference == pytest.approx(0.01)
    assert haaqi.standard_error == pytest.approx(0.01)
    assert not haaqi.significant


def test_one_pair_has_no_standard_error() -> None:
    a = _run("A", (1.0, 2.0, 3.0), (0.5, 0.5, 0.5, 0.5))[2:3]
    b = _run("B", (2.0, 2.0, 3.0), (0.6, 0.5, 0.5, 0.5))[2:3]
    vocals = compare(a, b).differences[0]
    assert vocals.pairs == 1 and vocals.standard_error is None and not vocals.significant


def test_only_runs_on_the_same_scenes_of_one_system_each_compare() -> None:
    a = _run("A", (1.0, 2.0, 3.0), (0.5, 0.5, 0.5, 0.5))
    with pytest.raises(RemixerError, match=r"a.csv and b.csv were scored on different scenes "
                                           r"\(1 only in the first, 0 only in the second\)"):
        compare(a, a[:3], names=("a.csv", "b.csv"))
    with pytest.raises(RemixerError, match="b.csv holds results of several systems"):
        compare(a, [*a[:3], _run("B", (1.0, 2.0, 3.0), (0.5,) * 4)[3]],
                names=("a.csv", "b.csv"))
    with pytest.raises(RemixerError, match="a.csv holds a scene twice"):
        compare([*a, a[0]], a, names=("a.csv", "b.csv"))
    with pytest.raises(RemixerError, match="holds no scenes"):
        compare([], a)


def test_compare_command_prints_the_table(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    a = write_results(tmp_path / "a.csv", _run("A", (1.0, 2.0, 3.0), (0.5, 0.6, 0.7, 0.8)))
    b = write_results(tmp_path / "b.csv", _run("B", (1.1, 2.2, 3.3), (0.5, 0.6, 0.7, 0.84)))
    assert main(["compare", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["A: A", "B: B",
                         "3 tracks, 4 scenes; '*': |B - A| above 2 standard errors"]
    rows = {line[:20].strip(): line[20:].split() for line in lines[4:]}
    assert rows["SDR plain vocals"] == ["2.00", "2.20", "+0.20", "0.06", "*"]
    assert rows["SDR plain drums"] == ["4.00", "4.00", "+0.00", "0.00"]
    assert rows["HAAQI"] == ["0.6500", "0.6600", "+0.0100", "0.0100"]


def test_compare_command_refuses_different_scenes_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run("A", (1.0, 2.0, 3.0), (0.5,) * 4)
    a = write_results(tmp_path / "a.csv", run)
    b = write_results(tmp_path / "b.csv", run[:2])
    assert main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err.strip()
    assert "were scored on different scenes (2 only in the first" in err and "\n" not in err
