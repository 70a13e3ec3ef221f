"""Points of an audiogram: the two ears, and one hearing level snapped, parsed or changed.

Shared by the audiogram views (:mod:`remixer_app.ui.audiogram_chart` and
:mod:`remixer_app.ui.audiogram_table`), so that both draw an ear alike and turn a
drag or a typed value into the same validated
:class:`~remixer_app.core.audiogram.Listener`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TypedDict

from PySide6.QtCore import Qt

from remixer_app.core.audiogram import MAX_LEVEL, MIN_LEVEL, Audiogram, Listener

RIGHT, LEFT = "right", "left"
EARS = (RIGHT, LEFT)  # table column order: clinicians read right ear first
SNAP_DB = 5.0  # audiometers step in 5 dB


class EarStyle(TypedDict):
    """How one ear is drawn."""

    color: tuple[int, int, int]
    symbol: str
    dash: Qt.PenStyle


#: How each ear is drawn: right "O" in red, left "X" in blue (ASHA 1990).
EAR_STYLE: dict[str, EarStyle] = {
    RIGHT: {"color": (200, 0, 0), "symbol": "o", "dash": Qt.PenStyle.SolidLine},
    LEFT: {"color": (0, 60, 200), "symbol": "x", "dash": Qt.PenStyle.DashLine}}


def snap_level(level: float) -> float:
    """``level`` rounded to the nearest 5 dB and clamped to the valid dB HL range."""
    return float(min(MAX_LEVEL, max(MIN_LEVEL, SNAP_DB * round(level / SNAP_DB))))


def parse_level(text: str) -> float:
    """A typed hearing level in dB HL.

    Raises
    ------
    ValueError
        ``text`` is not a finite number or is outside ``MIN_LEVEL .. MAX_LEVEL``;
        the message is meant for the user.
    """
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number of dB HL") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a number of dB HL")
    if not MIN_LEVEL <= value <= MAX_LEVEL:
        raise ValueError(f"{value:g} dB HL is outside {MIN_LEVEL:g}..{MAX_LEVEL:g}")
    return value


def ear_of(listener: Listener, ear: str) -> Audiogram:
    """The audiogram of ``ear`` (``"right"`` or ``"left"``)."""
    return listener.right if ear == RIGHT else listener.left


def with_ear(listener: Listener, ear: str, gram: Audiogram) -> Listener:
    """A copy of ``listener`` with the audiogram of ``ear`` replaced by ``gram``."""
    return (replace(listener, right=gram) if ear == RIGHT
            else replace(listener, left=gram))


def with_level(listener: Listener, ear: str, index: int, level: float) -> Listener:
    """A copy of ``listener`` with one threshold changed (validated by ``Audiogram``)."""
    gram = ear_of(listener, ear)
    levels = gram.levels.copy()
    levels[index] = level
    return with_ear(listener, ear, Audiogram(gram.frequencies, levels))


def describe(ear: str, frequency: float, level: float) -> str:
    """E.g. ``"Right ear, 1000 Hz: 45 dB HL"``, for status lines."""
    return f"{ear.capitalize()} ear, {frequency:g} Hz: {level:g} dB HL"
