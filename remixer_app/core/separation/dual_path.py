"""Dual-path recurrent blocks for a U-Net's bottleneck (the DTTNet idea, our own design).

A convolutional U-Net sees a fraction of a second around each bin; a voice or an
instrument is easier to tell over seconds. A dual-path block runs a bidirectional
LSTM along time at every frequency row, then one along frequency at every frame,
each added back to its input (Luo et al.'s dual-path RNN, as DTTNet puts it between
a TFC-TDF encoder and decoder). At the bottleneck of :class:`.tfc_tdf.TfcTdfUNet`
the map is small (a sixty-fourth of the bins, an eighth of the frames), so the
blocks cost little.

Each pass ends in a linear layer that starts at zero: a new block passes its input
through unchanged, so a trained U-Net extended by blocks separates exactly as before
until training teaches the blocks something (see ``remixer train --init``).
"""

from __future__ import annotations

import torch
from torch import nn


class _Pass(nn.Module):
    """A residual bidirectional LSTM along the middle axis of (sequences, length, channels)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.rnn = nn.LSTM(channels, channels, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * channels, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(self.norm(x))
        return x + self.out(y)


class DualPath(nn.Module):
    """One time pass then one frequency pass over (batch, channels, rows, frames)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.time = _Pass(channels)
        self.frequency = _Pass(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, rows, frames = x.shape
        seq = x.permute(0, 2, 3, 1).reshape(batch * rows, frames, channels)
        seq = self.time(seq).reshape(batch, rows, frames, channels)
        seq = seq.transpose(1, 2).reshape(batch * frames, rows, channels)
        seq = self.frequency(seq).reshape(batch, frames, rows, channels)
        return seq.permute(0, 3, 2, 1).contiguous()
