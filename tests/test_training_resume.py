"""Resuming training: the two stages kept apart, the head responses and a full disk."""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_training import TINY, _write_tracks

from remixer_app.cli import main
from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation.members import file_sha256
from remixer_app.training import recipes, trainer
from remixer_app.training.checkpoint import checkpoint_path
from remixer_app.training.trainer import train_member


@pytest.fixture
def hrir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A head-response file whose at-ear tracks are the plain ones: the stage logic is
    under test here, not the responses (the real ones are tested in test_training)."""
    monkeypatch.setattr(trainer, "_ear_tracks", lambda plain, _hrir, _angles: plain)
    return _responses(tmp_path / "bte.mat")


def _responses(path: Path) -> Path:
    path.write_text(f"responses {path.name}", encoding="utf-8")
    return path


def _stopping_after(steps: int) -> dict[str, Any]:
    """``train_member`` arguments that stop it, as Ctrl-C does, after ``steps`` steps."""
    reports: list[ProgressReport] = []  # one as it starts, then one a step
    return {"progress": reports.append, "cancelled": lambda: len(reports) > steps}


def _card(path: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(path.read_text())
    return card


def test_a_resume_keeps_the_plain_and_at_ear_stages_apart(tmp_path: Path, hrir: Path) -> None:
    data, out = _write_tracks(tmp_path / "data"), tmp_path / "out"
    asked = TINY.with_steps(6, 2)
    with pytest.raises(Cancelled):
        train_member(asked, data, out, hrir=hrir, **_stopping_after(3))
    # Three plain steps done: two are not enough plain steps, and the third must not
    # become an at-ear one.
    with pytest.raises(RemixerError, match="has done 3 steps on plain stems, more than the 2 "
                                           "asked: resume with --steps 6 --finetune-steps 2 "
                                           "as before, or run with --fresh"):
        train_member(TINY.with_steps(2, 2), data, out, hrir=hrir)
    done = train_member(asked, data, out, hrir=hrir)
    card = _card(done.card)
    assert card["steps_done"] == {"plain": 6, "at_ear": 2}
    assert card["hrir"] == {"file": "bte.mat", "sha256": file_sha256(hrir)}
    assert card["loss_curve"][-1] == [8, done.final_loss]
    # Finished, at-ear steps included: no plain steps can follow them.
    with pytest.raises(RemixerError, match="has begun the at-ear stage after 6 plain steps, "
                                           "so the plain steps cannot become 9"):
        train_member(TINY.with_steps(9, 2), data, out, hrir=hrir)
    with pytest.raises(RemixerError, match="has done 2 at-ear steps, more than the 1 asked"):
        train_member(TINY.with_steps(6, 1), data, out, hrir=hrir)
    more = train_member(TINY.with_steps(6, 4), data, out, hrir=hrir)
    assert _card(more.card)["steps_done"] == {"plain": 6, "at_ear": 4}


def test_the_loss_curve_counts_the_steps_before_a_stop(tmp_path: Path) -> None:
    # The losses not yet in the curve are checkpointed: a stop changes no point of it.
    data = _write_tracks(tmp_path / "data")
    whole = train_member(TINY, data, tmp_path / "whole", hrir=None)
    with pytest.raises(Cancelled):
        train_member(TINY, data, tmp_path / "b", hrir=None, **_stopping_after(2))
    resumed = train_member(TINY, data, tmp_path / "b", hrir=None)
    np.testing.assert_allclose(_card(resumed.card)["loss_curve"],
                               _card(whole.card)["loss_curve"], rtol=1e-6)


def test_a_run_ended_early_reports_its_last_loss(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    with pytest.raises(Cancelled):
        train_member(TINY.with_steps(6, 0), data, tmp_path / "c", hrir=None,
                     **_stopping_after(3))
    # Resumed with the steps it has done: none left, yet a loss, and a curve, to report.
    short = train_member(TINY, data, tmp_path / "c", hrir=None)
    assert short.final_loss is not None and math.isfinite(short.final_loss)
    card = _card(short.card)
    assert card["loss_curve"] == [[3, short.final_loss]]
    assert card["steps_done"] == {"plain": 3, "at_ear": 0} and card["hrir"] is None


def test_a_checkpoint_without_stage_counts_resumes(tmp_path: Path, hrir: Path) -> None:
    data, out = _write_tracks(tmp_path / "data"), tmp_path / "out"
    asked = TINY.with_steps(3, 2)
    with pytest.raises(Cancelled):
        train_member(asked, data, out, hrir=hrir, **_stopping_after(4))
    path = checkpoint_path(out, "tiny")
    payload = torch.load(path, weights_only=True)
    state = json.loads(payload["state"])
    for key in ("plain_steps", "window", "hrir"):  # as saved before they were recorded
        state.pop(key, None)
    payload["state"] = json.dumps(state)
    torch.save(payload, path)
    # The stage of each step is inferred from the plain step count it was saved with.
    with pytest.raises(RemixerError, match="at-ear stage after 3 plain steps"):
        train_member(TINY.with_steps(4, 2), data, out, hrir=hrir)
    card = _card(train_member(asked, data, out, hrir=hrir).card)
    assert card["steps_done"] == {"plain": 3, "at_ear": 2}
    assert card["hrir"] == {"file": "bte.mat", "sha256": file_sha256(hrir)}


def test_a_resume_refuses_other_head_responses(tmp_path: Path, hrir: Path) -> None:
    data, out = _write_tracks(tmp_path / "data"), tmp_path / "out"
    other = _responses(tmp_path / "ed.mat")
    train_member(TINY.with_steps(1, 1), data, out, hrir=hrir)
    with pytest.raises(RemixerError, match=r"is of a run whose at-ear stage uses bte\.mat, not "
                                           r".*ed\.mat: pass that file as --hrir, or run with "
                                           "--fresh"):
        train_member(TINY.with_steps(1, 2), data, out, hrir=other)
    copy = tmp_path / "copy" / "bte.mat"  # the same responses elsewhere: the same run
    copy.parent.mkdir()
    copy.write_bytes(hrir.read_bytes())
    train_member(TINY.with_steps(1, 2), data, out, hrir=copy)
    # Before the at-ear stage the responses are not yet used: the card names those used.
    plain_only = tmp_path / "plain"
    with pytest.raises(Cancelled):
        train_member(TINY.with_steps(3, 1), data, plain_only, hrir=hrir, **_stopping_after(1))
    card = _card(train_member(TINY.with_steps(3, 1), data, plain_only, hrir=other).card)
    assert card["hrir"] == {"file": "ed.mat", "sha256": file_sha256(other)}


def _disk_full_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make writes into ``folder`` fail as on a full disk: torch's own file writer says
    so with a RuntimeError, Python's writes with an OSError."""
    real_save, real_write_bytes = torch.save, Path.write_bytes

    def save(obj: object, f: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(f, str | os.PathLike) and Path(f).parent == folder:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos "
                               "3930176 vs 3930068")
        real_save(obj, f, *args, **kwargs)

    def write_bytes(path: Path, data: Any) -> int:
        if path.parent == folder:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write_bytes(path, data)

    monkeypatch.setattr(torch, "save", save)
    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_a_full_disk_while_checkpointing_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    data, out = _write_tracks(tmp_path / "data"), tmp_path / "models"
    folder = checkpoint_path(out, "tiny").parent
    _disk_full_in(folder, monkeypatch)
    assert main(["train", "tiny", "--data", str(data), "--out", str(out), "--threads",
                 "1"]) == 2
    assert f"not enough disk space to write {folder / 'tiny.pt'}" in capsys.readouterr().err
    assert list(folder.iterdir()) == []  # no partial file left behind

