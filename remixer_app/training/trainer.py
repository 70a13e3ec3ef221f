"""Training one ensemble member: plain stems first, then at-ear stems, resumable.

The loop takes augmented batches (:mod:`remixer_app.training.batches`), minimises the
L1 distance between estimated and true stem waveforms (as Demucs does) with Adam and
a cosine learning-rate decay within each stage, and saves a checkpoint every
``recipe.checkpoint_every`` steps. A checkpoint holds the weights, the optimiser, the
step (and how many of the steps were plain), the losses not yet in the curve and
torch's random generator, and each batch is a function of the seed and its step, so a
resumed run continues exactly where it stopped; a checkpoint is a plain dict of tensors
and numbers, loaded with ``weights_only=True``. The model learns on the CPU or on a GPU
(``device``).

A ``dictionary_nmf`` recipe has no gradient steps: :func:`train_member` hands it to
:mod:`remixer_app.training.dictionaries`, which learns its dictionaries by factorisation.

At the end the weights are written as a safetensors member file with, beside it,
``NAME.json``: the recipe, the steps done in each stage, the data and head-related
responses used, the loss curve and the time taken.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from remixer_app.core.audio_io import TARGET_RATE
from remixer_app.core.errors import Cancelled, RemixerError, SeparationError
from remixer_app.core.evaluation.hrir import load_hrir_set
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker
from remixer_app.core.separation.members import ARCHITECTURES, read_member_file
from remixer_app.training.batches import BatchStream, BatchWorkerError
from remixer_app.training.checkpoint import (
    check_resume,
    checkpoint_path,
    file_record,
    restore,
    save_checkpoint,
)
from remixer_app.training.data import (
    Track,
    at_ear_tracks,
    check_sources,
    find_tracks,
    load_tracks,
)
from remixer_app.training.dictionaries import DICTIONARY_ARCHITECTURE, train_dictionaries
from remixer_app.training.publish import TrainResult, publish
from remixer_app.training.recipes import Recipe

LOSS_EVERY = 25  # steps per point of the recorded loss curve


def train_member(recipe: Recipe, data: Path, out: Path, *, hrir: Path | None,
                 init: Path | None = None, resume: bool = True, device: str = "cpu",
                 workers: int = 0,
                 progress: ProgressCallback | None = None,
                 cancelled: CancelCheck | None = None,
                 log: Callable[[str], None] = lambda _m: None) -> TrainResult:
    """Train ``recipe`` on the tracks in ``data``; write the member into ``out``.

    Parameters
    ----------
    hrir
        Head-related responses for the at-ear stage (a MATLAB file as in
        ``../shared/data/hrir``); required when ``recipe.finetune_steps > 0``. Once
        the at-ear stage has begun, a resumed run must use the same file.
    init
        A member file of the same architecture and configuration to start from
        (fine-tuning) instead of random weights, or of a configuration the recipe
        extends with new layers (``dttnet`` from ``tfc_tdf``); ignored when resuming.
    resume
        Continue from the checkpoint in ``out`` if there is one for this recipe. The
        step counts may grow or shrink as long as the steps done in each stage fit
        them, but not change the plain stage once the at-ear stage has begun.
    device
        Where the model learns: ``"cpu"`` or a torch GPU device such as ``"cuda"``.
    workers
        Processes drawing batches ahead of the optimiser (0: drawn in this one). The
        batches are the same either way (:mod:`remixer_app.training.batches`).

    Raises
    ------
    Cancelled
        ``cancelled()`` became true; the finished steps are checkpointed first, so
        running again resumes there.
    RemixerError
        No usable data, a checkpoint that this run cannot continue (a different
        recipe, data, starting weights or head-related responses, or step counts
        that the steps done in each stage do not fit), or a recipe that
        ``extends`` another started without ``init``.
    ExportError
        A checkpoint or the member cannot be written (e.g. the disk is full).
    """
    if recipe.architecture == DICTIONARY_ARCHITECTURE:
        if init is not None:
            raise RemixerError(f"{recipe.name} learns its dictionaries from the data alone; "
                               "it does not start from weights (--init)")
        return train_dictionaries(recipe, data, out, resume=resume, progress=progress,
                                  cancelled=cancelled, log=log)
    if recipe.finetune_steps > 0 and hrir is None:
        raise RemixerError("the at-ear stage needs head-related responses (--hrir FILE)")
    torch.manual_seed(recipe.seed)
    # Every batch has one shape: let cuDNN time its convolution algorithms once and
    # keep the fastest (no effect on the CPU).
    torch.backends.cudnn.benchmark = True
    model = ARCHITECTURES[recipe.architecture](**recipe.config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    data_folder = str(Path(data).resolve())
    # "window": the losses of the steps since the loss curve's last point.
    state: dict[str, Any] = {"step": 0, "plain_steps": 0, "losses": [], "window": [],
                             "seconds": 0.0, "init": None, "data": data_folder, "hrir": None}
    ckpt = checkpoint_path(out, recipe.name)
    total = recipe.steps + recipe.finetune_steps
    responses = None if hrir is None else file_record(hrir)
    if resume and ckpt.is_file():
        state, asked = restore(ckpt, recipe, model, optimizer)
        check_resume(ckpt, state, recipe, asked, data, init, hrir, responses)
        state.setdefault("data", data_folder)  # checkpoints made before it was recorded
        log(f"resuming {recipe.name} at step {state['step']}")
    elif init is not None:
        state["init"] = _initialise(model, recipe, init)
        log(f"starting from {init}")
    elif recipe.extends is not None:
        raise RemixerError(f"{recipe.name} extends {recipe.extends}: start it from trained "
                           f"{recipe.extends} weights with --init (such as "
                           f"models/{recipe.extends}.safetensors)")
    if responses is not None:  # the same file if the at-ear stage has begun (checked)
        state["hrir"] = responses

    paths = find_tracks(data)
    log(f"{len(paths)} training tracks in {data}")
    # The steps of earlier sessions count as done, but not in the rate the time left is
    # extrapolated from.
    tracker = ProgressTracker(total, progress, cancelled, done=state["step"])
    tracker.report(f"resumed at step {state['step']}" if state["step"]
                   else f"{recipe.name}: loading {len(paths)} tracks")
    tracker.check()
    plain = load_tracks(paths)
    check_sources(paths, plain, recipe, model.sources)
    frames = int(round(recipe.segment_s * TARGET_RATE))
    started = time.monotonic() - state["seconds"]

    def checkpoint() -> None:
        state["seconds"] = time.monotonic() - started
        save_checkpoint(ckpt, recipe, model, optimizer, state)

    model.train()
    while state["step"] < total:
        finetune = state["plain_steps"] >= recipe.steps
        tracks = plain
        if finetune:
            assert hrir is not None
            tracks = _ear_tracks(plain, hrir, recipe.angles)
            log(f"at-ear stage: {len(tracks)} tracks at {recipe.angles} degrees")
        with BatchStream(recipe.seed, tracks, recipe.batch, frames, model.sources,
                         recipe.augmentation, workers) as batches:
            while state["step"] < (total if finetune else recipe.steps):
                step = state["step"]
                _set_lr(optimizer, recipe, step)
                try:
                    batch = batches.batch(step)
                except BatchWorkerError:
                    checkpoint()  # the steps done since the last one are kept for the rerun
                    raise
                loss = _learn(model, optimizer, recipe, batch, device)
                state["window"].append(loss)
                state["step"] = step + 1
                if not finetune:
                    state["plain_steps"] += 1
                if state["step"] % LOSS_EVERY == 0 or state["step"] == total:
                    _close_window(state)
                if state["step"] % recipe.checkpoint_every == 0 or state["step"] == total:
                    checkpoint()
                stage = "at-ear" if finetune else "plain"
                try:
                    tracker.advance(1, f"{recipe.name} {stage} step {state['step']}/{total} "
                                       f"loss {loss:.4f}")
                except Cancelled:
                    checkpoint()
                    raise
    if state["window"]:  # the end was reached by an earlier session that asked for more
        _close_window(state)
        checkpoint()
    state["device"] = _device_name(device)
    state["workers"] = workers
    return publish(recipe, model, out, data, len(paths), state)


def _learn(model: torch.nn.Module, optimizer: torch.optim.Optimizer, recipe: Recipe,
           batch: tuple[np.ndarray, np.ndarray], device: str) -> float:
    """One optimiser step on ``batch``; its L1 loss."""
    mix = torch.from_numpy(batch[0]).to(device)
    target = torch.from_numpy(batch[1]).to(device)
    # The presence recipes are told the sources each example holds, as a user names them.
    estimate = (model(mix, target.flatten(2).abs().amax(2) > 0) if recipe.presence
                else model(mix))
    loss = (estimate - target).abs().mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return float(loss.item())


def _close_window(state: dict[str, Any]) -> None:
    """End the loss curve's current point: the mean loss of the steps since the last."""
    state["losses"].append([state["step"], float(np.mean(state["window"]))])
    state["window"] = []


def _device_name(device: str) -> str:
    """``device`` as the card records it: a GPU with its model name."""
    if torch.device(device).type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


def _ear_tracks(plain: list[Track], hrir: Path, angles: tuple[float, ...]) -> list[Track]:
    hrirs = load_hrir_set(hrir)
    return [t for angle in angles for t in at_ear_tracks(plain, hrirs.speakers(angle,
                                                                               TARGET_RATE))]


def _initialise(model: torch.nn.Module, recipe: Recipe, init: Path) -> dict[str, str]:
    """Load ``init`` into ``model``: a member of the recipe's architecture and
    configuration or, for a recipe that ``extends`` another, of that one's (the
    recipe's configuration less the settings that add layers, such as ``dual_path``
    blocks): the added layers keep their initialisation."""
    try:
        metadata, state = read_member_file(init)
    except SeparationError as exc:
        raise RemixerError(f"starting weights: {exc}") from exc
    config = json.loads(metadata.get("config", "null"))
    same = config == recipe.config
    extended = (recipe.extends is not None and isinstance(config, dict)
                and all(recipe.config.get(key) == value for key, value in config.items()))
    if metadata.get("architecture") != recipe.architecture or not (same or extended):
        raise RemixerError(f"{init} is not a {recipe.name} member, nor one it extends "
                           f"(architecture {metadata.get('architecture')!r}); start from "
                           "that recipe's weights")
    model.load_state_dict(state, strict=same)
    return file_record(init)


def _set_lr(optimizer: torch.optim.Optimizer, recipe: Recipe, step: int) -> None:
    if step < recipe.steps:
        base, position, length = recipe.lr, step, recipe.steps
    else:
        base, position, length = recipe.finetune_lr, step - recipe.steps, recipe.finetune_steps
    lr = base * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * position / max(length, 1))))
    for group in optimizer.param_groups:
        group["lr"] = lr
