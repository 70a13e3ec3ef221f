"""Supervised NMF separation: the activations fit, the masks share the mixture out, the
dictionaries are learned from solo stems, and training them resumes exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.dictionary_nmf import (
    BetaUpdate,
    DictionaryNmf,
    beta_divergence,
    channel_frames,
    fit_activations,
)
from remixer_app.training.dictionaries import learn_dictionary
from remixer_app.training.ensemble_file import write_ensemble
from remixer_app.training.recipes import RECIPES
from remixer_app.training.trainer import train_member

from tiny_models import tone, write_tone_scene

SMALL = {"components": 4, "nfft": 512, "hop": 128, "iterations": 50, "mask_power": 2.0,
         "beta": 0.5, "segment": 1.0, "sources": ["cello", "flute", "violin"]}
RECIPE = replace(RECIPES["classical_nmf"], config=SMALL, steps=40)


def _sdr(truth: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10((truth ** 2).sum() / ((truth - estimate) ** 2).sum()))


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_the_fit_finds_the_activations_and_where_each_source_stands(beta: float) -> None:
    generator = torch.Generator().manual_seed(0)
    dictionary = torch.rand(60, 6, generator=generator)  # two sources, three columns each
    dictionary /= dictionary.sum(0, keepdim=True)
    activations = torch.rand(6, 40, generator=generator)
    gains = torch.tensor([[0.8, 0.2], [0.3, 0.7]])  # the first left, the second right
    per_column = gains.repeat_interleave(3, 0)
    spectra = torch.stack([dictionary @ (activations * per_column[:, [c]]) for c in (0, 1)])
    update = BetaUpdate(beta)
    divergences = []
    fitted, found = activations, gains
    for iterations in (10, 100, 1000):
        fitted, found = fit_activations(spectra, dictionary, 2, iterations, update)
        model = torch.stack([dictionary @ (fitted * found.repeat_interleave(3, 0)[:, [c]])
                             for c in (0, 1)])
        divergences.append(beta_divergence(spectra, model, beta))
    assert divergences[0] > divergences[1] > divergences[2]
    assert float((model - spectra).abs().max() / spectra.max()) < 0.02
    torch.testing.assert_close(found, gains, atol=0.02, rtol=0)
    torch.testing.assert_close(found.sum(1), torch.ones(2))


def _panned(freq: float, left: float) -> np.ndarray:
    mono = tone(freq)[:, 0]
    return np.stack([mono * left, mono * (1 - left)], 1).astype(np.float32)


@pytest.mark.parametrize(("left", "apart"), [(0.9, True), (0.5, False)])
def test_where_instruments_stand_tells_apart_what_both_could_play(left: float,
                                                                  apart: bool) -> None:
    # Both dictionaries can make a 440 Hz tone; only the viola plays it. Standing apart,
    # the violin's own 1 kHz tone places it on the right, so the left 440 Hz is the
    # viola's. Standing together, nothing tells whose the 440 Hz is.
    model = DictionaryNmf(**{**SMALL, "components": 2, "iterations": 200,
                             "sources": ["viola", "violin"]})
    for row, freqs in enumerate([(250.0, 440.0), (1000.0, 440.0)]):
        solo = np.concatenate([_panned(freq, 0.5) for freq in freqs])
        spectra = channel_frames(model.spectrogram(torch.from_numpy(solo.T.copy())).abs())
        model.dictionaries[row] = learn_dictionary(spectra, 2, 100,
                                                   torch.Generator().manual_seed(0), 0.5)
    viola, violin = _panned(440.0, left), _panned(1000.0, 1 - left)
    out = model(torch.from_numpy((viola + violin).T.copy()).unsqueeze(0))[0].numpy()
    scores = _sdr(viola.T, out[0]), _sdr(violin.T, out[1])
    assert all(score > 15 for score in scores) if apart else all(score < 3 for score in scores)


def _trained(tmp_path: Path, **kwargs: object) -> Path:
    data = tmp_path / "train"
    if not data.exists():
        write_tone_scene(data / "0000", {"violin": 660.0, "cello": 130.0})
        write_tone_scene(data / "0001", {"flute": 1760.0, "cello": 130.0})
    return train_member(RECIPE, data, tmp_path / "models", hrir=None, **kwargs).weights


def test_learned_dictionaries_separate_what_they_were_learned_from(tmp_path: Path) -> None:
    weights = _trained(tmp_path)
    path = write_ensemble(weights.parent, "mine")
    separator = load_separator(str(path), instruments=["violin", "flute", "cello"])
    stems = {"violin": tone(660.0), "flute": tone(1760.0), "cello": tone(130.0)}
    mix = sum(stems.values())
    estimates = separator.separate(mix, 44100)
    for name, truth in stems.items():
        assert _sdr(truth, estimates[name]) > 15, name
    np.testing.assert_allclose(sum(estimates.values()), mix, atol=1e-4)  # shares sum to one


def test_only_the_instruments_present_share_the_mixture() -> None:
    model = DictionaryNmf(**SMALL).eval()
    mix = torch.from_numpy(tone(440.0).T.copy()).unsqueeze(0)
    model.set_present(["flute"])
    out = model(mix)
    assert out.shape == (1, 3, 2, mix.shape[-1])
    assert torch.all(out[0, [0, 2]] == 0)
    torch.testing.assert_close(out[0, 1], mix[0], atol=1e-4, rtol=0)
    present = torch.tensor([[True, False, True]])
    both = model(mix, present)
    assert torch.all(both[0, 1] == 0)
    torch.testing.assert_close(both[0, 0] + both[0, 2], mix[0], atol=1e-4, rtol=0)


def test_a_cancel_check_runs_between_updates() -> None:
    # The separator checks for cancel before every submodule's forward: a window's
    # updates must not run as one call (over a second on a CPU).
    model = DictionaryNmf(**SMALL).eval()
    calls: list[str] = []
    for name, module in model.named_modules():
        module.register_forward_pre_hook(lambda *_args, name=name: calls.append(name))
    model(torch.from_numpy(tone(440.0).T.copy()).unsqueeze(0))
    assert calls.count("update") == SMALL["iterations"]


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_learning_lowers_the_divergence_and_keeps_columns_normalised(beta: float) -> None:
    generator = torch.Generator().manual_seed(1)
    spectra = torch.rand(80, 3, generator=generator) @ torch.rand(3, 200, generator=generator)
    short = learn_dictionary(spectra, 3, 2, torch.Generator().manual_seed(2), beta)
    long = learn_dictionary(spectra, 3, 200, torch.Generator().manual_seed(2), beta)
    torch.testing.assert_close(long.sum(0), torch.ones(3))

    def error(dictionary: torch.Tensor) -> float:
        fit, _ = fit_activations(spectra[None], dictionary, 1, 200, BetaUpdate(beta))
        return float((dictionary @ fit - spectra).abs().mean())

    assert error(long) < 0.5 * error(short)


def test_a_stopped_run_resumes_to_the_same_dictionaries(tmp_path: Path) -> None:
    whole = _trained(tmp_path / "whole")
    reports: list[ProgressReport] = []
    with pytest.raises(Cancelled):  # stopped in the second dictionary
        _trained(tmp_path / "parts", progress=reports.append,
                 cancelled=lambda: len(reports) > RECIPE.steps + 10)
    resumed = _trained(tmp_path / "parts")
    assert resumed.read_bytes() == whole.read_bytes()
    card = json.loads(resumed.with_suffix(".json").read_text())
    assert card["steps_done"]["plain"] == 3 * RECIPE.steps
    assert [point[0] for point in card["loss_curve"]] == [40, 80, 120]
    assert card["parameters"] == 3 * 257 * 4


def test_a_checkpoint_of_other_data_or_settings_is_refused(tmp_path: Path) -> None:
    reports: list[ProgressReport] = []
    with pytest.raises(Cancelled):
        _trained(tmp_path, progress=reports.append, cancelled=lambda: len(reports) > 50)
    other = tmp_path / "other"
    write_tone_scene(other / "0000", {"violin": 660.0, "flute": 1760.0})
    with pytest.raises(RemixerError, match="is of a run on"):
        train_member(RECIPE, other, tmp_path / "models", hrir=None)
    with pytest.raises(RemixerError, match="different settings"):
        train_member(replace(RECIPE, steps=41), tmp_path / "train", tmp_path / "models",
                     hrir=None)


def test_an_instrument_no_scene_holds_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "train"
    write_tone_scene(data / "0000", {"violin": 660.0, "cello": 130.0})
    with pytest.raises(RemixerError, match="learns flute, and no track"):
        train_member(RECIPE, data, tmp_path / "models", hrir=None)
    with pytest.raises(RemixerError, match="does not start from weights"):
        train_member(RECIPE, data, tmp_path / "models", hrir=None, init=tmp_path / "x")
