"""A stem writer that runs out of disk space at a chosen write (for export tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from remixer_app.core import exporting
from remixer_app.core.errors import ExportError


def disk_full_at_write(monkeypatch: pytest.MonkeyPatch, n: int) -> list[Path]:
    """Make ``exporting.write_audio`` fail as a full disk does at its ``n``-th call.

    Returns the list of paths it is called with, filled as the test runs; the other
    calls write for real.
    """
    real_write = exporting.write_audio
    calls: list[Path] = []

    def write(path: Path, data: np.ndarray, rate: int, **kwargs: Any) -> Path:
        calls.append(Path(path))
        if len(calls) == n:
            raise ExportError(f"not enough disk space to write {path}")
        return real_write(path, data, rate, **kwargs)

    monkeypatch.setattr(exporting, "write_audio", write)
    return calls
