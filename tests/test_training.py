"""Training: augmentation, the TFC-TDF model, resumable training and ``remixer train``."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from safetensors.torch import load_file
from test_classical_separation import TASNET, random_tasnet_members

from remixer_app.cli import main
from remixer_app.cli import train as train_cli
from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.evaluation.sdr import sdr
from remixer_app.core.progress import ProgressReport, ProgressTracker
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.conv_tasnet import ConvTasNet
from remixer_app.core.separation.ensemble import available_ensembles, load_ensemble
from remixer_app.core.separation.members import register_architecture, save_member
from remixer_app.core.separation.tfc_tdf import TfcTdfUNet
from remixer_app.training import recipes
from remixer_app.training.augment import Augmentation, sample_batch
from remixer_app.training.batches import BatchStream
from remixer_app.training.checkpoint import checkpoint_path
from remixer_app.training.data import find_tracks, load_tracks
from remixer_app.training.ensemble_file import write_ensemble
from remixer_app.training.trainer import train_member
from remixer_app.training.tuning import simplex_grid, tune_ensemble

from tiny_models import SLOW_ARCHITECTURE, SlowScaleModel, write_tone_scene

TINY_TFC = {"channels": 4, "growth": 4, "levels": 1, "convs": 1, "bottleneck": 4,
            "patch": 4, "nfft": 256, "hop": 64, "segment": 1.0}
TINY = dataclasses.replace(recipes.RECIPES["tfc_tdf"], name="tiny", config=TINY_TFC, batch=2,
                           segment_s=0.25, steps=3, finetune_steps=0, checkpoint_every=1)


def _write_tracks(root: Path, count: int = 2, seconds: float = 1.0) -> Path:
    """Track folders of four distinct synthetic stems (tones and noise bursts)."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * 44100)) / 44100
    for i in range(count):
        folder = root / f"track{i}"
        folder.mkdir(parents=True)
        for k, name in enumerate(STEM_NAMES):
            tone = 0.2 * np.sin(2 * np.pi * (110 * (k + 1) + 20 * i) * t)
            audio = np.stack([tone, tone * 0.8], axis=1) + 0.01 * rng.standard_normal((len(t), 2))
            sf.write(folder / f"{name}.wav", audio.astype(np.float32), 44100, "FLOAT")
    return root


def test_tfc_tdf_estimates_add_up_to_the_mixture() -> None:
    torch.manual_seed(0)
    model = TfcTdfUNet(**TINY_TFC).eval()
    mix = torch.randn(2, 2, 5001) * 0.1
    with torch.no_grad():
        out = model(mix)
    assert out.shape == (2, 4, 2, 5001)
    assert torch.allclose(out.sum(dim=1), mix, atol=1e-5)
    assert model.sources == ["drums", "bass", "other", "vocals"]


def test_tfc_tdf_rejects_sizes_the_u_net_cannot_halve() -> None:
    with pytest.raises(ValueError, match="divisible"):
        TfcTdfUNet(nfft=256, patch=8, levels=5)


def test_batches_are_reproducible_remixes_that_sum_to_the_mixture(tmp_path: Path) -> None:
    tracks = load_tracks(find_tracks(_write_tracks(tmp_path)))
    sources = ["drums", "bass", "other", "vocals"]
    aug = Augmentation(speed=1.0, silent=0.0)
    a = sample_batch(np.random.default_rng(3), tracks, 4, 8000, sources, aug)
    b = sample_batch(np.random.default_rng(3), tracks, 4, 8000, sources, aug)
    c = sample_batch(np.random.default_rng(4), tracks, 4, 8000, sources, aug)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    mix, targets = a
    assert mix.shape == (4, 2, 8000) and targets.shape == (4, 4, 2, 8000)
    np.testing.assert_allclose(mix, targets.sum(axis=1), atol=1e-6)
    assert np.all(np.abs(targets).max(axis=(2, 3)) > 0)  # no stem lost by the speed change


def test_worker_processes_draw_the_same_batches_in_step_order(tmp_path: Path) -> None:
    tracks = load_tracks(find_tracks(_write_tracks(tmp_path)))
    sources = ["drums", "bass", "other", "vocals"]
    aug = Augmentation(speed=1.0)
    steps = [5, 6, 7, 8, 12, 13]  # a jump, as when the at-ear stage starts
    with BatchStream(9, tracks, 3, 6000, sources, aug) as here:
        expected = [here.batch(step) for step in steps]
    with BatchStream(9, tracks, 3, 6000, sources, aug, workers=2) as ahead:
        drawn = [ahead.batch(step) for step in steps]
    for (mix, targets), (mix_w, targets_w) in zip(expected, drawn, strict=True):
        np.testing.assert_array_equal(mix, mix_w)
        np.testing.assert_array_equal(targets, targets_w)
    assert not np.array_equal(expected[0][0], expected[1][0])


def _interrupt_handlers() -> tuple[Any, Any]:
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_batch_workers_leave_interrupts_to_the_trainer_and_report_a_death(
        tmp_path: Path) -> None:
    tracks = load_tracks(find_tracks(_write_tracks(tmp_path)))
    sources = ["drums", "bass", "other", "vocals"]
    # As `remixer train` does: Ctrl-C asks the trainer to stop after this step.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        with BatchStream(1, tracks, 1, 1000, sources, Augmentation(), workers=1) as stream:
            stream.batch(0)
            pool = stream._pool
            assert pool is not None
            assert pool.submit(_interrupt_handlers).result() == (signal.SIG_IGN,
                                                                 signal.SIG_DFL)
            for process in list(pool._processes.values()):  # killed, as by the OOM killer
                os.kill(process.pid, signal.SIGKILL)
            with pytest.raises(RemixerError, match="a batch-drawing process stopped"):
                for step in range(1, 20):
                    stream.batch(step)
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_batch_workers_end_with_the_trainer(tmp_path: Path) -> None:
    _write_tracks(tmp_path / "data")
    script = (
        "import os, sys\n"
        "from remixer_app.training.augment import Augmentation\n"
        "from remixer_app.training.batches import BatchStream\n"
        "from remixer_app.training.data import find_tracks, load_tracks\n"
        f"tracks = load_tracks(find_tracks({str(tmp_path / 'data')!r}))\n"
        "stream = BatchStream(1, tracks, 1, 1000, ['drums', 'bass', 'other', 'vocals'],\n"
        "                     Augmentation(), workers=1)\n"
        "stream.batch(0)\n"
        "print(*[p.pid for p in stream._pool._processes.values()], flush=True)\n"
        "os._exit(0)  # gone without shutting the pool down, as if killed\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    (worker,) = (int(pid) for pid in done.stdout.split())
    deadline = time.monotonic() + 30
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_training_with_batch_workers_gives_the_same_weights(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    here = train_member(TINY, data, tmp_path / "a", hrir=None)
    ahead = train_member(TINY, data, tmp_path / "b", hrir=None, workers=2)
    a, b = load_file(str(here.weights)), load_file(str(ahead.weights))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    card = json.loads(ahead.card.read_text())
    assert card["device"] == "cpu" and card["batch_workers"] == 2


def test_augmentation_changes_gain_polarity_and_channels(tmp_path: Path) -> None:
    tracks = load_tracks(find_tracks(_write_tracks(tmp_path, count=1)))
    plain = Augmentation(remix=0.0, gain_db=0.0, channel_swap=0.0, polarity=0.0, speed=0.0,
                         silent=0.0)
    _, t = sample_batch(np.random.default_rng(0), tracks, 8, 4000, STEM_NAMES, plain)
    # Without augmentation every vocals excerpt is the stored left/right = 1/0.8 tone.
    ratio = np.abs(t[:, 0, 1]).max(axis=1) / np.abs(t[:, 0, 0]).max(axis=1)
    np.testing.assert_allclose(ratio, 0.8, atol=0.1)
    flipped = dataclasses.replace(plain, channel_swap=1.0, gain_db=6.0)
    _, t = sample_batch(np.random.default_rng(0), tracks, 8, 4000, STEM_NAMES, flipped)
    ratio = np.abs(t[:, 0, 0]).max(axis=1) / np.abs(t[:, 0, 1]).max(axis=1)
    np.testing.assert_allclose(ratio, 0.8, atol=0.1)
    peaks = np.abs(t[:, 0]).max(axis=(1, 2))
    assert peaks.max() / peaks.min() > 1.3  # random gains
    polar = dataclasses.replace(plain, polarity=1.0)
    _, p = sample_batch(np.random.default_rng(0), tracks, 8, 4000, STEM_NAMES, plain)
    _, q = sample_batch(np.random.default_rng(0), tracks, 8, 4000, STEM_NAMES, polar)
    np.testing.assert_array_equal(p, -q)


def test_find_tracks_explains_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(RemixerError, match="no training track"):
        find_tracks(tmp_path)
    with pytest.raises(RemixerError, match="does not exist"):
        find_tracks(tmp_path / "missing")


def test_a_cancelled_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    whole = train_member(TINY, data, tmp_path / "a", hrir=None)
    steps = []

    def cancel_after_two() -> bool:
        return len(steps) >= 2

    with pytest.raises(Cancelled):
        train_member(TINY, data, tmp_path / "b", hrir=None, cancelled=cancel_after_two,
                     progress=lambda r: steps.append(r))
    assert checkpoint_path(tmp_path / "b", "tiny").is_file()
    assert not (tmp_path / "b" / "tiny.safetensors").exists()
    resumed = train_member(TINY, data, tmp_path / "b", hrir=None)
    a, b = load_file(str(whole.weights)), load_file(str(resumed.weights))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    card = json.loads(resumed.card.read_text())
    assert card["recipe"]["steps"] == 3 and card["sha256"] == resumed.sha256
    assert card["data"] == {"folder": "data", "tracks": 2}
    assert [point[0] for point in card["loss_curve"]] == [3]


def test_a_checkpoint_of_other_settings_is_refused(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    train_member(TINY, data, tmp_path / "out", hrir=None)
    other = dataclasses.replace(TINY, lr=TINY.lr / 2)
    with pytest.raises(RemixerError, match="--fresh"):
        train_member(other, data, tmp_path / "out", hrir=None)
    train_member(other, data, tmp_path / "out", hrir=None, resume=False)


def test_a_run_resumes_with_a_new_step_count(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    train_member(TINY, data, tmp_path / "out", hrir=None)
    messages: list[str] = []
    longer = train_member(dataclasses.replace(TINY, steps=TINY.steps + 2), data,
                          tmp_path / "out", hrir=None, log=messages.append)
    assert f"resuming tiny at step {TINY.steps}" in messages
    card = json.loads(longer.card.read_text())
    assert [point[0] for point in card["loss_curve"]] == [TINY.steps, TINY.steps + 2]


def test_a_checkpoint_is_never_resumed_into_another_run(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    other_data = _write_tracks(tmp_path / "other")
    first = train_member(TINY, data, tmp_path / "init", hrir=None)
    out = tmp_path / "out"
    longer = dataclasses.replace(TINY, steps=5)
    train_member(TINY, data, out, hrir=None)  # finished: its checkpoint stays resumable
    with pytest.raises(RemixerError, match="is of a run on .*data, not .*other: run with --fresh"):
        train_member(longer, other_data, out, hrir=None)
    with pytest.raises(RemixerError, match="did not start from .*tiny.safetensors"):
        train_member(longer, data, out, hrir=None, init=first.weights)
    with pytest.raises(RemixerError, match="has done 3 steps on plain stems, more than the 2"):
        train_member(TINY.with_steps(2, 0), data, out, hrir=None)
    assert train_member(longer, data, out, hrir=None).card.is_file()  # the same run: goes on
    started = train_member(TINY, data, tmp_path / "tuned", hrir=None, init=first.weights)
    resumed = train_member(longer, data, tmp_path / "tuned", hrir=None, init=first.weights)
    assert json.loads(resumed.card.read_text())["initial_weights"]["sha256"] == first.sha256
    assert started.sha256 != resumed.sha256


def test_a_recipe_refuses_tracks_without_its_stems(tmp_path: Path) -> None:
    data = tmp_path / "classical"
    (data / "scene").mkdir(parents=True)
    for name in ("violin", "cello"):
        sf.write(data / "scene" / f"{name}.wav", np.full((44100, 2), 0.1, np.float32), 44100)
    with pytest.raises(RemixerError, match=r"tiny learns drums, bass, other, vocals; "
                                           r".*scene holds cello, violin: choose a recipe"):
        train_member(TINY, data, tmp_path / "out", hrir=None)


def test_the_time_left_after_resuming_counts_only_this_sessions_rate() -> None:
    now = [0.0]
    reports: list[ProgressReport] = []
    tracker = ProgressTracker(100, reports.append, clock=lambda: now[0], done=50)
    tracker.report("resumed")
    assert reports[-1].fraction == 0.5 and reports[-1].eta_s is None
    now[0] = 10.0
    tracker.advance(10)  # 10 steps in 10 s, 40 to go
    assert reports[-1].fraction == 0.6 and reports[-1].eta_s == pytest.approx(40.0)


def test_the_at_ear_stage_trains_on_real_head_responses(tmp_path: Path,
                                                        shared_data: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    recipe = dataclasses.replace(TINY, steps=1, finetune_steps=1)
    with pytest.raises(RemixerError, match="head-related"):
        train_member(recipe, data, tmp_path / "out", hrir=None)
    messages: list[str] = []
    trained = train_member(recipe, data, tmp_path / "out",
                           hrir=shared_data / "hrir" / "VP_N6-BTE_fr.mat", log=messages.append)
    assert any("at-ear stage: 4 tracks" in m for m in messages)  # 2 tracks x 2 angles
    assert json.loads(trained.card.read_text())["hrir"]["file"] == "VP_N6-BTE_fr.mat"


def test_remixer_train_writes_a_usable_ensemble(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    data = _write_tracks(tmp_path / "data")
    out = tmp_path / "models"
    code = main(["train", "tiny", "--data", str(data), "--out", str(out), "--ensemble-name",
                 "mine", "--threads", "1"])
    assert code == 0, capsys.readouterr().err
    assert "tiny.safetensors" in capsys.readouterr().out
    separator = load_separator(str(out / "mine.yaml"), device="cpu")
    mix = np.random.default_rng(0).standard_normal((22050, 2)).astype(np.float32) * 0.1
    stems = separator.separate(mix, 44100)
    np.testing.assert_allclose(sum(stems.values()), mix, atol=1e-4)  # residual "other"
    assert main(["train", "tiny", "--data", str(data), "--steps", "-1"]) == 2
    assert main(["train", "tiny", "--data", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "note:" not in capsys.readouterr().err
    # A name the app ships keeps meaning the shipped file: the user is told the path.
    assert main(["train", "tiny", "--data", str(data), "--out", str(tmp_path / "mine"),
                 "--ensemble-name", "classical", "--threads", "1"]) == 0
    assert (f"note: --ensemble classical means {available_ensembles()['classical']}; use "
            f"this one as --ensemble {tmp_path / 'mine' / 'classical.yaml'}"
            in capsys.readouterr().err)


def test_simplex_grid_covers_the_weights_that_sum_to_one() -> None:
    assert simplex_grid(2, 4) == [(0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0)]
    grid = simplex_grid(3, 10)
    assert len(grid) == 66 and all(abs(sum(w) - 1) < 1e-12 for w in grid)


def test_tuning_writes_per_stem_weights_no_worse_than_any_member(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write_tracks(tmp_path / "data", count=3)
    out = tmp_path / "models"
    for name, seed in (("tiny_a", 1), ("tiny_b", 2)):
        train_member(dataclasses.replace(TINY, name=name, seed=seed), data, out, hrir=None)
    ensemble = write_ensemble(out, "duo", ["tiny_a", "tiny_b"])
    assert main(["tune-ensemble", str(ensemble), "--data", str(data), "--limit", "2",
                 "--steps", "4"]) == 0
    assert "vocals:" in capsys.readouterr().out
    report = json.loads((out / "duo.tuning.json").read_text())
    spec = load_ensemble(ensemble)
    for stem in ("vocals", "drums", "bass"):
        result = report["stems"][stem]
        assert result["ensemble_sdr"] >= max(result["members_alone_sdr"].values())
        weights = [m.weights[stem] for m in spec.members]
        assert sum(weights) == pytest.approx(1.0) and all(w in (0, .25, .5, .75, 1)
                                                          for w in weights)
        assert weights == [result["weights"]["tiny_a"], result["weights"]["tiny_b"]]
    assert "other" not in report["stems"]  # the residual
    assert report["tracks"] == 2 and report["mixtures"] == 2
    load_separator(str(ensemble), device="cpu")  # still valid, checksums intact
    tuned = [m.weights for m in spec.members]
    write_ensemble(out, "duo", ["tiny_a", "tiny_b"])  # as `remixer train` does after a run
    assert [m.weights for m in load_ensemble(ensemble).members] == tuned  # kept
    train_member(dataclasses.replace(TINY, name="tiny_b", seed=3), data, out, hrir=None,
                 resume=False)
    write_ensemble(out, "duo", ["tiny_a", "tiny_b"])
    again = load_ensemble(ensemble).members
    assert again[0].weights == tuned[0] and again[1].weights != tuned[1]  # new weights: reset

    # A JSON ensemble file stays JSON; data without the ensemble's stems is refused.
    as_json = out / "duo2.json"
    as_json.write_text(json.dumps(yaml.safe_load(ensemble.read_text())))
    classical = tmp_path / "classical" / "scene"
    classical.mkdir(parents=True)
    for name in ("violin", "cello"):
        sf.write(classical / f"{name}.wav", np.full((44100, 2), 0.1, np.float32), 44100)
    assert main(["tune-ensemble", str(as_json), "--data", str(classical.parent)]) == 2
    assert "hold none of the stems" in capsys.readouterr().err
    assert main(["tune-ensemble", str(as_json), "--data", str(data), "--limit", "1",
                 "--steps", "2"]) == 0
    assert json.loads(as_json.read_text())["members"][0]["id"] == "tiny_a"
    load_separator(str(as_json), device="cpu")


@pytest.mark.parametrize("sources", ["stems", "instruments"])
def test_tuning_records_what_the_post_processed_ensemble_scores(tmp_path: Path,
                                                                sources: str) -> None:
    # The remask acts on the weighted mean of the members, not on each member: tuning
    # must score remask(sum w member), with the residual and the blend, as shipped.
    out = tmp_path / "models"
    out.mkdir()
    members, options = [], {"wiener_remask": True, "mixture_blend": 0.1}
    register_architecture(SLOW_ARCHITECTURE, SlowScaleModel)
    for seed in (0, 1):
        if sources == "stems":  # each stem a share of the mixture: too small, too large
            config: dict[str, Any] = {"fractions": [0.1 + 0.3 * seed] * 4, "delay_s": 0.0}
            model, architecture = SlowScaleModel(**config), SLOW_ARCHITECTURE
        else:
            torch.manual_seed(seed)
            model, architecture, config = ConvTasNet(**TASNET).eval(), "conv_tasnet", TASNET
        sha = save_member(model, out / f"m{seed}.safetensors", architecture, config)
        members.append({"id": f"m{seed}", "kind": "safetensors", "file": f"m{seed}.safetensors",
                        "sha256": sha})
    if sources == "stems":
        data = _write_tracks(tmp_path / "data", seconds=2.0)
        options["residual_other"] = True
    else:
        data = tmp_path / "data"
        write_tone_scene(data / "0000", {"violin": 660.0, "cello": 130.0}, seconds=2.0)
        write_tone_scene(data / "0001", {"flute": 880.0, "cello": 110.0, "viola": 330.0},
                         seconds=2.0)
        options["sources"] = "instruments"
    path = out / "duo.yaml"
    path.write_text(yaml.safe_dump({"description": "two random members", "members": members,
                                    **options}))
    report = tune_ensemble(str(path), data, steps=4)["stems"]

    def shipped_sdrs(member: str | None) -> dict[str, float]:
        scores: dict[str, list[float]] = {}
        for track in find_tracks(data):
            truth = load_tracks([track])[0]
            separator = load_separator(str(path), device="cpu", member=member,
                                       instruments=tuple(truth) if sources != "stems" else None)
            stems = separator.separate(np.sum(list(truth.values()), axis=0), 44100)
            for stem in report:
                if stem in truth:
                    scores.setdefault(stem, []).append(sdr(truth[stem], stems[stem]))
        return {stem: float(np.mean(values)) for stem, values in scores.items()}

    shipped = shipped_sdrs(None)
    for stem, result in report.items():
        assert result["ensemble_sdr"] == pytest.approx(shipped[stem], abs=1e-3)
    for member in ("m0", "m1"):
        alone = shipped_sdrs(member)
        for stem, result in report.items():
            assert result["members_alone_sdr"][member] == pytest.approx(alone[stem], abs=1e-3)
    # Mixed weights somewhere: where a sum of remasked members differs from the remask.
    assert any(0 < w < 1 for result in report.values() for w in result["weights"].values())


def test_tuning_can_choose_the_remask_and_writes_its_choice(tmp_path: Path) -> None:
    out = tmp_path / "models"
    out.mkdir()
    path = out / "duo.yaml"
    path.write_text(yaml.safe_dump({"description": "two random members",
                                    "members": random_tasnet_members(out),
                                    "sources": "instruments"}))
    data = tmp_path / "data"
    write_tone_scene(data / "0000", {"violin": 660.0, "cello": 130.0}, seconds=2.0)
    kept = tune_ensemble(str(path), data, steps=2)
    assert kept["wiener_remask"] is False and "remask_sdr_sums" not in kept
    report = tune_ensemble(str(path), data, steps=2, choose_remask=True)
    sums = report["remask_sdr_sums"]
    assert set(sums) == {"on", "off"} and sums["on"] != pytest.approx(sums["off"], abs=1e-3)
    assert report["wiener_remask"] == (sums["on"] > sums["off"]), sums
    assert load_ensemble(path).wiener_remask == report["wiener_remask"]
    chosen = sums["on" if report["wiener_remask"] else "off"]
    assert chosen == pytest.approx(sum(r["ensemble_sdr"] for r in report["stems"].values()))


def test_the_ensemble_file_is_of_the_kind_just_trained(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    out = tmp_path / "models"
    trained = train_member(TINY, _write_tracks(tmp_path / "data"), out, hrir=None)
    (out / "classical_tasnet.safetensors").write_bytes(trained.weights.read_bytes())
    pop = load_ensemble(write_ensemble(out, "mine", trained="tiny"))
    assert [m.id for m in pop.members] == ["tiny"] and not pop.classical
    classical = load_ensemble(write_ensemble(out, "mine", trained="classical_tasnet"))
    assert [m.id for m in classical.members] == ["classical_tasnet"] and classical.classical


def test_fine_tuning_starts_from_given_weights_of_the_same_recipe(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    first = train_member(TINY, data, tmp_path / "a", hrir=None)
    unchanged = train_member(TINY.with_steps(0, 0), data, tmp_path / "b", hrir=None,
                             init=first.weights)
    a, b = load_file(str(first.weights)), load_file(str(unchanged.weights))
    assert all(torch.equal(a[k], b[k]) for k in a)
    card = json.loads(unchanged.card.read_text())
    assert card["initial_weights"] == {"file": "tiny.safetensors", "sha256": first.sha256}
    wider = dataclasses.replace(TINY, config={**TINY_TFC, "channels": 8})
    with pytest.raises(RemixerError, match="not a tiny member"):
        train_member(wider, data, tmp_path / "c", hrir=None, init=first.weights)


def test_ctrl_c_saves_a_checkpoint_and_the_same_command_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", dataclasses.replace(TINY, steps=6))
    data = _write_tracks(tmp_path / "data")
    out = tmp_path / "models"
    reports: list[object] = []

    def show_then_interrupt(report: object) -> None:
        reports.append(report)
        if len(reports) == 3:  # as if the user pressed Ctrl-C during the second step
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(train_cli, "_show", show_then_interrupt)
    before = signal.getsignal(signal.SIGINT)  # ignored when the tests run in the background
    args = ["train", "tiny", "--data", str(data), "--out", str(out), "--threads", "1"]
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "stopping after this step" in err and "run the same command again" in err
    assert checkpoint_path(out, "tiny").is_file() and not (out / "tiny.safetensors").exists()
    assert signal.getsignal(signal.SIGINT) == before  # handed back
    monkeypatch.setattr(train_cli, "_show", lambda report: None)
    assert main(args) == 0
    assert "resuming tiny at step 2" in capsys.readouterr().err


def test_train_checks_everything_before_it_starts(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    data = _write_tracks(tmp_path / "data")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    out = tmp_path / "new"
    for extra, message in ((["--steps", "0"], "nothing to train"),
                           (["--data", str(a_file)], "--data must be a folder"),
                           (["--out", str(a_file)], "--out must be a folder"),
                           (["--finetune-steps", "1", "--hrir", str(a_file)], "not a readable"),
                           (["--ensemble-name", "sub/x"], "must be a plain name"),
                           (["--data", str(tmp_path / "none")], "none does not exist"),
                           (["--out", str(a_file / "sub")], "cannot write checkpoints"),
                           (["--batch", "0"], "--batch must be at least 1"),
                           (["--workers", "-1"], "--workers must be at least 0"),
                           (["--device", "gpu0"], "unknown device 'gpu0'"),
                           (["--device", "meta"], "unknown device 'meta'")):
        args = ["train", "tiny", "--data", str(data), "--out", str(out), *extra]
        assert main(args) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_train_names_a_missing_gpu_before_it_starts(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = _write_tracks(tmp_path / "data")
    out = tmp_path / "new"
    assert main(["train", "tiny", "--data", str(data), "--out", str(out),
                 "--device", "cuda"]) == 2
    assert "--device cuda is not available on this machine" in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert main(["train", "tiny", "--data", str(data), "--out", str(out),
                 "--device", "cuda:1"]) == 2
    assert "has 1 GPU(s), numbered from 0" in capsys.readouterr().err
    assert main(["train", "tiny", "--data", str(data), "--out", str(out),
                 "--device", "cuda:one"]) == 2
    assert "the GPU number must be a whole number" in capsys.readouterr().err
    assert not out.exists()


def test_train_does_not_replace_weights_unasked(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    data = _write_tracks(tmp_path / "data")
    out = tmp_path / "models"
    args = ["train", "tiny", "--data", str(data), "--out", str(out), "--threads", "1"]
    assert main(args) == 0
    first = (out / "tiny.safetensors").read_bytes()
    checkpoint_path(out, "tiny").unlink()  # weights of another run, say, and no checkpoint
    assert main(args) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    # Seeded training and a sorted header: the same run gives the same file.
    assert (out / "tiny.safetensors").read_bytes() == first
