"""heap.settle() frees garbage before it freezes, and warm_up() imports torch off the GUI thread."""

from __future__ import annotations

import gc
import os
import sys
import weakref

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.ui import heap  # noqa: E402

pytestmark = pytest.mark.usefixtures("thawed_heap")


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(b)


def test_settle_collects_the_garbage_there_is_before_freezing() -> None:
    gc.disable()  # no automatic pass may collect the cycle for settle()
    try:
        head, probe = cycle()
        del head
        assert probe() is not None
        heap.settle()
        assert probe() is None
    finally:
        gc.enable()


def test_settle_takes_live_objects_out_of_later_passes() -> None:
    gc.unfreeze()
    live, _ = cycle()
    assert any(o is live for o in gc.get_objects())
    heap.settle()
    assert gc.get_freeze_count() > 0
    assert not any(o is live for o in gc.get_objects())
    # What is made afterwards is collected as usual.
    head, probe = cycle()
    del head
    gc.collect()
    assert probe() is None


def test_warm_up_imports_torch_on_a_worker_then_settles(qtbot: QtBot) -> None:
    gc.unfreeze()
    worker = heap.warm_up()
    # Not waitSignal: with torch imported by an earlier test, the worker may finish
    # before a late connection could catch its signal.
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=120_000)
    assert worker.done.is_set()
    assert "torch" in sys.modules and "demucs.apply" in sys.modules
