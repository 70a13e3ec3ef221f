"""Separation by instrument dictionaries: supervised non-negative matrix factorisation.

Each instrument is a fixed dictionary of magnitude spectra (``components`` columns of
``nfft // 2 + 1`` bins, each summing to one), learned from that instrument's solo stems
(:mod:`remixer_app.training.dictionaries`). To separate, the magnitudes ``V_c`` of
each channel ``c`` of the mixture's STFT are explained as ``sum_i g_ic W_i H_i``: ``W_i``
the present instruments' dictionaries, ``H_i >= 0`` their activations, shared by the two
channels, and ``g_ic >= 0`` (summing to one over the channels) where each instrument
stands between the speakers. Only ``H`` and ``g`` are estimated, by multiplicative
updates that lower the beta-divergence ``D_beta(V | model)`` (``beta`` 1: generalised
Kullback-Leibler; 0.5 weighs quiet bins more and separated better on the validation
scenes, ``models/CLASSICAL_MODEL_CARD.md``).
Each instrument's share ``g_ic W_i H_i / sum_j g_jc W_j H_j`` of every bin (to the
``mask_power``) is its mask on that channel of the complex mixture STFT, so the
instruments add up to the mixture.

Sharing the activations between the channels, with one stereo position per instrument,
is what tells two instruments of similar timbre apart when they stand apart: a viola
on the left and a violin on the right.

Because ``W`` is fixed, the estimate of a window depends on that window alone: a track
cut into windows separates as it would whole, but for the frames at a window's edges
and for the stereo positions, estimated per window. The class follows the protocol
``demucs.apply.apply_model`` expects (``sources``, ``samplerate``, ``audio_channels``,
``segment``, ``forward``), like our neural members, and is told the instruments present
the same way (:class:`~remixer_app.core.separation.presence.PresenceMixin`).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch
from torch import nn

from remixer_app.core.separation.presence import PresenceMixin

EPS = 1e-9  # keeps the divisions finite where a bin is silent


def channel_frames(spectra: torch.Tensor) -> torch.Tensor:
    """(channels, bins, frames) -> (bins, channels * frames): every channel's frames
    side by side, as the dictionaries are learned from them."""
    return spectra.permute(1, 0, 2).reshape(spectra.shape[1], -1)


def beta_divergence(spectra: torch.Tensor, model: torch.Tensor, beta: float) -> float:
    """``D_beta(spectra | model)``, summed over every element (``beta`` not 0)."""
    x, y = spectra + EPS, model + EPS
    if beta == 1.0:
        return float((x * torch.log(x / y) - x + y).sum())
    return float(((x ** beta + (beta - 1) * y ** beta - beta * x * y ** (beta - 1))
                  / (beta * (beta - 1))).sum())


def beta_factors(spectra: torch.Tensor, model: torch.Tensor, beta: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of a multiplicative beta-divergence update before the dictionary
    is applied: ``V * M^(beta - 2)`` (what grows a factor) and ``M^(beta - 1)`` (what
    shrinks it)."""
    model = model + EPS
    if beta == 1.0:
        return spectra / model, torch.ones_like(model)
    shrink = model ** (beta - 1)
    return spectra * shrink / model, shrink


class BetaUpdate(nn.Module):
    """One multiplicative update of the activations and the stereo positions,
    ``forward(spectra, dictionary, activations, gains) -> (activations, gains)``.

    ``spectra`` (channels, bins, frames); ``dictionary`` (bins, sources * components),
    each column summing to one; ``activations`` (sources * components, frames);
    ``gains`` (sources, channels), each row summing to one (and kept so, the scale
    moved into the activations). A module, so that the separator's cancel check (a hook
    before every submodule's forward) runs between updates: a window's updates take
    over a second on a CPU.
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, spectra: torch.Tensor, dictionary: torch.Tensor,
                activations: torch.Tensor, gains: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        sources, channels = gains.shape
        columns, frames = activations.shape
        each = columns // sources  # every source's columns, side by side
        per = gains.repeat_interleave(each, 0).T[:, :, None]  # (channels, columns, 1)
        grow, shrink = beta_factors(spectra, dictionary @ (activations * per), self.beta)
        grow, shrink = dictionary.T @ grow, dictionary.T @ shrink  # (channels, columns, frames)
        activations = activations * (per * grow).sum(0) / ((per * shrink).sum(0) + EPS)
        # Each source's gain on a channel: the same ratio, summed over its columns.
        grown = (activations * grow).reshape(channels, sources, each * frames).sum(2)
        shrunk = (activations * shrink).reshape(channels, sources, each * frames).sum(2)
        gains = gains * (grown / (shrunk + EPS)).T
        totals = gains.sum(1, keepdim=True) + EPS
        return activations * totals.repeat_interleave(each, 0), gains / totals


def fit_activations(spectra: torch.Tensor, dictionary: torch.Tensor, sources: int,
                    iterations: int, update: BetaUpdate
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations ``H`` (sources * components, frames) and stereo positions ``g``
    (sources, channels) with ``sum_i g_ic W_i H_i`` close to ``spectra`` (channels,
    bins, frames), by ``iterations`` of ``update``.

    ``dictionary`` (bins, sources * components) holds each source's columns side by
    side, every column summing to one. ``H`` starts flat at each frame's total and
    ``g`` in the middle, so the result is deterministic.
    """
    channels, components = spectra.shape[0], dictionary.shape[1]
    gains = spectra.new_full((sources, channels), 1.0 / channels)
    activations = spectra.sum((0, 1)).expand(components, -1) / components
    activations = activations.contiguous()
    for _ in range(iterations):
        activations, gains = update(spectra, dictionary, activations, gains)
    return activations, gains


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
    beta
        The divergence the fit lowers (and the dictionaries were learned with).
    segment
        Window length in seconds for ``apply_model``.
    """

    window: torch.Tensor  # buffers
    dictionaries: torch.Tensor

    def __init__(self, sources: Sequence[str], components: int = 64, nfft: int = 4096,
                 hop: int = 1024, iterations: int = 200, mask_power: float = 1.0,
                 beta: float = 1.0, segment: float = 10.0, samplerate: int = 44100
                 ) -> None:
        super().__init__()
        self.sources = list(sources)
        self.samplerate = samplerate
        self.audio_channels = 2
        self.segment = Fraction(segment).limit_denominator(1000)
        self.nfft, self.hop, self.iterations = nfft, hop, iterations
        self.mask_power = mask_power
        self.update = BetaUpdate(beta)
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
            chosen = self.dictionaries[rows]  # (present, bins, components)
            dictionary = chosen.permute(1, 0, 2).reshape(bins, -1)
            activations, gains = fit_activations(spec[b].abs(), dictionary, len(rows),
                                                 self.iterations, self.update)
            parts = torch.bmm(chosen, activations.reshape(len(rows), -1, frames))
            parts = (gains[:, :, None, None] * parts[:, None]) ** self.mask_power
            total = parts.sum(0, keepdim=True)  # (1, channels, bins, frames)
            masks = torch.where(total > 0, parts / (total + EPS), 1.0 / len(rows))
            estimates = torch.istft((masks * spec[b]).reshape(-1, bins, frames), self.nfft,
                                    self.hop, window=self.window, center=True, length=length)
            out[b, rows] = estimates.reshape(len(rows), chans, length)
        return out
