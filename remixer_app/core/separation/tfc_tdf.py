"""An MDX-Net-style TFC-TDF U-Net separating all four stems at once (our own design).

The model works on the mixture's STFT: the real and imaginary parts of both
channels are four input planes over (frequency, time). A U-Net of TFC-TDF blocks
(Time-Frequency Convolutions followed by a Time-Distributed Fully-connected
bottleneck across frequency, as in MDX-Net/KUIELab's TFC-TDF) predicts, for every
stem, a real mask per channel and bin. The masks of the four stems are a softmax,
so the estimates always add up to the mixture, the way a Wiener filter partitions
energy. That constraint is what lets a small model trained on minutes of audio
separate at all.

The class follows the protocol ``demucs.apply.apply_model`` expects (``sources``,
``samplerate``, ``audio_channels``, ``segment``, ``forward(mix) -> estimates``), so
it runs through the same windowed separator as the Demucs models.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the usual torch alias

from remixer_app.core.separation.dual_path import DualPath
from remixer_app.core.separation.presence import (
    PresenceMixin,
    decode_present,
    masked_softmax,
)

SOURCES = ("drums", "bass", "other", "vocals")


class _TfcTdf(nn.Module):
    """Convolutions over (frequency, time), then a fully connected layer over frequency."""

    def __init__(self, channels: int, bins: int, convs: int, bottleneck: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(convs):
            layers += [nn.Conv2d(channels, channels, 3, padding=1),
                       nn.GroupNorm(1, channels), nn.GELU()]
        self.tfc = nn.Sequential(*layers)
        hidden = max(bins // bottleneck, 4)
        self.tdf = nn.Sequential(nn.Linear(bins, hidden), nn.GELU(), nn.Linear(hidden, bins))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tfc(x)
        # x: (batch, channels, bins, frames); the TDF mixes bins at every frame.
        return x + self.tdf(x.transpose(2, 3)).transpose(2, 3)


class TfcTdfUNet(PresenceMixin, nn.Module):
    """Four-stem mask estimator on the STFT.

    Parameters
    ----------
    channels
        Feature channels at full resolution; each level down adds ``growth``.
    growth
        Channels added per level.
    levels
        Number of down-sampling levels (each halves frequency and time).
    convs
        Convolutions per TFC block.
    bottleneck
        Frequency reduction inside each TDF layer.
    patch
        Bins merged into one feature row by the first layer (and split again by the
        last): the U-Net runs at ``nfft // 2 // patch`` rows, which is what makes it
        cheap enough to train on a CPU.
    nfft, hop
        STFT size and hop; ``nfft // 2`` bins are modelled (the Nyquist bin is
        masked like its neighbour).
    segment
        Training segment length in seconds, used by ``apply_model`` as its window.
    dual_path
        Dual-path recurrent blocks after the bottleneck (:mod:`.dual_path`; the
        DTTNet-style model); 0 for none.
    """
    window: torch.Tensor  # a buffer


    def __init__(self, channels: int = 16, growth: int = 16, levels: int = 4, convs: int = 2,
                 bottleneck: int = 8, patch: int = 8, nfft: int = 2048, hop: int = 512,
                 segment: float = 6.0, samplerate: int = 44100,
                 sources: Sequence[str] = SOURCES, dual_path: int = 0) -> None:
        super().__init__()
        if (nfft // 2) % (patch << levels):
            raise ValueError("nfft // 2 must be divisible by patch * 2 ** levels")
        self.sources = list(sources)
        self.samplerate = samplerate
        self.audio_channels = 2
        self.segment = Fraction(segment).limit_denominator(1000)
        self.nfft, self.hop, self.levels = nfft, hop, levels
        self.register_buffer("window", torch.hann_window(nfft), persistent=False)
        bins = nfft // 2 // patch
        widths = [channels + growth * i for i in range(levels + 1)]
        self.first = nn.Conv2d(4, channels, (patch, 1), stride=(patch, 1))
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i in range(levels):
            self.encoders.append(_TfcTdf(widths[i], bins >> i, convs, bottleneck))
            self.downs.append(nn.Sequential(
                nn.Conv2d(widths[i], widths[i + 1], 2, stride=2),
                nn.GroupNorm(1, widths[i + 1]), nn.GELU()))
        self.middle = _TfcTdf(widths[levels], bins >> levels, convs, bottleneck)
        self.dual_path = nn.Sequential(*(DualPath(widths[levels]) for _ in range(dual_path)))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for i in reversed(range(levels)):
            self.ups.append(nn.Sequential(
                nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2),
                nn.GroupNorm(1, widths[i]), nn.GELU()))
            self.decoders.append(_TfcTdf(widths[i], bins >> i, convs, bottleneck))
        self.last = nn.ConvTranspose2d(channels, len(self.sources) * 2, (patch, 1),
                                       stride=(patch, 1))

    def _stft(self, x: torch.Tensor) -> torch.Tensor:
        batch, chans, length = x.shape
        spec = torch.stft(x.reshape(batch * chans, length), self.nfft, self.hop,
                          window=self.window, center=True, return_complex=True)
        return spec.reshape(batch, chans, *spec.shape[-2:])

    def forward(self, mix: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """``mix`` (batch, 2, samples) -> estimates (batch, sources, 2, samples).

        ``present`` (batch, sources) bool limits the split to those sources
        (:mod:`.presence`); absent ones come out silent.
        """
        batch, chans, length = mix.shape
        spec = self._stft(mix)  # (batch, 2, nfft/2 + 1, frames)
        frames = spec.shape[-1]
        step = 1 << self.levels
        pad = (-frames) % step
        bins = self.nfft // 2
        feats = torch.view_as_real(spec[:, :, :bins]).permute(0, 1, 4, 2, 3)
        feats = feats.reshape(batch, chans * 2, bins, frames)
        scale = feats.std(dim=(1, 2, 3), keepdim=True) + 1e-5
        x = F.pad(feats / scale, (0, pad))
        x = self.first(x)
        skips = []
        for encode, down in zip(self.encoders, self.downs, strict=True):
            x = encode(x)
            skips.append(x)
            x = down(x)
        x = self.dual_path(self.middle(x))
        for up, decode in zip(self.ups, self.decoders, strict=True):
            x = decode(up(x) + skips.pop())
        logits = self.last(x)[..., :frames]  # (batch, sources * 2, bins, frames)
        logits = logits.reshape(batch, len(self.sources), chans, bins, frames)
        logits = torch.cat([logits, logits[..., -1:, :]], dim=3)  # the Nyquist bin
        present = self.presence(batch, present)
        masks = masked_softmax(logits, present)

        def to_audio(masks: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
            # A real mask times a complex bin, on the (re, im) view: no complex broadcast.
            est = torch.view_as_complex(masks.unsqueeze(-1) * spec)
            out = torch.istft(est.reshape(-1, bins + 1, frames), self.nfft, self.hop,
                              window=self.window, center=True, length=length)
            return out.reshape(*masks.shape[:-2], length)

        return decode_present(masks, torch.view_as_real(spec), present, to_audio)
