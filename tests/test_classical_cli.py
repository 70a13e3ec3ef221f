"""The command line in classical mode: ``separate --instruments`` and ``render``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm as pyln
import pytest
import soundfile as sf
from test_classical_separation import _classical_ensemble

from remixer_app.cli import main
from remixer_app.core.audiogram import get_preset
from remixer_app.core.dsp.multiband_fitting import input_gain, level_adjustment_db
from remixer_app.core.dsp.reference import reference_classical_chain
from remixer_app.core.stems_folder import load_stems_dir

from tiny_models import write_tone_scene


def test_separate_writes_the_named_instruments(tmp_path: Path) -> None:
    ensemble = _classical_ensemble(tmp_path)
    write_tone_scene(tmp_path / "scene", {"violin": 660.0, "cello": 130.0})
    stems = load_stems_dir(tmp_path / "scene")
    sf.write(tmp_path / "duo.wav", stems["violin"] + stems["cello"], 44100, subtype="FLOAT")
    args = ["separate", str(tmp_path / "duo.wav"), "--ensemble", str(ensemble),
            "--out", str(tmp_path / "out"), "--no-cache"]
    assert main([*args, "--instruments", "violin,cello"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cello.wav", "violin.wav"]
    assert main([*args, "--instruments", "violin", "--overwrite"]) == 2  # 2 to 5


def test_render_uses_the_multiband_aid_for_instruments(tmp_path: Path) -> None:
    write_tone_scene(tmp_path / "scene", {"violin": 660.0, "cello": 130.0})
    out = tmp_path / "aided.wav"
    assert main(["render", "--stems", str(tmp_path / "scene"), "--listener", "N3",
                 "--gains", "violin=4,cello=-2", "--sample-rate", "44100", "--subtype", "FLOAT",
                 "--out", str(out)]) == 0
    written, rate = sf.read(out)
    expected = reference_classical_chain(load_stems_dir(tmp_path / "scene"), get_preset("N3"),
                                         {"violin": 4.0, "cello": -2.0})
    assert rate == 44100
    np.testing.assert_allclose(written, expected, atol=1e-6)
    assert main(["render", "--stems", str(tmp_path / "scene"), "--listener", "N3",
                 "--compressor", "--out", str(tmp_path / "x.flac")]) == 2
    sf.write(tmp_path / "mix.wav", np.zeros((44100, 2)) + 0.01, 44100)
    assert main(["render", "--stems", str(tmp_path / "scene"), "--listener", "N3",
                 "--mixture", str(tmp_path / "mix.wav"), "--out", str(tmp_path / "y.flac")]) == 2
    assert not (tmp_path / "y.flac").exists()  # the NAL-R aid's target: refused, not ignored


def test_render_writes_the_remix_haaqi_takes_its_level_from(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tone_scene(tmp_path / "scene", {"violin": 660.0, "cello": 130.0})
    stems = load_stems_dir(tmp_path / "scene")
    aided, remix = tmp_path / "aided.wav", tmp_path / "remix.wav"
    base = ["render", "--stems", str(tmp_path / "scene"), "--listener", "N3",
            "--gains", "Violin=4,cello=-2", "--sample-rate", "44100", "--subtype", "FLOAT"]
    assert main([*base, "--out", str(aided), "--remix-out", str(aided)]) == 2
    assert main([*base, "--out", str(aided), "--remix-out", str(remix)]) == 0
    level = 10 ** (level_adjustment_db([4.0, -2.0]) / 20)
    # as the aid takes it in: the stems' sum brought to -40 LUFS, then gains and level rule
    into = input_gain(pyln.Meter(44100).integrated_loudness(stems["violin"] + stems["cello"]))
    expected = into * level * (10 ** (4 / 20) * stems["violin"]
                               + 10 ** (-2 / 20) * stems["cello"])
    np.testing.assert_allclose(sf.read(remix)[0], expected, atol=1e-6)
    capsys.readouterr()
    scored = ["haaqi", "--processed", str(aided), "--reference", str(aided),
              "--listener", "N3", "--ear", "left", "--seed", "1"]
    assert main(scored) == 0
    assert "take it from the remix before the aid" in capsys.readouterr().err
    assert main([*scored, "--level-from", str(remix)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"level1 {65 - 20 * np.log10(np.sqrt(np.mean(expected[:, 0] ** 2))):.2f}" in out


def test_render_counts_numbered_players_in_the_level_rule(tmp_path: Path) -> None:
    write_tone_scene(tmp_path / "scene", {"violin_1": 660.0, "violin_2": 880.0, "cello": 130.0})
    out = tmp_path / "aided.wav"
    assert main(["render", "--stems", str(tmp_path / "scene"), "--listener", "N3",
                 "--gains", "violin=10,cello=-10", "--sample-rate", "44100",
                 "--subtype", "FLOAT", "--out", str(out)]) == 0
    stems = load_stems_dir(tmp_path / "scene")
    gains = {"violin": 10.0, "cello": -10.0}
    expected = reference_classical_chain(stems, get_preset("N3"), gains,
                                         players={"violin": 2})
    np.testing.assert_allclose(sf.read(out)[0], expected, atol=1e-6)
    per_stem, per_player = (
        reference_classical_chain(stems, get_preset("N3"), gains, "none", players)
        for players in (None, {"violin": 2}))
    assert np.std(per_stem) > 1.1 * np.std(per_player)  # the rule's gains: 1.2 dB apart
