"""The Qt binding itself: a known PySide6 defect that would crash the app must be absent.

PySide6 6.12.0 released one reference to ``True`` on every signal emitted from Python;
after a few thousand emits (a slider drag, a pyqtgraph redraw) the interpreter
aborted. pyproject.toml excludes it; this catches any other release with the defect.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    one = Signal(object)
    two = Signal(int, object)


def test_emitting_signals_does_not_leak_or_steal_references() -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.one.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for index in range(200):
        emitter.one.emit(index)
        emitter.two.emit(index, "x")
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert len(received) == 200
    assert abs(after[0] - before[0]) <= 2 and abs(after[1] - before[1]) <= 2
