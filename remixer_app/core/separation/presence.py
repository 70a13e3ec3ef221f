"""Telling a model which sources are present (the Cadenza 2 instrument list).

A classical track names its instruments, so a model trained on all eight need only
share the mixture among those present. Our mask-based models do that inside the
softmax: absent sources get no mask at all, and the mixture is split among the
present ones alone. ``present`` is a (batch, sources) bool tensor, or ``None`` for
all sources.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def masked_softmax(logits: torch.Tensor, present: torch.Tensor | None) -> torch.Tensor:
    """Softmax over dim 1 (sources) of ``logits`` (batch, sources, ...), absent ones 0."""
    if present is None:
        return torch.softmax(logits, dim=1)
    shape = present.shape + (1,) * (logits.dim() - 2)
    keep = present.reshape(shape).to(logits.device)
    masked = logits.masked_fill(~keep, float("-inf"))
    return torch.softmax(masked, dim=1).nan_to_num(0.0)  # no source present: all zero


def decode_present(masks: torch.Tensor, inputs: torch.Tensor, present: torch.Tensor | None,
                   decode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
                   ) -> torch.Tensor:
    """Decode the masked inputs of the present sources only; absent ones are zeros.

    Parameters
    ----------
    masks
        (batch, sources, ...) masks from :func:`masked_softmax`.
    inputs
        (batch, ...) what the masks apply to (a spectrogram, a filterbank output).
    present
        (batch, sources) bool, or ``None`` for all sources.
    decode
        ``decode(masks, inputs) -> audio``: applies masks to inputs broadcast against
        them and decodes, keeping the leading dimensions of ``masks``.

    Notes
    -----
    Decoding (an inverse STFT, a transposed convolution) and its gradient cost the same
    for every source, and a classical scene has 2-5 of 8: decoding only those saves
    most of that part of a training step.
    """
    if present is None or not bool(present.any()):  # all, or none (their masks are zero)
        return decode(masks, inputs.unsqueeze(1))
    rows, cols = present.to(masks.device).nonzero(as_tuple=True)
    audio = decode(masks[rows, cols], inputs[rows])
    full = audio.new_zeros(*masks.shape[:2], *audio.shape[1:])
    full[rows, cols] = audio
    return full


class PresenceMixin:
    """Gives a model a default ``present`` set by name, for callers that pass only audio.

    ``apply_model`` (demucs) calls ``model(mix)``; :meth:`set_present` fixes the
    instruments for such calls.
    """

    sources: list[str]
    _present_names: tuple[str, ...] | None = None

    def set_present(self, names: Sequence[str] | None) -> None:
        """Only ``names`` are present from now on (``None``: all sources)."""
        if names is not None:
            unknown = set(names) - set(self.sources)
            if unknown:
                raise ValueError(f"this model knows {', '.join(self.sources)}, not "
                                 f"{', '.join(sorted(unknown))}")
            names = tuple(names)
        self._present_names = names

    def presence(self, batch: int, present: torch.Tensor | None) -> torch.Tensor | None:
        """The mask to use: ``present`` if given, else the names set, else ``None``."""
        if present is not None or self._present_names is None:
            return present
        row = torch.tensor([s in self._present_names for s in self.sources])
        return row.expand(batch, -1)
