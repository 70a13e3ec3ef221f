"""Learning the instrument dictionaries of a :class:`DictionaryNmf` member.

Each instrument's dictionary is a non-negative factorisation ``V ~ W H`` of the STFT
magnitudes of its solo stems in the training scenes (both channels, frames where it
plays), by the multiplicative updates for the member's beta-divergence (the one its
separation fits with) on both ``W`` and ``H``, ``W``'s columns kept summing to one. No
gradient descent, no augmentation: a dictionary is a summary of how the instrument
sounds, and the training scenes already vary tempo, dynamics, register and room. A
recipe's ``steps`` are the updates per instrument.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from remixer_app.core.atomic import atomic_write
from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker
from remixer_app.core.separation.dictionary_nmf import (
    EPS,
    BetaUpdate,
    DictionaryNmf,
    beta_divergence,
    beta_factors,
    channel_frames,
    fit_activations,
)
from remixer_app.training.checkpoint import checkpoint_path
from remixer_app.training.data import check_sources, find_tracks, load_tracks
from remixer_app.training.publish import TrainResult, publish
from remixer_app.training.recipes import Recipe

#: The architecture (:mod:`remixer_app.core.separation.members`) learned this way.
DICTIONARY_ARCHITECTURE = "dictionary_nmf"
SILENT_DB = -60.0  # frames this far below the loudest of an instrument are left out
MAX_FRAMES = 20000  # STFT frames (of either channel) an instrument is learned from


def instrument_spectra(tracks: Sequence[dict[str, np.ndarray]], instrument: str,
                       model: DictionaryNmf, max_frames: int, generator: torch.Generator
                       ) -> torch.Tensor:
    """The STFT magnitudes (bins, frames) of ``instrument`` in ``tracks``, both channels,
    silent frames left out, at most ``max_frames`` drawn at random (``generator``)."""
    columns = []
    for track in tracks:
        if instrument in track:
            audio = torch.from_numpy(np.ascontiguousarray(track[instrument].T))
            columns.append(channel_frames(model.spectrogram(audio).abs()))
    if not columns:
        return torch.zeros(model.nfft // 2 + 1, 0)
    spectra = torch.cat(columns, dim=1)
    energy = spectra.square().sum(0)
    spectra = spectra[:, energy > energy.max() * 10 ** (SILENT_DB / 10)]
    if spectra.shape[1] > max_frames:
        spectra = spectra[:, torch.randperm(spectra.shape[1], generator=generator)[:max_frames]]
    return spectra.contiguous()


def learn_dictionary(spectra: torch.Tensor, components: int, iterations: int,
                     generator: torch.Generator, beta: float = 1.0,
                     check: Callable[[], None] = lambda: None) -> torch.Tensor:
    """A dictionary (bins, components), columns summing to one, for ``spectra``, by
    ``iterations`` of multiplicative updates lowering the ``beta``-divergence.

    ``check`` is called between iterations (a cancel check may raise there).
    """
    bins, frames = spectra.shape
    dictionary = torch.rand(bins, components, generator=generator) + 0.1
    dictionary /= dictionary.sum(0, keepdim=True)
    scale = spectra.sum(0, keepdim=True) / components
    activations = (torch.rand(components, frames, generator=generator) + 0.1) * scale
    update, one_source = BetaUpdate(beta), torch.ones(1, 1)
    for _ in range(iterations):
        check()
        activations, _ = update(spectra[None], dictionary, activations, one_source)
        grow, shrink = beta_factors(spectra, dictionary @ activations, beta)
        dictionary *= (grow @ activations.T) / (shrink @ activations.T + EPS)
        sums = dictionary.sum(0, keepdim=True) + EPS
        dictionary /= sums
        activations *= sums.T
    return dictionary


def train_dictionaries(recipe: Recipe, data: Path, out: Path, *, resume: bool = True,
                       progress: ProgressCallback | None = None,
                       cancelled: CancelCheck | None = None,
                       log: Callable[[str], None] = lambda _m: None) -> TrainResult:
    """Learn every instrument's dictionary (``recipe.steps`` updates each) from the
    scenes in ``data``; write the member into ``out``.

    A checkpoint keeps the dictionaries finished so far, so a cancelled run resumes at
    the instrument it stopped in; each instrument's frames and starting point come from
    the recipe's seed and the instrument's place, so a resumed run learns what an
    uninterrupted one would.

    Raises
    ------
    Cancelled
        ``cancelled()`` became true (the finished instruments are kept).
    RemixerError
        No usable data, or a checkpoint of another recipe or other data.
    ExportError
        The checkpoint or the member cannot be written.
    """
    model = DictionaryNmf(**recipe.config)
    folder = str(Path(data).resolve())
    state: dict[str, Any] = {"done": [], "data": folder, "seconds": 0.0, "losses": []}
    ckpt = checkpoint_path(out, recipe.name)
    if resume and ckpt.is_file():
        state = _restore(ckpt, recipe, model, folder)
        log(f"resuming {recipe.name}: {', '.join(state['done']) or 'no'} dictionaries done")
    paths = find_tracks(data)
    tracker = ProgressTracker(len(model.sources) * recipe.steps, progress, cancelled,
                              done=len(state["done"]) * recipe.steps)
    tracker.report(f"{recipe.name}: loading {len(paths)} tracks")
    tracker.check()
    tracks = load_tracks(paths)
    check_sources(paths, tracks, recipe, model.sources)
    log(f"{len(paths)} training tracks in {data}")
    started = time.monotonic() - state["seconds"]
    for index, instrument in enumerate(model.sources):
        if instrument in state["done"]:
            continue
        generator = torch.Generator().manual_seed(recipe.seed * 1000 + index)
        spectra = instrument_spectra(tracks, instrument, model, MAX_FRAMES, generator)
        if spectra.shape[1] == 0:
            raise RemixerError(f"{recipe.name} learns {instrument}, and no track in {data} "
                               "holds it")
        message = f"{recipe.name}: {instrument} ({spectra.shape[1]} frames)"
        try:
            dictionary = learn_dictionary(spectra, model.dictionaries.shape[2], recipe.steps,
                                          generator, model.update.beta,
                                          partial(tracker.advance, 1, message))
        except Cancelled:
            _save(ckpt, recipe, model, state, started)
            raise
        model.dictionaries[index] = dictionary
        state["done"].append(instrument)
        state["losses"].append([len(state["done"]) * recipe.steps,
                                divergence(spectra, dictionary, recipe.steps,
                                           model.update.beta)])
        _save(ckpt, recipe, model, state, started)
    tracker.finish()
    steps = len(model.sources) * recipe.steps
    return publish(recipe, model, out, data, len(paths),
                   {**state, "step": steps, "plain_steps": steps})


def divergence(spectra: torch.Tensor, dictionary: torch.Tensor, iterations: int,
               beta: float) -> float:
    """The ``beta``-divergence per frame of ``spectra`` from their best fit by
    ``dictionary`` (activations from ``iterations`` updates): the card's loss."""
    activations, _ = fit_activations(spectra[None], dictionary, 1, iterations,
                                     BetaUpdate(beta))
    return beta_divergence(spectra, dictionary @ activations, beta) / spectra.shape[1]


def _save(path: Path, recipe: Recipe, model: DictionaryNmf, state: dict[str, Any],
          started: float) -> None:
    state["seconds"] = time.monotonic() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"recipe": json.dumps(recipe.as_dict(), sort_keys=True),
               "dictionaries": model.dictionaries, "state": json.dumps(state)}
    buffer = io.BytesIO()  # in memory first: a full disk is then atomic_write's clear error
    torch.save(payload, buffer)
    atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getbuffer()), overwrite=True)


def _restore(path: Path, recipe: Recipe, model: DictionaryNmf, folder: str) -> dict[str, Any]:
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any unreadable file means the same to the user
        raise RemixerError(f"checkpoint {path} cannot be read (damaged or incomplete); "
                           "delete it or run with --fresh") from exc
    if payload.get("recipe") != json.dumps(recipe.as_dict(), sort_keys=True):
        raise RemixerError(f"checkpoint {path} was made with different settings; run with "
                           "--fresh to start over")
    state: dict[str, Any] = json.loads(payload["state"])
    if state["data"] != folder:
        raise RemixerError(f"checkpoint {path} is of a run on {state['data']}, not {folder}: "
                           "run with --fresh to start over, or choose another --out")
    model.dictionaries.copy_(payload["dictionaries"])
    return state
