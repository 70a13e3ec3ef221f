"""The one way the app writes times (track length, playhead, time left)."""

from __future__ import annotations

import pytest

from remixer_app.ui.time_format import format_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (-1.0, "0:00"), (0.4, "0:00"), (1.0, "0:01"), (6.97, "0:06"), (59.6, "0:59"),
    (61.9, "1:01"), (754.0, "12:34"), (3599.9, "59:59"), (3723.0, "1:02:03")])
def test_format_duration_rounds_down_to_the_second(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
