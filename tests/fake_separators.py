"""A fake separator for app tests: no model, no weights, no torch.

:class:`ShareSeparator` splits a mix into equal shares, one per stem, with the interface
the app uses (``stems``, ``spec.name``, ``identity``, ``warnings``, ``separate_into``);
:class:`FakeLoader` stands in for ``load_separator`` and records what it was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.progress import ProgressReport


class ShareSeparator:
    """Stem k of the output is the mix divided by the number of stems."""

    def __init__(self, stems: Sequence[str] = STEM_NAMES, name: str = "fake") -> None:
        self.stems = tuple(stems)
        self.spec = SimpleNamespace(name=name)
        # What changes the output is part of the identity, so of the stem-cache key.
        self.identity = f"{name}[{','.join(self.stems)}]@test"
        self.warnings: list[str] = []
        self.runs = 0

    def windows(self, frames: int) -> list[tuple[int, int]]:
        """One window: the whole mix (no first seconds ahead of the rest)."""
        return [(0, frames)]

    def separate_into(self, mix: np.ndarray, sink: Any, *, progress: Any = None,
                      cancelled: Any = None) -> None:
        self.runs += 1
        share = (np.asarray(mix, np.float32) / len(self.stems)).astype(np.float32)
        sink.write(0, {stem: share for stem in self.stems})
        if progress is not None:
            progress(ProgressReport(1.0, 0.0, "separated"))


class FakeLoader:
    """``load_separator(ensemble, *, instruments=None)`` returning :class:`ShareSeparator`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...] | None]] = []

    def __call__(self, ensemble: str, *, instruments: Sequence[str] | None = None,
                 **_: Any) -> ShareSeparator:
        chosen = None if instruments is None else tuple(instruments)
        self.calls.append((ensemble, chosen))
        return ShareSeparator(chosen or STEM_NAMES, ensemble)
