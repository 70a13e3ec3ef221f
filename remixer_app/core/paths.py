"""Where remixer_app finds its bundled resources and keeps per-user files."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "remixer_app"


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, or inside a frozen app."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def models_dir() -> Path:
    """The ``models/`` folder holding ensemble definitions and embedded weights."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "models"
    return Path(__file__).resolve().parents[2] / "models"


def user_cache_dir() -> Path:
    """Per-user cache (separated stems)."""
    return Path(platformdirs.user_cache_dir(APP_NAME))


def user_data_dir() -> Path:
    """Per-user data (listener profiles, session database)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def user_log_dir() -> Path:
    """Per-user log files."""
    return Path(platformdirs.user_log_dir(APP_NAME))
