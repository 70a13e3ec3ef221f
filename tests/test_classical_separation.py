"""Instrument separation: presence masks, our Conv-TasNet, classical ensembles, training."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from remixer_app.core.errors import SeparationError
from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.conv_tasnet import ConvTasNet
from remixer_app.core.separation.ensemble import load_ensemble
from remixer_app.core.separation.members import save_member
from remixer_app.core.separation.presence import decode_present, masked_softmax
from remixer_app.core.separation.tfc_tdf import TfcTdfUNet
from remixer_app.training.ensemble_file import write_ensemble
from remixer_app.training.recipes import RECIPES
from remixer_app.training.trainer import train_member

from tiny_models import write_tiny_ensemble, write_tone_scene

TASNET = {"filters": 16, "kernel": 16, "width": 8, "hidden": 8, "blocks": 2, "repeats": 1,
          "segment": 1.0, "sources": list(INSTRUMENTS)}
TFC = {"channels": 4, "growth": 4, "levels": 1, "convs": 1, "bottleneck": 2, "patch": 8,
       "nfft": 256, "hop": 64, "segment": 1.0, "sources": list(INSTRUMENTS)}


def random_tasnet_members(folder: Path) -> list[dict[str, str]]:
    """Two randomly initialised small Conv-TasNets saved in ``folder``, as ensemble
    member entries: masks that vary in time and frequency."""
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        sha = save_member(ConvTasNet(**TASNET).eval(), folder / f"m{seed}.safetensors",
                          "conv_tasnet", TASNET)
        members.append({"id": f"m{seed}", "kind": "safetensors", "file": f"m{seed}.safetensors",
                        "sha256": sha})
    return members


def test_masked_softmax_shares_among_present_sources_only() -> None:
    logits = torch.randn(2, 4, 3, 5)
    present = torch.tensor([[True, False, True, False], [False, False, False, False]])
    masks = masked_softmax(logits, present)
    assert torch.all(masks[0, [1, 3]] == 0)
    assert torch.allclose(masks[0].sum(0), torch.ones(3, 5))
    assert torch.all(masks[1] == 0)  # nothing present: nothing out, not NaN
    assert torch.allclose(masked_softmax(logits, None), torch.softmax(logits, 1))


def test_decode_present_decodes_present_sources_only_and_keeps_gradients() -> None:
    masks = torch.rand(3, 4, 5, 6, requires_grad=True)
    inputs = torch.randn(3, 5, 6)
    present = torch.tensor([[True, False, True, False], [False, True, False, False],
                            [True, True, True, True]])
    calls: list[int] = []

    def decode(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # (..., 5, 6) -> (..., 6)
        calls.append(m.shape[0])
        return (m * x).sum(-2)

    out = decode_present(masks, inputs, present, decode)
    dense = (masks * inputs.unsqueeze(1)).sum(-2)
    assert calls == [int(present.sum())]  # one call, on the present pairs only
    assert torch.allclose(out[present], dense[present]) and torch.all(out[~present] == 0)
    out.sum().backward()
    assert masks.grad is not None
    assert torch.all(masks.grad[~present] == 0) and torch.all(masks.grad[present] != 0)
    assert torch.allclose(decode_present(masks, inputs, None, decode), dense)
    nothing = torch.zeros_like(present)
    assert decode_present(masks, inputs, nothing, decode).shape == dense.shape


@pytest.mark.parametrize("model", [ConvTasNet(**TASNET), TfcTdfUNet(**TFC)],
                         ids=["conv_tasnet", "tfc_tdf"])
def test_models_silence_absent_instruments(model: torch.nn.Module) -> None:
    torch.manual_seed(0)
    mix = torch.randn(2, 2, 5000)
    present = torch.zeros(2, len(INSTRUMENTS), dtype=torch.bool)
    present[0, [1, 7]] = True
    present[1, [0, 2, 3]] = True
    out = model(mix, present)
    assert out.shape == (2, len(INSTRUMENTS), 2, 5000)
    assert torch.all(out[~present] == 0) and torch.all(out[present].abs().sum(-1) > 0)
    model.set_present(["cello", "violin"])  # for callers that pass audio only (apply_model)
    assert torch.equal(model(mix[:1]), model(mix[:1], present[:1]))
    with pytest.raises(ValueError, match="kazoo"):
        model.set_present(["kazoo"])
    if isinstance(model, TfcTdfUNet):  # masks: the present stems add up to the mixture
        assert torch.allclose(out[0].sum(0), mix[0], atol=1e-4)


def _classical_ensemble(folder: Path, weights: dict | None = None) -> Path:
    torch.manual_seed(0)
    sha = save_member(ConvTasNet(**TASNET).eval(), folder / "tiny_tasnet.safetensors",
                      "conv_tasnet", TASNET)
    member = {"id": "tasnet", "kind": "safetensors", "file": "tiny_tasnet.safetensors",
              "sha256": sha, **({"weights": weights} if weights else {})}
    path = folder / "tinyclassical.yaml"
    path.write_text(yaml.safe_dump({"description": "tiny", "sources": "instruments",
                                    "members": [member], "mixture_blend": 0.1}))
    return path


def test_classical_ensemble_file_is_keyed_by_instrument(tmp_path: Path) -> None:
    spec = load_ensemble(_classical_ensemble(tmp_path, {"violin": 0.5}))
    assert spec.classical and spec.sources == INSTRUMENTS
    assert spec.members[0].weights["violin"] == 0.5 and spec.members[0].weights["cello"] == 1.0
    bad = tmp_path / "bad.yaml"
    for content, problem in (({"sources": "instruments", "residual_other": True}, "residual"),
                             ({"sources": "notes"}, "'sources'"),
                             ({"weights_of": {"vocals": 1}}, "unknown keys")):
        raw = yaml.safe_load((tmp_path / "tinyclassical.yaml").read_text())
        bad.write_text(yaml.safe_dump({**raw, **content}))
        with pytest.raises(SeparationError, match=problem):
            load_ensemble(bad)


def test_separator_returns_the_named_instruments(tmp_path: Path) -> None:
    path = str(_classical_ensemble(tmp_path))
    trio = load_separator(path, instruments=["violin", "flute", "cello"])
    assert trio.stems == ("cello", "flute", "violin")
    rng = np.random.default_rng(0)
    mix = (0.1 * rng.standard_normal((44100, 2))).astype(np.float32)
    stems = trio.separate(mix, 44100)
    assert set(stems) == {"cello", "flute", "violin"}
    assert all(s.shape == (44100, 2) and np.abs(s).max() > 0 for s in stems.values())
    duo = load_separator(path, instruments=["violin", "cello"])
    assert duo.identity != trio.identity  # the instrument list is part of the cache key
    with pytest.raises(SeparationError, match="say which instruments"):
        load_separator(path)
    with pytest.raises(SeparationError, match="2 to 5"):
        load_separator(path, instruments=["violin"])


def test_a_member_weighted_zero_for_every_chosen_instrument_is_not_run(tmp_path: Path) -> None:
    path = _classical_ensemble(tmp_path, {"violin": 0.0, "cello": 0.0})
    raw = yaml.safe_load(path.read_text())
    other = {**raw["members"][0], "id": "tasnet2", "weights": {"violin": 1.0, "flute": 0.0}}
    path.write_text(yaml.safe_dump({**raw, "members": [*raw["members"], other]}))
    duo = load_separator(str(path), instruments=["violin", "cello"])
    assert [leaf.member_id for leaf in duo.leaves] == ["tasnet2"]  # tasnet: off for both
    trio = load_separator(str(path), instruments=["violin", "cello", "flute"])
    assert [leaf.member_id for leaf in trio.leaves] == ["tasnet", "tasnet2"]  # tasnet: flute
    mix = (0.1 * np.random.default_rng(0).standard_normal((44100, 2))).astype(np.float32)
    alone = load_separator(str(path), instruments=["violin", "cello"], member="tasnet2")
    for stem, estimate in duo.separate(mix, 44100).items():  # the same stems, sooner
        np.testing.assert_array_equal(estimate, alone.separate(mix, 44100)[stem])


def test_pop_ensembles_refuse_an_instrument_list(tmp_path: Path) -> None:
    path = write_tiny_ensemble(tmp_path)
    with pytest.raises(SeparationError, match="not instruments"):
        load_separator(str(path), instruments=["violin", "cello"])


def test_training_a_classical_member_tells_it_the_instruments(tmp_path: Path) -> None:
    data = tmp_path / "train"
    write_tone_scene(data / "0000", {"violin": 660.0, "cello": 130.0})
    write_tone_scene(data / "0001", {"flute": 880.0, "bassoon": 110.0, "viola": 330.0})
    recipe = replace(RECIPES["classical_tasnet"], config=TASNET, steps=3, segment_s=0.5,
                     batch=2, checkpoint_every=2)
    out = tmp_path / "models"
    result = train_member(recipe, data, out, hrir=None)
    card = json.loads(result.card.read_text())
    assert card["data"]["tracks"] == 2 and np.isfinite(result.final_loss)
    assert card["recipe"]["presence"] is True
    ensemble = load_ensemble(write_ensemble(out, "mine"))
    assert ensemble.classical and [m.id for m in ensemble.members] == ["classical_tasnet"]
    assert not ensemble.residual_other and ensemble.wiener_remask


def test_tuning_a_classical_ensemble_weights_each_instrument(tmp_path: Path) -> None:
    from remixer_app.training.tuning import tune_ensemble

    data = tmp_path / "train"
    write_tone_scene(data / "0000", {"violin": 660.0, "cello": 130.0})
    write_tone_scene(data / "0001", {"violin": 990.0, "bassoon": 110.0})
    path = tmp_path / "duo.yaml"
    path.write_text(yaml.safe_dump({"sources": "instruments",
                                    "members": random_tasnet_members(tmp_path)}))
    report = tune_ensemble(str(path), data, limit=2, steps=2)
    assert set(report["stems"]) == {"bassoon", "cello", "violin"}
    spec = load_ensemble(path)
    for name in ("bassoon", "cello", "violin"):
        assert sum(m.weights[name] for m in spec.members) == pytest.approx(1.0)
    assert all(m.weights["flute"] == 1.0 for m in spec.members)  # never heard: untouched
