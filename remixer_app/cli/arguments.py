"""Argument types that several commands share, checked when the arguments are read."""

from __future__ import annotations

import argparse
from pathlib import Path


def output_folder(text: str) -> Path:
    """``--out DIR``: a folder to write into, new or existing, but not a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file; --out must be a folder")
    return path
