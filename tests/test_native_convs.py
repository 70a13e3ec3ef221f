"""Transposed 1-D convolutions run natively give the same result as oneDNN's."""

from __future__ import annotations

import copy

import torch

from remixer_app.core.separation.native_convs import native_transposed_convs

from tiny_models import tiny_hdemucs


def test_native_transposed_convs_match_and_keep_the_weights() -> None:
    torch.manual_seed(0)
    model = tiny_hdemucs().eval()
    native = native_transposed_convs(copy.deepcopy(model))
    swapped = [m for m in native.modules() if isinstance(m, torch.nn.ConvTranspose1d)]
    assert swapped and all(type(m) is not torch.nn.ConvTranspose1d for m in swapped)
    assert native.state_dict().keys() == model.state_dict().keys()
    mix = torch.randn(1, 2, 44100)
    with torch.no_grad():
        torch.testing.assert_close(native(mix), model(mix), rtol=1e-4, atol=1e-5)
