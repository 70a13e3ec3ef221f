"""Publishing a trained member: its weights as a safetensors member file and its card.

The card, ``NAME.json`` beside the weights, records the recipe, the steps done in each
stage, the data and head-related responses used, the loss curve and the time taken,
so that the member can be reproduced and its ensemble file checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from remixer_app.core.atomic import atomic_write
from remixer_app.core.separation.members import save_member
from remixer_app.training.recipes import Recipe


@dataclass(frozen=True)
class TrainResult:
    """Where the trained member went and what it took."""

    weights: Path
    sha256: str
    card: Path
    seconds: float
    final_loss: float | None  # the loss curve's last point; None when no step ran


def publish(recipe: Recipe, model: torch.nn.Module, out: Path, data: Path, tracks: int,
            state: dict[str, Any]) -> TrainResult:
    """Write the member's weights and its card (``NAME.json``) into ``out``.

    ``state`` is the run's: ``step`` and ``plain_steps`` (the rest were at-ear),
    ``losses`` (the loss curve, ``[step, loss]`` points), ``seconds``, and optionally
    ``init``, ``hrir``, ``device`` and ``workers``.
    """
    model.eval().cpu()
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{recipe.name}.safetensors"
    sha = save_member(model, weights, recipe.architecture, recipe.config)
    params = sum(t.numel() for t in model.state_dict().values())  # what the file holds
    at_ear = state["step"] - state["plain_steps"]
    card = {"member": recipe.name, "architecture": recipe.architecture,
            "parameters": params, "sha256": sha, "recipe": recipe.as_dict(),
            "steps_done": {"plain": state["plain_steps"], "at_ear": at_ear},
            "data": {"folder": data.resolve().name, "tracks": tracks},
            "hrir": state.get("hrir") if at_ear else None,
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "device": state.get("device", "cpu"), "batch_workers": state.get("workers", 0),
            "initial_weights": state.get("init"),
            "training_seconds": round(state["seconds"], 1),
            "loss_curve": state["losses"]}
    card_path = out / f"{recipe.name}.json"
    atomic_write(card_path, lambda tmp: tmp.write_text(json.dumps(card, indent=1) + "\n"),
                 overwrite=True)
    final = state["losses"][-1][1] if state["losses"] else None
    return TrainResult(weights, sha, card_path, state["seconds"], final)
