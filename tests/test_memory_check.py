"""A track too long for the machine's memory gets a message, not an out-of-memory kill."""

from __future__ import annotations

import numpy as np
import pytest

from remixer_app.core import memory_check
from remixer_app.core.audiogram import get_preset
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import AudioError
from remixer_app.core.memory_check import available_bytes, check_fits


def test_the_available_memory_is_read() -> None:
    available = available_bytes()
    assert available is None or available > 0


def test_a_track_that_would_not_fit_is_refused_with_the_numbers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 20 * 10**9)
    hour = 3600 * 44100
    with pytest.raises(AudioError, match=r"this 60-minute track of 4 stems needs about "
                                         r"38\.1 GB of memory for the hearing aid, and "
                                         r"20\.0 GB are available: open a shorter excerpt"):
        check_fits(hour, 4, 44100)
    check_fits(hour // 3, 4, 44100)  # 20 minutes: 12.7 GB, it fits
    monkeypatch.setattr(memory_check, "available_bytes", lambda: None)
    check_fits(100 * hour, 4, 44100)  # unknown: not refused on a guess


def test_the_engine_asks_before_copying_the_stems(monkeypatch: pytest.MonkeyPatch) -> None:
    stems = {name: np.zeros((44100, 2), np.float32) for name in ("violin", "cello")}
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 1000)
    with pytest.raises(AudioError, match="needs about"):
        HearingAidEngine(stems, get_preset("N3"), hearing_aid="multiband")
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 10**9)
    assert HearingAidEngine(stems, get_preset("N3"), hearing_aid="multiband").input_frames == 44100
