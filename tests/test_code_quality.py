"""The package passes the linters the style guide names: ruff and strict mypy.

Both read their settings from ``pyproject.toml``; running them here makes the test
command (and so CI) enforce them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    pytest.importorskip("ruff", reason="ruff comes with the dev extras: pip install -e '.[dev]'")
    result = _run("ruff", "check", "remixer_app", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_strict_mypy_finds_nothing() -> None:
    pytest.importorskip("mypy", reason="mypy comes with the dev extras: pip install -e '.[dev]'")
    result = _run("mypy", "remixer_app")
    assert result.returncode == 0, result.stdout + result.stderr
