"""A small Conv-TasNet: the Cadenza 2 baseline's architecture, written for this project.

A learned filterbank (strided 1-D convolution) encodes the stereo mixture; a
temporal convolutional network of dilated depthwise-separable blocks estimates one
mask per source over the encoded frames (softmax across sources, so the masks share
the mixture out, and absent sources can be excluded: :mod:`.presence`); a transposed
convolution decodes each masked representation back to stereo audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the usual torch alias

from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.separation.presence import (
    PresenceMixin,
    decode_present,
    masked_softmax,
)


class _Block(nn.Module):
    """1x1 conv up, dilated depthwise conv, 1x1 conv down; residual."""

    def __init__(self, width: int, hidden: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(width, hidden, 1), nn.PReLU(), nn.GroupNorm(1, hidden),
            nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation, groups=hidden),
            nn.PReLU(), nn.GroupNorm(1, hidden), nn.Conv1d(hidden, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ConvTasNet(PresenceMixin, nn.Module):
    """Conv-TasNet for stereo audio.

    Parameters
    ----------
    filters, kernel
        Filterbank size and length in samples (hop ``kernel // 2``).
    width, hidden
        Bottleneck and block channels of the temporal network.
    blocks, repeats
        Blocks per stack (dilations 1, 2, 4, ...) and stacks.
    segment
        Window in seconds for ``apply_model``.
    """

    def __init__(self, filters: int = 128, kernel: int = 32, width: int = 64, hidden: int = 128,
                 blocks: int = 7, repeats: int = 2, segment: float = 6.0,
                 samplerate: int = 44100, sources: Sequence[str] = INSTRUMENTS) -> None:
        super().__init__()
        self.sources = list(sources)
        self.samplerate = samplerate
        self.audio_channels = 2
        self.segment = Fraction(segment).limit_denominator(1000)
        self.kernel, self.hop, self.filters = kernel, kernel // 2, filters
        self.encoder = nn.Conv1d(2, filters, kernel, stride=self.hop, bias=False)
        self.head = nn.Sequential(nn.GroupNorm(1, filters), nn.Conv1d(filters, width, 1))
        self.tcn = nn.Sequential(*(_Block(width, hidden, 2 ** b)
                                   for _ in range(repeats) for b in range(blocks)))
        self.masks = nn.Sequential(nn.PReLU(), nn.Conv1d(width, filters * len(self.sources), 1))
        self.decoder = nn.ConvTranspose1d(filters, 2, kernel, stride=self.hop, bias=False)

    def forward(self, mix: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """``mix`` (batch, 2, samples) -> estimates (batch, sources, 2, samples)."""
        batch, chans, length = mix.shape
        pad = (-(length - self.kernel)) % self.hop if length > self.kernel else self.kernel - length
        x = F.pad(mix, (self.hop, pad + self.hop))
        scale = x.std(dim=(1, 2), keepdim=True) + 1e-5
        feats = F.relu(self.encoder(x / scale))            # (batch, filters, frames)
        logits = self.masks(self.tcn(self.head(feats)))
        logits = logits.reshape(batch, len(self.sources), self.filters, -1)
        present = self.presence(batch, present)
        masks = masked_softmax(logits, present)

        def to_audio(masks: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
            out = self.decoder((masks * feats).reshape(-1, *masks.shape[-2:]))
            return out[..., self.hop:self.hop + length].reshape(*masks.shape[:-2], chans, length)

        # The decoder is linear without a bias: scaling its input scales its output.
        return decode_present(masks, feats * scale, present, to_audio)
