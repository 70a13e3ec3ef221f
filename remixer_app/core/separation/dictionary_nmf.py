"""Separation by instrument dictionaries: supervised non-negative matrix factorisation.

Each instrument is a fixed dictionary of magnitude spectra (``components`` columns of
``nfft // 2 + 1`` bins, each summing to one), learned from that instrument's solo stems
(:mod:`remixer_app.training.dictionaries`). To separate, the mixture's STFT magnitudes
``V`` are explained as ``W H`` with ``W`` the present instruments' dictionaries side by
side and only the activations ``H >= 0`` estimated, by multiplicative updates that
lower the generalised Kullback-Leibler divergence ``D(V | W H)``. Each instrument's share
``W_i H_i / W H`` of every bin is its mask on the complex mixture STFT, so the
instruments add up to the mixture.

Because ``W`` is fixed, every STFT frame's activations are estimated on their own: a
track cut into windows separates as it would whole, but for the frames at a window's
edges. The class follows the protocol ``demucs.apply.apply_model`` expects
(``sources``, ``samplerate``, ``audio_channels``, ``segment``, ``forward``), like our
neural members, and is told the instruments present the same way
(:class:`~remixer_app.core.separation.presence.PresenceMixin`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import torch
from torch import nn

from remixer_app.core.separation.presence import PresenceMixin

EPS = 1e-9  # keeps the divisions finite where a bin is silent


def channel_frames(spectra: torch.Tensor) -> torch.Tensor:
    """(channels, bins, frames) -> (bins, channels * frames): every channel's frames
    side by side, as the factorisation takes them."""
    return spectra.permute(1, 0, 2).reshape(spectra.shape[1], -1)


Update = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class KlUpdate(nn.Module):
    """One multiplicative update of the activations, ``forward(spectra, dictionary, H)``.

    A module, so that the separator's cancel check (a hook before every submodule's
    forward) runs between updates: a window's updates take over a second on a CPU.
    """

    def forward(self, spectra: torch.Tensor, dictionary: torch.Tensor,
                activations: torch.Tensor) -> torch.Tensor:
        return activations * (dictionary.T @ (spectra / (dictionary @ activations + EPS)))


def kl_activations(spectra: torch.Tensor, dictionary: torch.Tensor, iterations: int,
                   update: Update | None = None) -> torch.Tensor:
    """Activations ``H`` (components, frames) with ``dictionary @ H`` close to ``spectra``
    (bins, frames) in generalised KL divergence, by ``iterations`` of ``update``
    (:class:`KlUpdate` by default).

    ``dictionary`` (bins, components) must have columns summing to one: the update's
    denominator ``dictionary.T @ 1`` is then one. ``H`` starts flat at each frame's
    total, so the result is deterministic.
    """
    step = update or KlUpdate()
    components = dictionary.shape[1]
    activations = spectra.sum(0, keepdim=True).expand(components, -1) / components
    activations = activations.contiguous()
    for _ in range(iterations):
        activations = step(spectra, dictionary, activations)
    return activations


class DictionaryNmf(PresenceMixin, nn.Module):
    """Instrument masks from fixed per-instrument spectral dictionaries.

    Parameters
    ----------
    sources
        The instruments, one dictionary each.
    components
        Dictionary columns per instrument.
    nfft, hop
        STFT size and hop (periodic Hann window).
    iterations
        Multiplicative updates of the activations per window.
    mask_power
        Each instrument's mask is its modelled magnitude to this power over the sum of
        all of theirs (1: magnitude shares; 2: a Wiener filter of the modelled powers).
    segment
        Window length in seconds for ``apply_model``.
    """

    window: torch.Tensor  # buffers
    dictionaries: torch.Tensor

    def __init__(self, sources: Sequence[str], components: int = 64, nfft: int = 4096,
                 hop: int = 1024, iterations: int = 200, mask_power: float = 1.0,
                 segment: float = 10.0, samplerate: int = 44100) -> None:
        super().__init__()
        self.sources = list(sources)
        self.samplerate = samplerate
        self.audio_channels = 2
        self.segment = Fraction(segment).limit_denominator(1000)
        self.nfft, self.hop, self.iterations = nfft, hop, iterations
        self.mask_power = mask_power
        self.update = KlUpdate()
        self.register_buffer("window", torch.hann_window(nfft), persistent=False)
        bins = nfft // 2 + 1
        self.register_buffer("dictionaries",
                             torch.full((len(self.sources), bins, components), 1.0 / bins))

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """The complex STFT (channels, bins, frames) of ``audio`` (channels, samples)."""
        return torch.stft(audio, self.nfft, self.hop, window=self.window, center=True,
                          return_complex=True)

    def forward(self, mix: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """``mix`` (batch, 2, samples) -> estimates (batch, sources, 2, samples); absent
        sources (``present`` (batch, sources) bool, or the names set) come out silent."""
        batch, chans, length = mix.shape
        spec = self.spectrogram(mix.reshape(batch * chans, length))
        bins, frames = spec.shape[-2:]
        spec = spec.reshape(batch, chans, bins, frames)
        out = mix.new_zeros(batch, len(self.sources), chans, length)
        present = self.presence(batch, present)
        every = list(range(len(self.sources)))
        for b in range(batch):
            rows = every if present is None else present[b].nonzero().flatten().tolist()
            if not rows:
                continue
            magnitudes = channel_frames(spec[b].abs())
            chosen = self.dictionaries[rows]  # (present, bins, components)
            dictionary = chosen.permute(1, 0, 2).reshape(bins, -1)
            activations = kl_activations(magnitudes, dictionary, self.iterations,
                                         self.update)
            parts = torch.bmm(chosen, activations.reshape(len(rows), -1, chans * frames))
            parts = parts ** self.mask_power
            total = parts.sum(0, keepdim=True)
            masks = torch.where(total > 0, parts / (total + EPS), 1.0 / len(rows))
            masks = masks.reshape(len(rows), bins, chans, frames).permute(0, 2, 1, 3)
            estimates = torch.istft((masks * spec[b]).reshape(-1, bins, frames), self.nfft,
                                    self.hop, window=self.window, center=True, length=length)
            out[b, rows] = estimates.reshape(len(rows), chans, length)
        return out
