"""Exports shared by the CLI and the app: aided output, plain remix, stems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from full_disk import disk_full_at_write

from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import ExportError
from remixer_app.core.exporting import export_aided, export_remix, export_stems, remix_signal

RATE = 44100


@pytest.fixture(scope="module")
def stems() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {s: 0.05 * rng.standard_normal((RATE, 2)) for s in ("vocals", "drums", "bass", "other")}


def test_remix_is_the_weighted_sum_the_hearing_aid_hears(stems: dict) -> None:
    engine = HearingAidEngine(stems, get_preset("N3"))
    settings = ChainSettings(gains_db={"vocals": 6.0, "bass": float("-inf")})
    weights = engine.stem_weights(settings.gains_db)
    expected = sum(w * stems[n] for w, n in zip(weights, engine.stem_names, strict=True))
    np.testing.assert_allclose(remix_signal(engine, stems, settings), expected, atol=1e-12)
    assert weights[engine.stem_names.index("bass")] == 0.0


def test_exports_write_the_formats_and_refuse_clashes(stems: dict, tmp_path: Path) -> None:
    engine = HearingAidEngine(stems, get_preset("N3"))
    settings = ChainSettings()
    aided = export_aided(engine, settings, tmp_path / "aided.flac")
    info = sf.info(aided.path)
    assert (info.samplerate, info.subtype, info.channels) == (32000, "PCM_16", 2)
    assert abs(aided.seconds - 1.0) < 0.02
    remix = export_remix(engine, stems, settings, tmp_path / "remix.wav", rate=44100,
                         subtype="FLOAT")
    data, rate = sf.read(remix.path)
    assert rate == 44100
    np.testing.assert_allclose(data, np.clip(remix_signal(engine, stems, settings), -1, 1),
                               atol=1e-6)
    soft = ChainSettings(gains_db={"vocals": 20.0}, clip="soft")  # the aid's clip mode...
    loud = export_remix(engine, stems, soft, tmp_path / "loud.wav", rate=44100,
                        subtype="FLOAT")
    heard = np.clip(remix_signal(engine, stems, soft), -1, 1)  # ...not the remix's, as played
    np.testing.assert_allclose(sf.read(loud.path)[0], heard, atol=1e-6)
    with pytest.raises(ExportError, match="already exists"):
        export_aided(engine, settings, tmp_path / "aided.flac")
    (tmp_path / "stems").mkdir()
    (tmp_path / "stems" / "other.wav").write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_stems(stems, tmp_path / "stems")
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == ["other.wav"]
    written = export_stems(stems, tmp_path / "stems", overwrite=True)
    assert len(written) == 4


def test_a_failed_stem_export_removes_only_the_files_it_created(
        stems: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "stems"
    folder.mkdir()
    (folder / "drums.wav").write_bytes(b"old drums")  # replaced, so no longer ours to keep
    (folder / "notes.txt").write_bytes(b"not a stem")
    calls = disk_full_at_write(monkeypatch, 3)
    with pytest.raises(ExportError, match="not enough disk space to write .*bass.wav"):
        export_stems(stems, folder, overwrite=True)
    assert [p.name for p in calls] == ["vocals.wav", "drums.wav", "bass.wav"]
    # vocals.wav, which the call created, is gone; the replaced drums.wav is the new one.
    assert sorted(p.name for p in folder.iterdir()) == ["drums.wav", "notes.txt"]
    assert sf.info(folder / "drums.wav").frames == RATE
    assert (folder / "notes.txt").read_bytes() == b"not a stem"
    monkeypatch.undo()
    (folder / "drums.wav").unlink()
    assert len(export_stems(stems, folder)) == 4  # a second try finds nothing in its way
