"""The classical-ensemble data generator: held-out pieces, rendering, determinism."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remixer_app.cli import main
from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.instruments import INSTRUMENTS, instrument_list
from remixer_app.training.classical import scores
from remixer_app.training.classical.scenes import DataSettings, build_dataset
from remixer_app.training.classical.scores import (
    Part,
    base_piece,
    corpus_pieces,
    is_held_out,
    split_pieces,
)
from remixer_app.training.classical.synth import GM_INSTRUMENTS, midi_bytes, render_part

try:
    from remixer_app.training.classical.synth import find_fluidsynth, find_soundfont

    find_fluidsynth()
    find_soundfont()
    HAVE_SYNTH = True
except RemixerError:
    HAVE_SYNTH = False
needs_synth = pytest.mark.skipif(not HAVE_SYNTH, reason="fluidsynth and a GM soundfont are not "
                                 "installed (apt-get install fluidsynth fluid-soundfont-gm)")


def test_held_out_pieces_are_never_training_pieces() -> None:
    split = split_pieces(seed=0)
    assert not set(split["train"]) & set(split["test"])
    assert len(split["test"]) > 20 and len(split["train"]) > 4 * len(split["test"]) // 2
    assert split_pieces(seed=0) == split
    assert split_pieces(seed=1)["test"] != split["test"]


def test_no_held_out_piece_is_a_version_of_a_training_piece() -> None:
    pieces = corpus_pieces()
    for seed in (0, 1):
        split = split_pieces(seed)
        # The training split is the hash's, as the shipped members were trained on it.
        assert split["train"] == [p for p in pieces if not is_held_out(p, seed)]
        assert not {base_piece(p) for p in split["train"]} & {base_piece(p)
                                                               for p in split["test"]}
    split = split_pieces(0)
    assert "bach/bwv248.35-3.mxl" in split["train"]  # its version "-3c" is held out by hash
    assert is_held_out("bach/bwv248.35-3c.mxl", 0)
    assert "bach/bwv248.35-3c.mxl" not in split["test"] and len(split["test"]) == 80


def test_versions_of_a_piece_share_its_base_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {base_piece(p) for p in ("bach/bwv248.35-3.mxl", "bach/bwv248.35-3c.mxl")} == {
        "bach/bwv248.35"}
    assert {base_piece(p) for p in ("bach/bwv18.5-lz.mxl", "bach/bwv18.5-w.mxl",
                                    "bach/bwv18.5.mxl", "bach/bwv18.5b.mxl")} == {"bach/bwv18.5"}
    assert base_piece("bach/bwv190.7-inst.mxl") == "bach/bwv190.7"
    assert base_piece("bach/bwv248.12-2.mxl") == "bach/bwv248.12"  # BWV 248's part number
    assert base_piece("bach/bwv18.6.mxl") == "bach/bwv18.6"  # another movement: another work
    assert base_piece("haydn/opus1no1/movement2.mxl") == "haydn/opus1no1/movement2"
    assert base_piece("mozart/k545/movement1_exposition.mxl") == "mozart/k545/movement1_exposition"
    names = ["bach/bwv1.6.mxl", "bach/bwv1.6-a.mxl", "bach/bwv2.6.mxl", "bach/bwv2.6b.mxl",
             "bach/bwv3.6-lz.mxl", "bach/bwv3.6-w.mxl", "bach/bwv4.8.mxl",
             "haydn/opus1no1/movement1.mxl", "haydn/opus1no1/movement2.mxl"]
    held = {"bach/bwv1.6-a.mxl", "bach/bwv2.6b.mxl", "bach/bwv3.6-lz.mxl", "bach/bwv3.6-w.mxl",
            "bach/bwv4.8.mxl", "haydn/opus1no1/movement2.mxl"}
    monkeypatch.setattr(scores, "corpus_pieces", lambda: names)
    monkeypatch.setattr(scores, "is_held_out", lambda piece, seed: piece in held)
    assert split_pieces(0) == {
        "train": ["bach/bwv1.6.mxl", "bach/bwv2.6.mxl", "haydn/opus1no1/movement1.mxl"],
        "test": ["bach/bwv3.6-lz.mxl", "bach/bwv3.6-w.mxl", "bach/bwv4.8.mxl",
                 "haydn/opus1no1/movement2.mxl"]}


def test_every_instrument_has_a_general_midi_program() -> None:
    assert set(GM_INSTRUMENTS) == set(INSTRUMENTS)
    assert len({program for program, _, _ in GM_INSTRUMENTS.values()}) == len(INSTRUMENTS)


def test_instrument_list_validates() -> None:
    assert instrument_list(["Violin", "cello", "violin"]) == ("cello", "violin")
    assert instrument_list(["Sax", "flute"]) == ("flute", "saxophone")  # Cadenza 2's name
    with pytest.raises(RemixerError, match="unknown instrument"):
        instrument_list(["violin", "kazoo"])
    with pytest.raises(RemixerError, match="2 to 5"):
        instrument_list(["violin"])


def test_midi_file_structure() -> None:
    data = midi_bytes(Part("p", ((0.0, 0.5, 69, 100), (0.5, 0.5, 71, 80))), program=73)
    assert data[:4] == b"MThd" and b"MTrk" in data
    assert bytes((0xC0, 73)) in data                   # program change
    assert bytes((0x90, 69, 100)) in data and bytes((0x90, 71, 80)) in data
    assert data.endswith(b"\xff\x2f\x00")


@needs_synth
def test_a_rendered_note_sounds_at_its_pitch() -> None:
    part = Part("p", ((0.1, 1.0, 69, 100),))         # A4 = 440 Hz
    audio = render_part(part, "flute", 44100)
    assert audio.shape == (44100,) and np.sqrt(np.mean(audio**2)) > 1e-3
    spectrum = np.abs(np.fft.rfft(audio[4410:4410 + 32768] * np.hanning(32768)))
    peak = np.argmax(spectrum) * 44100 / 32768
    assert abs(peak - 440.0) < 5.0


@needs_synth
def test_dataset_build_is_deterministic_and_resumable(tmp_path: Path) -> None:
    args = ["data", "classical", "--train", "2", "--test", "1", "--seconds", "3", "--seed", "5"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert [len(manifest["scenes"][s]) for s in ("train", "test")] == [2, 1]
    for scene in manifest["scenes"]["train"] + manifest["scenes"]["test"]:
        folder = tmp_path / "a" / scene["folder"]
        info = json.loads((folder / "scene.json").read_text())
        assert 2 <= len(info["instruments"]) <= 5
        assert info["piece"] in manifest["pieces"][scene["folder"].split("/")[0]]
        for name in info["instruments"]:
            a, rate = sf.read(folder / f"{name}.flac")
            b, _ = sf.read(tmp_path / "b" / scene["folder"] / f"{name}.flac")
            assert rate == 44100 and a.shape == (3 * 44100, 2)
            assert np.array_equal(a, b) and np.abs(a).max() > 1e-3
    # an interrupted build resumes: a lost scene is made again, identically
    lost = tmp_path / "a" / "train" / "0001"
    before = {p.name: p.read_bytes() for p in lost.iterdir()}
    shutil.rmtree(lost)
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert {p.name: p.read_bytes() for p in lost.iterdir()} == before
    # other settings in the same folder are refused, not mixed in
    assert main([*args[:-2], "--seed", "6", "--out", str(tmp_path / "a")]) == 2


@needs_synth
def test_an_interrupted_build_resumes_only_with_its_own_settings(tmp_path: Path) -> None:
    out = tmp_path / "d"
    settings = DataSettings(train=2, test=1, seconds=3.0, seed=5)
    made: list[float] = []

    def stop_after_one_scene() -> bool:
        return len(made) > 1

    with pytest.raises(Cancelled):
        build_dataset(out, settings, progress=lambda r: made.append(r.fraction),
                      cancelled=stop_after_one_scene)
    assert json.loads((out / "manifest.json").read_text())["scenes"] is None
    with pytest.raises(RemixerError, match="other settings"):
        build_dataset(out, dataclasses.replace(settings, seed=6))
    (out / "manifest.json").unlink()
    with pytest.raises(RemixerError, match="unknown build"):
        build_dataset(out, settings)


def test_bad_arguments_are_refused_before_any_work(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    for extra, message in ((["--seed", "-3", "--out", str(tmp_path / "d")], "--seed"),
                           (["--out", str(a_file)], "--out must be a folder")):
        assert main(["data", "classical", "--train", "1", "--test", "0", *extra]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
