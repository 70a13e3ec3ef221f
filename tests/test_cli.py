"""The ``remixer`` command line: render, listeners, presets, and one-line errors."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remixer_app.cli import main, render
from remixer_app.cli.render import parse_gains
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import get_preset
from remixer_app.core.dsp.reference import reference_chain
from remixer_app.core.dsp.resample import resample
from remixer_app.core.listener_io import save_listener
from remixer_app.core.track_loader import open_track

RATE = 44100


@pytest.fixture()
def stems_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    folder = tmp_path / "stems"
    folder.mkdir()
    stems = {}
    for i, name in enumerate(STEM_NAMES):
        # below full scale: a clipping stem is warned about, on its own stderr line
        x = np.clip(0.05 * (i + 1) * rng.standard_normal((2 * RATE, 2)), -0.99, 0.99
                    ).astype(np.float32)
        sf.write(folder / f"{name}.wav", x, RATE, subtype="FLOAT")
        stems[name] = x.astype(np.float64)
    return folder, stems


def test_parse_gains() -> None:
    assert parse_gains("vocals=6, drums=-3,bass=mute") == {
        "vocals": 6.0, "drums": -3.0, "bass": float("-inf")}
    assert parse_gains("") == {}
    assert parse_gains("Bassoon=3,Sax=-2") == {"bassoon": 3.0, "saxophone": -2.0}
    for bad in ("vocals", "vocals=x", "=3", "vocals=inf", "vocals=nan", "vocals=1e9",
                "vocals=-41"):
        with pytest.raises(ValueError):
            parse_gains(bad)
    with pytest.raises(ValueError, match="two gains"):
        parse_gains("vocals=6,vocals=-6")


def test_render_matches_reference_chain(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                        tmp_path: Path) -> None:
    folder, stems = stems_dir
    listener = get_preset("N4")
    listener_file = save_listener(listener, tmp_path / "me.json")
    out = tmp_path / "out.wav"
    code = main(["render", "--stems", str(folder), "--listener-file", str(listener_file),
                 "--gains", "vocals=6,drums=0,bass=-3,other=mute", "--compressor",
                 "--clip", "none", "--subtype", "FLOAT", "--out", str(out)])
    assert code == 0
    written, rate = sf.read(out, dtype="float64")
    assert rate == 32000
    gains = {"vocals": 6.0, "drums": 0.0, "bass": -3.0, "other": float("-inf")}
    from remixer_app.core.dsp.compressor import CompressorParams

    ref = resample(reference_chain(stems, sum(stems.values()), listener, gains,
                                   CompressorParams()), RATE, 32000)
    # FLOAT files hold float32: compare at that precision
    assert np.abs(written - ref).max() < 1e-6


def test_render_default_is_16_bit_flac_at_32k(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                              tmp_path: Path) -> None:
    folder, _ = stems_dir
    out = tmp_path / "out.flac"
    assert main(["render", "--stems", str(folder), "--listener", "n2", "--out", str(out)]) == 0
    info = sf.info(out)
    assert (info.samplerate, info.subtype, info.channels) == (32000, "PCM_16", 2)


def test_render_with_mixture_file(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                  tmp_path: Path) -> None:
    folder, stems = stems_dir
    mix = tmp_path / "mix.wav"
    # a louder mixture, a few samples longer (decoder padding): the remix follows its loudness
    sf.write(mix, np.pad(2 * sum(stems.values()), ((0, 30), (0, 0))), RATE, subtype="FLOAT")
    quiet, loud = tmp_path / "a.wav", tmp_path / "b.wav"
    base = ["render", "--stems", str(folder), "--listener", "NH", "--clip", "none",
            "--subtype", "FLOAT"]
    assert main(base + ["--out", str(quiet)]) == 0
    assert main(base + ["--mixture", str(mix), "--out", str(loud)]) == 0
    ratio = np.abs(sf.read(loud)[0]).max() / np.abs(sf.read(quiet)[0]).max()
    assert ratio == pytest.approx(2.0, rel=1e-3)


@pytest.mark.parametrize("args, message", [
    (["--listener", "Q9"], "unknown listener preset"),
    (["--listener", "N3", "--gains", "piano=3"], "unknown stem"),
    (["--listener", "N3", "--gains", "vocals=loud"], "not a number"),
    (["--listener", "N3", "--sample-rate", "0"], "sample-rate"),
    (["--listener", "N3", "--sample-rate", "1000000"], "8000 to 384000 Hz"),
    (["--listener", "N3", "--gains", "vocals=1e9"], "beyond +-40 dB"),
    (["--listener", "N3", "--compressor", "--comp-attack", "0.001"],
     "remixer: error: compressor attack must be at least 0.02268 ms (one sample at 44100 Hz)"),
    (["--listener", "N3", "--compressor", "--comp-rms-window", "1e6"],
     "remixer: error: rms_buffer_size must be positive and at most 5 seconds"),
    (["--listener", "N3", "--comp-threshold", "0.01", "--comp-makeup", "2"],
     "remixer: error: --comp-threshold, --comp-makeup set up the compressor: add --compressor"),
    (["--listener", "N3", "--compressor", "--comp-makeup", "0"],
     "makeup_gain must be a positive linear gain"),
    (["--listener", "N3", "--gains", "vocals=3", "--gains", "bass=1,vocals=2"],
     "--gains gives vocals two gains"),
])
def test_render_errors_are_one_line(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                    tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    args: list[str], message: str) -> None:
    folder, _ = stems_dir
    out = tmp_path / "x.flac"
    assert main(["render", "--stems", str(folder), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


def test_render_takes_repeated_gains_and_compressor_settings(
        stems_dir: tuple[Path, dict[str, np.ndarray]], tmp_path: Path) -> None:
    folder, _ = stems_dir
    base = ["render", "--stems", str(folder), "--listener", "N3", "--subtype", "FLOAT",
            "--clip", "none"]
    outputs = {}
    for name, extra in (("one", ["--gains", "vocals=-6,drums=3"]),
                        ("two", ["--gains", "vocals=-6", "--gains", "drums=3"]),
                        ("drums", ["--gains", "drums=3"]),
                        ("squeezed", ["--gains", "drums=3", "--compressor",
                                      "--comp-threshold", "0.01"]),
                        ("default", ["--gains", "drums=3", "--compressor"])):
        assert main([*base, *extra, "--out", str(tmp_path / f"{name}.wav")]) == 0
        outputs[name] = sf.read(tmp_path / f"{name}.wav")[0]
    np.testing.assert_array_equal(outputs["one"], outputs["two"])  # both gains applied
    assert not np.array_equal(outputs["two"], outputs["drums"])
    assert not np.array_equal(outputs["squeezed"], outputs["default"])  # the threshold used


def test_render_and_the_app_say_what_reading_the_stems_noticed(
        stems_dir: tuple[Path, dict[str, np.ndarray]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder, stems = stems_dir
    six = np.concatenate([stems["vocals"], np.zeros((len(stems["vocals"]), 4))], axis=1)
    sf.write(folder / "vocals.wav", six.astype(np.float32), RATE, subtype="FLOAT")
    assert main(["render", "--stems", str(folder), "--listener", "N3", "--out",
                 str(tmp_path / "x.flac")]) == 0
    assert "vocals.wav has 6 channels; only the first two are used" in capsys.readouterr().err
    track = open_track(folder, None)  # the app shows the same with the track
    assert any("6 channels" in warning for warning in track.warnings)


def test_render_refuses_to_overwrite(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = stems_dir
    out = tmp_path / "x.flac"
    out.write_bytes(b"precious")
    args = ["render", "--stems", str(folder), "--listener", "N3", "--out", str(out)]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(args + ["--overwrite"]) == 0
    assert sf.info(out).samplerate == 32000


@pytest.mark.parametrize("name", ["stems/vocals.wav", "alias/bass.wav", "mix.wav"])
def test_render_never_writes_over_its_input(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            name: str) -> None:
    folder, stems = stems_dir
    (tmp_path / "alias").symlink_to(folder)  # another name of the stems folder
    mix = tmp_path / "mix.wav"
    sf.write(mix, sum(stems.values()), RATE)
    out = tmp_path / name
    before = out.read_bytes()
    assert main(["render", "--stems", str(folder), "--mixture", str(mix), "--listener", "N3",
                 "--overwrite", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"remixer: error: cannot write {out}: it is the input file ")
    assert "\n" not in err.strip() and out.read_bytes() == before


def test_render_refuses_silent_input(stems_dir: tuple[Path, dict[str, np.ndarray]],
                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, stems = stems_dir
    silence = np.zeros_like(stems["vocals"])
    sf.write(tmp_path / "mix.wav", silence, RATE)
    out = tmp_path / "x.flac"
    args = ["render", "--stems", str(folder), "--listener", "N3", "--out", str(out)]
    assert main([*args, "--mixture", str(tmp_path / "mix.wav")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "remixer: warning: mix.wav is silent: every sample is 0",
        f"remixer: error: the mixture {tmp_path / 'mix.wav'} is silent, so it cannot set the "
        "loudness; omit --mixture to match the sum of the stems"]
    for name in STEM_NAMES:
        sf.write(folder / f"{name}.wav", silence, RATE)
    assert main(args) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"remixer: error: every stem in {folder} is silent; there is nothing to render")
    assert not out.exists()


def test_render_missing_stems_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render", "--stems", str(tmp_path / "none"), "--listener", "N3",
                 "--out", str(tmp_path / "x.flac")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_system_errors_are_one_line_user_errors(
        stems_dir: tuple[Path, dict[str, np.ndarray]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = stems_dir
    args = ["render", "--stems", str(folder), "--listener", "N3", "--out",
            str(tmp_path / "x.flac")]
    real_iterdir = Path.iterdir

    def unreadable(self: Path) -> Iterator[Path]:
        # Root reads any folder, so the refusal is simulated.
        if self == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", unreadable)
    assert main(args) == 2
    assert capsys.readouterr().err == f"remixer: error: {folder}: Permission denied\n"
    monkeypatch.setattr(Path, "iterdir", real_iterdir)

    def out_of_memory(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(render, "load_stems_dir", out_of_memory)
    assert main(args) == 2
    assert capsys.readouterr().err == ("remixer: error: not enough memory for this task; try "
                                       "shorter audio or smaller settings\n")

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "load_stems_dir", interrupted)
    assert main(args) == 130  # Ctrl-C is no error of the user's input


def test_missing_required_argument_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stems", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--out" in err and "\n" not in err


def test_presets_and_listeners(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    shown = capsys.readouterr().out
    for name in ("NH", "N1", "N7", "S1", "S3"):
        assert f"\n{name} " in shown
    path = save_listener(get_preset("S2"), tmp_path / "s2.json")
    assert main(["listeners", str(path)]) == 0
    assert "1 listener(s)" in capsys.readouterr().out
    assert main(["listeners", str(tmp_path / "missing.json")]) == 2
