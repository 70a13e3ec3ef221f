"""Tiny separators for tests, saved in the real formats (never downloaded, never trained).

- :class:`ScaleModel`: a weightless torch module whose "stems" are fixed fractions of
  the input; exact expected outputs make ensemble arithmetic testable.
- :class:`SlowScaleModel`: a ScaleModel that takes its time, for responsiveness tests.
- :func:`tiny_hdemucs`: a real HDemucs with random weights (a few thousand parameters).
- :func:`write_tiny_ensemble`: such a model as a safetensors member plus its ensemble file;
  :func:`write_slow_ensemble` the same for a SlowScaleModel.
- :func:`tone` and :func:`write_tone_scene`: a classical scene whose instruments are
  tones (each instrument one pitch), written as ``remixer data classical`` writes one.
- :func:`write_fake_demucs_remote`: a model in Demucs' own ``.th`` package format with
  a ``files.txt`` and bag YAML, laid out like Demucs' download server.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

from remixer_app.core.separation.members import (
    ARCHITECTURES,
    register_architecture,
    save_member,
)

DEMUCS_SOURCES = ["drums", "bass", "other", "vocals"]
TINY_CONFIG = {"sources": DEMUCS_SOURCES, "channels": 4, "depth": 2, "nfft": 64,
               "segment": 2}
SLOW_ARCHITECTURE = "slow_scale_for_tests"


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


class SlowScaleModel(ScaleModel):
    """A :class:`ScaleModel` whose every call takes ``delay_s``, like a big model on a CPU.

    It sleeps in 10 ms slices, so the GIL is free meanwhile, as it is in torch's kernels.
    """

    def __init__(self, fractions: list[float], delay_s: float, segment: float = 1.0) -> None:
        super().__init__(fractions, segment)
        self.delay_s = delay_s

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        deadline = time.perf_counter() + self.delay_s
        while (left := deadline - time.perf_counter()) > 0:
            time.sleep(min(0.01, left))
        return super().forward(mix)


def tiny_hdemucs(seed: int = 0) -> torch.nn.Module:
    """A real HDemucs, random weights, fast enough for unit tests."""
    torch.manual_seed(seed)
    return ARCHITECTURES["hdemucs"](**TINY_CONFIG).eval()


def write_tiny_ensemble(folder: Path, name: str = "tiny", *, residual_other: bool = True,
                        mixture_blend: float = 0.0) -> Path:
    """A one-member ensemble file (safetensors member) in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    sha = save_member(tiny_hdemucs(), folder / f"{name}.safetensors", "hdemucs", TINY_CONFIG)
    return _write_ensemble_file(folder, name, "tiny", sha, "random-weight HDemucs for tests",
                                residual_other=residual_other, mixture_blend=mixture_blend)


def write_slow_ensemble(folder: Path, name: str = "slow", *, delay_s: float = 0.1) -> Path:
    """A one-member ensemble of a :class:`SlowScaleModel` (1 s segments) in ``folder``.

    A track of ``n`` seconds then takes about ``n / 0.75 * delay_s`` to separate (the
    ensembles' default overlap is a quarter segment).
    """
    register_architecture(SLOW_ARCHITECTURE, SlowScaleModel)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"fractions": [0.1, 0.2, 0.3, 0.4], "delay_s": delay_s}
    sha = save_member(SlowScaleModel(**config), folder / f"{name}.safetensors",
                      SLOW_ARCHITECTURE, config)
    return _write_ensemble_file(folder, name, "slow", sha,
                                f"sleeps {delay_s} s per segment (tests)",
                                residual_other=False, mixture_blend=0.0)


def _write_ensemble_file(folder: Path, name: str, member_id: str, sha256: str,
                         description: str, *, residual_other: bool, mixture_blend: float
                         ) -> Path:
    spec = {"description": description,
            "members": [{"id": member_id, "kind": "safetensors", "file": f"{name}.safetensors",
                         "sha256": sha256}],
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


def tone(freq: float, seconds: float = 1.5) -> np.ndarray:
    """A slowly swelling stereo tone at ``freq`` Hz, ``(frames, 2)`` float32 at 44.1 kHz."""
    t = np.arange(int(seconds * 44100)) / 44100
    mono = 0.1 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return np.stack([mono, 0.8 * mono], 1).astype(np.float32)


def write_tone_scene(folder: Path, names: dict[str, float], seconds: float = 1.5) -> None:
    """A scene folder: each instrument ``name`` a :func:`tone` at its frequency."""
    folder.mkdir(parents=True)
    for name, freq in names.items():
        sf.write(folder / f"{name}.flac", tone(freq, seconds), 44100, subtype="PCM_24")
    (folder / "scene.json").write_text(json.dumps({"instruments": sorted(names)}))
