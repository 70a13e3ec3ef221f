"""Tiny separators for tests, saved in the real formats (never downloaded, never trained).

- :class:`ScaleModel`: a weightless torch module whose "stems" are fixed fractions of
  the input; exact expected outputs make ensemble arithmetic testable.
- :func:`tiny_hdemucs`: a real HDemucs with random weights (a few thousand parameters).
- :func:`write_tiny_ensemble`: such a model as a safetensors member plus its ensemble file.
- :func:`write_fake_demucs_remote`: a model in Demucs' own ``.th`` package format with
  a ``files.txt`` and bag YAML, laid out like Demucs' download server.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch
import yaml

from remixer_app.core.separation.members import ARCHITECTURES, save_member

DEMUCS_SOURCES = ["drums", "bass", "other", "vocals"]
TINY_CONFIG = {"sources": DEMUCS_SOURCES, "channels": 4, "depth": 2, "nfft": 64,
               "segment": 2}


class ScaleModel(torch.nn.Module):
    """Source k of the output is ``fractions[k]`` times the input."""

    def __init__(self, fractions: list[float], segment: float = 1.0) -> None:
        super().__init__()
        self.sources = list(DEMUCS_SOURCES)
        self.samplerate = 44100
        self.audio_channels = 2
        self.segment = segment
        self.fractions = fractions
        self.scale = torch.nn.Identity()  # a submodule, so per-layer hooks have a target

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        out = torch.stack([f * self.scale(mix) for f in self.fractions], dim=1)
        return out


def tiny_hdemucs(seed: int = 0) -> torch.nn.Module:
    """A real HDemucs, random weights, fast enough for unit tests."""
    torch.manual_seed(seed)
    return ARCHITECTURES["hdemucs"](**TINY_CONFIG).eval()


def write_tiny_ensemble(folder: Path, name: str = "tiny", *, residual_other: bool = True,
                        mixture_blend: float = 0.0) -> Path:
    """A one-member ensemble file (safetensors member) in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    sha = save_member(tiny_hdemucs(), folder / f"{name}.safetensors", "hdemucs", TINY_CONFIG)
    spec = {"description": "random-weight HDemucs for tests",
            "members": [{"id": "tiny", "kind": "safetensors", "file": f"{name}.safetensors",
                         "sha256": sha}],
            "residual_other": residual_other, "mixture_blend": mixture_blend}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def demucs_package_bytes(seed: int = 0) -> bytes:
    """A tiny HDemucs serialised the way Demucs publishes its models (a torch pickle)."""
    model = tiny_hdemucs(seed)
    args, kwargs = model._init_args_kwargs
    package = {"klass": type(model), "args": args, "kwargs": kwargs,
               "state": {k: v.clone() for k, v in model.state_dict().items()},
               "training_args": None}
    buffer = io.BytesIO()
    torch.save(package, buffer)
    return buffer.getvalue()


def write_fake_demucs_remote(remote: Path, files: Path, bag: str = "tinybag") -> list[str]:
    """Lay out a fake Demucs server: catalogue in ``remote``, model files under ``files``.

    Returns the model file names (``<sig>-<sha256 prefix>.th``).
    """
    remote.mkdir(parents=True, exist_ok=True)
    (files / "tiny").mkdir(parents=True, exist_ok=True)
    names = []
    for sig, seed in (("aaaa0001", 0), ("aaaa0002", 1)):
        data = demucs_package_bytes(seed)
        name = f"{sig}-{hashlib.sha256(data).hexdigest()[:8]}.th"
        (files / "tiny" / name).write_bytes(data)
        names.append(name)
    (remote / "files.txt").write_text("# tiny test models\nroot: tiny/\n"
                                      + "".join(n + "\n" for n in names), encoding="utf-8")
    (remote / f"{bag}.yaml").write_text(yaml.safe_dump(
        {"models": [n.split("-")[0] for n in names],
         "weights": [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]}), encoding="utf-8")
    return names
