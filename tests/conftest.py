"""Shared fixtures: the real-data folder beside the checkout, and isolated user folders."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

_USER_DIR_VARS = ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every per-user folder into a temporary one, so no test touches the real ones."""
    root = tmp_path_factory.mktemp("user_dirs")
    for var in _USER_DIR_VARS:
        folder = root / var.lower()
        folder.mkdir()
        monkeypatch.setenv(var, str(folder))


@pytest.fixture(autouse=True)
def _no_background_work_left() -> Iterator[None]:
    """Let a test's Qt workers finish before the next test starts.

    A worker still scoring HAAQI would draw from numpy's global generator while the
    next test checks seeded scores, and a late signal would reach a deleted widget.
    """
    yield
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(120_000)


@pytest.fixture(autouse=True)
def _no_modal_question_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """A main window closed at a test's end (or another listener chosen) discards an
    edited audiogram instead of waiting for an answer to a modal question, and a profile
    saved over another of its id replaces it; tests of those questions replace them."""
    module = sys.modules.get("remixer_app.ui.listener_files")
    if module is not None:
        from PySide6.QtWidgets import QMessageBox

        monkeypatch.setattr(module.ListenerFileActions, "ask_unsaved_listener",
                            lambda self, name: QMessageBox.StandardButton.Discard)
        # Saving a profile over another person's of the same id asks first: replace.
        monkeypatch.setattr(module.ListenerFileActions, "ask_replace_profile",
                            lambda self, stored, new: True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (MUSDB18 previews, listener audiograms); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (a fresh clone): real-audio tests need it")
    return SHARED_DATA


@pytest.fixture
def thawed_heap() -> Iterator[None]:
    """Give back to the garbage collector whatever the test froze (``heap.settle``)."""
    yield
    gc.unfreeze()
