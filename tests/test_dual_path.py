"""The dual-path blocks and the DTTNet-style U-Net that extends a trained TFC-TDF U-Net."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_training import TINY, TINY_TFC, _write_tracks

from remixer_app.core.errors import RemixerError
from remixer_app.core.separation.dual_path import DualPath
from remixer_app.core.separation.members import read_member_file
from remixer_app.core.separation.tfc_tdf import TfcTdfUNet
from remixer_app.training import recipes
from remixer_app.training.trainer import train_member


def _changed_where(block: DualPath, row: int, frame: int) -> torch.Tensor:
    """(rows, frames) bool: where the output moves when one input cell moves."""
    torch.manual_seed(1)
    x = torch.randn(1, 8, 5, 7)
    y = x.clone()
    y[0, :, row, frame] += torch.randn(8)  # not a constant: the layer norm removes that
    with torch.no_grad():
        return ((block(y) - block(x)).abs().amax(dim=1)[0] > 1e-6)


def _activate(block: DualPath, *passes: str) -> DualPath:
    for name in passes:
        torch.nn.init.normal_(getattr(block, name).out.weight, std=0.5)
    return block


def test_a_new_block_passes_its_input_through() -> None:
    x = torch.randn(2, 8, 5, 7)
    with torch.no_grad():
        assert torch.equal(DualPath(8)(x), x)


def test_the_time_pass_runs_along_frames_and_the_frequency_pass_along_rows() -> None:
    torch.manual_seed(0)
    time_only = _changed_where(_activate(DualPath(8), "time"), row=2, frame=3)
    expected = torch.zeros(5, 7, dtype=torch.bool)
    expected[2, :] = True  # the whole row, both directions, and nothing else
    assert torch.equal(time_only, expected)
    frequency_only = _changed_where(_activate(DualPath(8), "frequency"), row=2, frame=3)
    expected = torch.zeros(5, 7, dtype=torch.bool)
    expected[:, 3] = True
    assert torch.equal(frequency_only, expected)
    assert bool(_changed_where(_activate(DualPath(8), "time", "frequency"), 2, 3).all())


def test_a_u_net_extended_by_blocks_separates_as_the_one_it_extends() -> None:
    torch.manual_seed(0)
    plain = TfcTdfUNet(**TINY_TFC).eval()
    extended = TfcTdfUNet(**TINY_TFC, dual_path=2).eval()
    missing, unexpected = extended.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("dual_path.") for k in missing)
    mix = torch.randn(1, 2, 3000) * 0.1
    with torch.no_grad():
        assert torch.allclose(extended(mix), plain(mix), atol=1e-6)


def test_training_extends_a_member_and_learns_in_the_new_blocks(tmp_path: Path) -> None:
    data = _write_tracks(tmp_path / "data")
    first = train_member(TINY, data, tmp_path / "a", hrir=None)
    dtt = dataclasses.replace(TINY, name="tiny_dtt", config={**TINY_TFC, "dual_path": 1},
                              extends="tiny")
    with pytest.raises(RemixerError, match="tiny_dtt extends tiny: start it from"):
        train_member(dtt, data, tmp_path / "random", hrir=None)
    extended = train_member(dtt.with_steps(0, 0), data, tmp_path / "b", hrir=None,
                            init=first.weights)
    start, grown = load_file(str(first.weights)), load_file(str(extended.weights))
    assert all(torch.equal(start[k], grown[k]) for k in start)
    assert set(grown) - set(start) and all(k.startswith("dual_path.")
                                          for k in set(grown) - set(start))
    card = json.loads(extended.card.read_text())
    assert card["initial_weights"]["sha256"] == first.sha256
    metadata, _ = read_member_file(extended.weights)
    assert json.loads(metadata["config"])["dual_path"] == 1
    trained = train_member(dtt, data, tmp_path / "c", hrir=None, init=first.weights)
    learned = load_file(str(trained.weights))
    assert learned["dual_path.0.time.out.weight"].abs().max() > 0  # it started at zero


def test_the_dttnet_recipe_extends_the_tfc_tdf_recipe() -> None:
    dtt = recipes.RECIPES["dttnet"]
    assert dtt.extends == "tfc_tdf"
    base = recipes.RECIPES[dtt.extends]
    assert dtt.architecture == base.architecture
    assert {k: v for k, v in dtt.config.items() if k != "dual_path"} == base.config
    assert dtt.config["dual_path"] > 0
