"""Transposed 1-D convolutions without oneDNN, for a fast first separation."""

from __future__ import annotations

import warnings

import torch


class _PlainConvTranspose1d(torch.nn.ConvTranspose1d):
    """``ConvTranspose1d`` computed without oneDNN.

    With two or more threads, oneDNN's first long transposed 1-D convolution in a
    process takes 5-25 s (measured with this torch on 2 cores: 24 s for a 10 s
    signal, then 0.4 s per call); the native kernel takes 0.1 s from the first call.
    Demucs models end in such layers, so without this the first seconds of stems
    would wait for that one-off cost.
    """

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a note about Intel GPUs' TF32
            with torch.backends.mkldnn.flags(enabled=False):
                return super().forward(x, output_size)


def native_transposed_convs(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its 1-D transposed convolutions computed natively (in place)."""
    for module in model.modules():
        if type(module) is torch.nn.ConvTranspose1d:
            module.__class__ = _PlainConvTranspose1d  # same parameters, other kernel
    return model
