"""``remixer separate``: the default's message, a tiny ensemble end to end, the cache."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from full_disk import disk_full_at_write
from test_classical_separation import _classical_ensemble

from remixer_app.cli import main, separate
from remixer_app.core.separation import available_ensembles, ensemble, load_separator
from remixer_app.core.separation.ensemble import load_ensemble
from remixer_app.core.stems_folder import load_stems_dir, stem_players

from tiny_models import write_tiny_ensemble, write_tone_scene


@pytest.fixture
def track(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "track.wav"
    sf.write(path, 0.1 * rng.standard_normal((3 * 44100, 2)), 44100)
    return path


def test_without_the_default_it_says_what_is_needed(track: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    # A copy whose models/ lost default.yaml (e.g. a user deleted it).
    models = tmp_path / "models"
    models.mkdir()
    for name in ("htdemucs", "htdemucs_ft"):
        shutil.copy(ensemble.models_dir() / f"{name}.yaml", models)
    monkeypatch.setattr(ensemble, "models_dir", lambda: models)
    assert "default" not in available_ensembles()
    assert main(["separate", str(track), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "default separation ensemble" in err and "htdemucs_ft" in err
    assert not (tmp_path / "o").exists()


def test_shipped_ensembles_are_valid_and_offline_says_which_files() -> None:
    for name in ("htdemucs", "htdemucs_ft", "cadenza-demucs"):
        spec = load_ensemble(name)
        assert spec.members and spec.description
    assert load_ensemble("cadenza-demucs").residual_other
    with pytest.raises(Exception, match="75fc33f5-1941ce65.th"):
        load_separator("cadenza-demucs", device="cpu", allow_download=False)


def test_tiny_ensemble_end_to_end_then_from_cache(track: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    out = tmp_path / "stems"
    args = ["separate", str(track), "--out", str(out), "--ensemble", str(ensemble),
            "--device", "cpu"]
    assert main(args) == 0
    assert "separated" in capsys.readouterr().err
    mix, _ = sf.read(track, dtype="float32")
    stems = {s: sf.read(out / f"{s}.wav", dtype="float32")[0]
             for s in ("vocals", "drums", "bass", "other")}
    assert all(v.shape == mix.shape for v in stems.values())
    np.testing.assert_allclose(sum(stems.values()), mix, atol=1e-5)  # residual other
    # Existing files are refused before any work, then replaced on request from the cache.
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert "from the cache" in capsys.readouterr().err
    assert np.array_equal(sf.read(out / "vocals.wav", dtype="float32")[0], stems["vocals"])


def test_unknown_ensemble_lists_the_available_ones(track: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    assert main(["separate", str(track), "--out", str(tmp_path), "--ensemble", "nope"]) == 2
    assert "cadenza-demucs" in capsys.readouterr().err


def test_a_warning_is_printed_once_and_an_interrupted_run_leaves_no_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    loud = tmp_path / "loud.wav"
    sf.write(loud, np.full((3 * 44100, 2), 1.0), 44100, subtype="FLOAT")
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    out = tmp_path / "new" / "stems"
    args = ["separate", str(loud), "--out", str(out), "--ensemble", str(ensemble),
            "--device", "cpu", "--no-cache"]

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(separate, "_separate", interrupted)
    assert main(args) == 130
    err = capsys.readouterr().err
    assert err.count("clips") == 1 and "remixer: warning: loud.wav clips" in err
    assert not (tmp_path / "new").exists()  # nor the folder above it that the run made


def test_a_full_disk_leaves_no_stems_and_a_rerun_succeeds(
        track: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    out = tmp_path / "new" / "stems"
    args = ["separate", str(track), "--out", str(out), "--ensemble", str(ensemble),
            "--device", "cpu", "--no-cache"]
    disk_full_at_write(monkeypatch, 2)
    assert main(args) == 2
    assert capsys.readouterr().err.endswith(
        f"remixer: error: not enough disk space to write {out / 'drums.wav'}\n")
    assert not (tmp_path / "new").exists()  # the written vocals.wav, then the folders, went
    monkeypatch.undo()
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "bass.wav", "drums.wav", "other.wav", "vocals.wav"]


def test_out_must_be_a_folder(track: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture) -> None:
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    assert main(["separate", str(track), "--out", str(track), "--ensemble", str(ensemble),
                 "--device", "cpu"]) == 2
    assert "is a file; --out must be a folder" in capsys.readouterr().err


def test_sigterm_ends_a_command_as_ctrl_c_does(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers: dict[int, object] = {}
    monkeypatch.setattr(signal, "signal", lambda signum, handler: handlers.setdefault(
        signum, handler))
    assert main(["presets"]) == 0
    handler = handlers[signal.SIGTERM]
    assert callable(handler)
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGTERM, None)


def test_only_ensemble_files_are_offered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(ensemble.models_dir() / "default.yaml", models)
    for name in ("default.tuning.json", "tfc_tdf.json"):  # a tuning report, a member's record
        shutil.copy(ensemble.models_dir() / name, models)
    (models / "broken.yaml").write_text("members: [", encoding="utf-8")
    monkeypatch.setattr(ensemble, "models_dir", lambda: models)
    monkeypatch.setattr(ensemble, "user_data_dir", lambda: tmp_path / "user")
    assert sorted(available_ensembles()) == ["broken", "default"]
    with pytest.raises(Exception, match="cannot read ensemble file"):
        load_ensemble("broken")


def test_a_stem_file_never_replaces_the_track_it_is_made_from(
        track: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    source = track.rename(tmp_path / "vocals.wav")
    before = source.read_bytes()
    assert main(["separate", str(source), "--out", str(tmp_path), "--ensemble", str(ensemble),
                 "--device", "cpu", "--no-cache", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"remixer: error: cannot write {source}: it is the input file")
    assert source.read_bytes() == before
    assert not (tmp_path / "drums.wav").exists()  # refused before any work


@pytest.mark.parametrize("present", ["bass.flac", "Vocals.wav", "violin.wav"])
def test_a_folder_that_would_hold_two_files_for_a_stem_is_refused_before_any_work(
        track: Path, tmp_path: Path, present: str, capsys: pytest.CaptureFixture) -> None:
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    out = tmp_path / "stems"
    out.mkdir()
    sf.write(out / present, np.zeros((4410, 2)), 44100)  # an earlier run's, or the user's
    assert main(["separate", str(track), "--out", str(out), "--ensemble", str(ensemble),
                 "--device", "cpu", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{out} already has {present}; a stems folder holds one file per stem" in err
    assert "separating" not in err
    assert [p.name for p in out.iterdir()] == [present]


def test_stems_in_another_format_are_refused_and_the_folder_still_opens(
        track: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ensemble = write_tiny_ensemble(tmp_path / "ens")
    out = tmp_path / "twofmt"
    args = ["separate", str(track), "--out", str(out), "--ensemble", str(ensemble),
            "--device", "cpu"]
    assert main(args) == 0
    assert main([*args, "--format", "flac", "--overwrite"]) == 2
    assert "already has bass.wav" in capsys.readouterr().err
    assert sorted(p.suffix for p in out.iterdir()) == [".wav"] * 4
    assert len(load_stems_dir(out)) == 4


def test_no_cache_stages_the_stems_on_disk_not_in_memory(tmp_path: Path) -> None:
    """``--no-cache`` streams the stems through a throwaway cache folder in --out (gone
    afterwards) instead of holding them all in memory: each further minute of track
    costs the track itself and little more, where the stems in memory cost 46 bytes a
    frame."""
    import tracemalloc

    ensemble = write_tiny_ensemble(tmp_path / "ens")
    rng = np.random.default_rng(5)

    def peak(seconds: int) -> float:
        track = tmp_path / f"t{seconds}.wav"
        sf.write(track, (0.1 * rng.standard_normal((seconds * 44100, 2))).astype(np.float32),
                 44100, subtype="FLOAT")
        out = tmp_path / f"out{seconds}"
        tracemalloc.start()
        try:
            assert main(["separate", str(track), "--out", str(out), "--ensemble",
                         str(ensemble), "--device", "cpu", "--no-cache"]) == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert sorted(p.name for p in out.iterdir()) == [
                "bass.wav", "drums.wav", "other.wav", "vocals.wav"]

    peak(5)  # imports and compiled kernels are not per frame
    per_frame = (peak(180) - peak(60)) / (120 * 44100)  # windows of tens of seconds
    assert per_frame < 30, per_frame


def test_an_instrument_named_twice_is_one_stem_of_two_players(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ensemble = _classical_ensemble(tmp_path)
    write_tone_scene(tmp_path / "scene", {"violin": 660.0, "cello": 130.0})
    stems = load_stems_dir(tmp_path / "scene")
    sf.write(tmp_path / "duo.wav", stems["violin"] + stems["cello"], 44100, subtype="FLOAT")
    out = tmp_path / "out"
    args = ["separate", str(tmp_path / "duo.wav"), "--ensemble", str(ensemble),
            "--out", str(out), "--no-cache", "--instruments", "violin,cello,Violin"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["cello.wav", "scene.json", "violin.wav"]
    assert str(out / "scene.json") in capsys.readouterr().out.splitlines()
    assert stem_players(out) == {"cello": 1, "violin": 2}
    before = (out / "scene.json").read_bytes()
    (out / "cello.wav").unlink()
    (out / "violin.wav").unlink()
    assert main(args) == 2  # scene.json is not replaced unasked, and before any work
    err = capsys.readouterr().err
    assert "scene.json" in err and "separating" not in err
    assert (out / "scene.json").read_bytes() == before
    assert main([*args[:-1], "violin,cello", "--overwrite"]) == 0  # one each, now
    assert stem_players(out) == {"cello": 1, "violin": 1}
