"""The resumable checkpoint of a member being trained, and when a run may resume it.

A checkpoint holds the weights, the optimiser, torch's random generator, the recipe and
the run's state: the step, how many of the steps were plain (the rest at-ear), the losses
not yet in the curve, the data, starting weights and head-related responses used. It is
a plain dict of tensors and text, loaded with ``weights_only=True``. A run resumes it
only into the same data, starting weights and responses, with step counts that the
steps done in each stage fit: otherwise the weights and their card would describe a run
that never happened.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from remixer_app.core.atomic import atomic_write
from remixer_app.core.errors import RemixerError
from remixer_app.core.separation.members import file_sha256
from remixer_app.training.recipes import Recipe


def checkpoint_path(out: Path, name: str) -> Path:
    """The resumable checkpoint of member ``name`` trained into ``out``."""
    return out / ".checkpoints" / f"{name}.pt"


def check_resume(path: Path, state: dict[str, Any], recipe: Recipe, asked: tuple[int, int],
                  data: Path, init: Path | None, hrir: Path | None,
                  responses: dict[str, str] | None) -> None:
    """Refuse to resume a run into other data, other starting weights, fewer steps in a
    stage than it has done there, plain steps after at-ear ones or other head-related
    responses in the at-ear stage: the weights and their card would describe a run that
    never happened. ``asked`` are the step counts the checkpoint was saved with."""
    trained_on = state.get("data")
    if trained_on is not None and trained_on != str(Path(data).resolve()):
        raise RemixerError(f"checkpoint {path} is of a run on {trained_on}, not {data}: run "
                           "with --fresh to start over, or choose another --out")
    if init is not None and (state.get("init") or {}).get("sha256") != file_sha256(init):
        raise RemixerError(f"checkpoint {path} is of a run that did not start from {init}: "
                           "run with --fresh to start from it, or choose another --out")
    plain, at_ear = state["plain_steps"], state["step"] - state["plain_steps"]
    as_before = (f"resume with --steps {asked[0]} --finetune-steps {asked[1]} as before, "
                 "or run with --fresh to start over")
    if plain > recipe.steps:
        raise RemixerError(f"checkpoint {path} has done {plain} steps on plain stems, more "
                           f"than the {recipe.steps} asked: {as_before}")
    if at_ear and recipe.steps != plain:
        raise RemixerError(f"checkpoint {path} has begun the at-ear stage after {plain} plain "
                           f"steps, so the plain steps cannot become {recipe.steps}: "
                           f"{as_before}")
    if at_ear > recipe.finetune_steps:
        raise RemixerError(f"checkpoint {path} has done {at_ear} at-ear steps, more than the "
                           f"{recipe.finetune_steps} asked: {as_before}")
    used = state.get("hrir")
    if at_ear and used and responses and used["sha256"] != responses["sha256"]:
        raise RemixerError(f"checkpoint {path} is of a run whose at-ear stage uses "
                           f"{used['file']}, not {hrir}: pass that file as --hrir, or run "
                           "with --fresh to start over")


def file_record(path: Path) -> dict[str, str]:
    """How the card and the checkpoint name an input file: its name and content."""
    return {"file": path.name, "sha256": file_sha256(path)}


def save_checkpoint(path: Path, recipe: Recipe, model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"recipe": json.dumps(recipe.as_dict(), sort_keys=True),
               "model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "torch_rng": torch.get_rng_state(),
               "state": json.dumps(state)}
    # Into memory first: torch's own file writer reports a full disk as a RuntimeError,
    # a Python write as the OSError that atomic_write turns into a clear message.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getbuffer()), overwrite=True)


def restore(path: Path, recipe: Recipe, model: torch.nn.Module,
             optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], tuple[int, int]]:
    """The run's state from checkpoint ``path``, with the plain and at-ear step counts it
    was saved with; the weights, optimiser and random generator are set from it."""
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any unreadable file means the same to the user
        raise RemixerError(f"checkpoint {path} cannot be read (damaged or incomplete); "
                           "delete it or run with --fresh") from exc
    if _schedule_free(payload.get("recipe")) != _schedule_free(recipe.as_dict()):
        raise RemixerError(f"checkpoint {path} was made with different settings; run with "
                           "--fresh to start over")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["torch_rng"])
    saved = json.loads(payload["recipe"])
    state: dict[str, Any] = json.loads(payload["state"])
    # Checkpoints made before the stages were counted apart: they switched stage at the
    # plain step count they were saved with.
    state.setdefault("plain_steps", min(state["step"], saved["steps"]))
    state.setdefault("window", [])
    return state, (saved["steps"], saved["finetune_steps"])


def _schedule_free(recipe: str | dict[str, Any] | None) -> str:
    """A recipe without its step counts: a run may be resumed with more or fewer steps
    (the learning-rate schedule then follows the new counts from where it stands)."""
    data = json.loads(recipe) if isinstance(recipe, str) else dict(recipe or {})
    data.pop("steps", None)
    data.pop("finetune_steps", None)
    return json.dumps(data, sort_keys=True)
