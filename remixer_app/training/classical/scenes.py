"""Building a classical-ensemble dataset: one folder of instrument stems per scene.

``build_dataset(out, settings)`` writes ``out/train/NNNN/`` and ``out/test/NNNN/``,
each holding one 24-bit FLAC per instrument (44.1 kHz stereo; two parts played by the
same instrument share its stem) and ``scene.json`` describing how it was made. The
mixture is the sum of the stems, as for MUSDB18. Everything follows from the seed:
the same settings give the same files. Test scenes come only from held-out pieces
(:func:`~.scores.split_pieces`). A scene whose ``scene.json`` exists is kept, so an
interrupted build resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import fftconvolve

from remixer_app.core.atomic import atomic_write
from remixer_app.core.dsp.loudness import integrated_loudness
from remixer_app.core.errors import RemixerError
from remixer_app.core.export import write_audio
from remixer_app.core.instruments import INSTRUMENTS, MAX_INSTRUMENTS
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker
from remixer_app.training.classical.scores import Part, excerpt_parts, split_pieces
from remixer_app.training.classical.synth import (
    GM_INSTRUMENTS,
    RATE,
    find_fluidsynth,
    find_soundfont,
    render_part,
)

SPLITS = ("train", "test")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DataSettings:
    """How many scenes of how long, from which seed."""

    seed: int = 0
    train: int = 160
    test: int = 30
    seconds: float = 6.0

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise RemixerError("--seed must be 0 or more")
        if self.train < 0 or self.test < 0 or self.train + self.test == 0:
            raise RemixerError("ask for at least one scene (--train N / --test N)")
        if not 2.0 <= self.seconds <= 60.0:
            raise RemixerError("scenes last 2 to 60 seconds")


def assign_instruments(rng: np.random.Generator, parts: list[Part]
                       ) -> list[tuple[str, int]]:
    """(instrument, octave transposition in semitones) for each part.

    An instrument can take a part when the part fits its range, moved by at most an
    octave; an instrument already used is taken again only sometimes (quartets have
    two violins).
    """
    chosen: list[tuple[str, int]] = []
    for part in parts:
        low, high = part.pitch_range()
        options = []
        for name in INSTRUMENTS:
            _, lo, hi = GM_INSTRUMENTS[name]
            for shift in (0, 12, -12):
                if lo <= low + shift and high + shift <= hi:
                    options.append((name, shift))
                    break
        if not options:  # a part wider than any range: the instrument whose middle is nearest
            middle = (low + high) / 2
            name = min(INSTRUMENTS, key=lambda n: abs(sum(GM_INSTRUMENTS[n][1:]) / 2 - middle))
            options = [(name, 0)]
        used = {c[0] for c in chosen}
        fresh = [o for o in options if o[0] not in used]
        pool = fresh if fresh and rng.random() > 0.25 else options
        chosen.append(pool[int(rng.integers(len(pool)))])
    return chosen


def room_response(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """A stereo (frames, 2) diffuse room tail: decaying noise, independent per channel."""
    frames = int(min(rt60, 2.0) * RATE)
    t = np.arange(frames) / RATE
    decay = np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    ir = rng.standard_normal((frames, 2)) * decay[:, None]
    ir[: int(0.005 * RATE)] = 0.0    # pre-delay: the first reflections arrive after 5 ms
    return ir / np.sqrt(np.sum(ir**2, axis=0, keepdims=True))


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan; ``position`` from -1 (left) to 1 (right)."""
    angle = (position + 1.0) * np.pi / 4.0
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1)


def make_scene(rng: np.random.Generator, piece: str, seconds: float, soundfont: Path
               ) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Render one scene; ``None`` when the excerpt has too few sounding parts."""
    bpm = float(rng.uniform(60.0, 110.0))
    start = float(rng.uniform(0.0, 0.8))
    parts = excerpt_parts(piece, start, seconds, bpm)
    if len(parts) < 2:
        return None
    count = int(rng.integers(2, min(MAX_INSTRUMENTS, len(parts)) + 1))
    picked = [parts[i] for i in sorted(rng.choice(len(parts), size=count, replace=False))]
    roles = assign_instruments(rng, picked)
    frames = int(round(seconds * RATE))
    rt60 = float(rng.uniform(0.3, 1.6))
    wet = float(rng.uniform(0.05, 0.3))
    room = room_response(rng, rt60)
    stems: dict[str, np.ndarray] = {}
    described = []
    for part, (instrument, shift) in zip(picked, roles, strict=True):
        dynamics = float(rng.uniform(0.6, 1.25))
        position = float(rng.uniform(-0.7, 0.7))
        mono = render_part(part, instrument, frames, transpose=shift, velocity_scale=dynamics,
                           soundfont=soundfont)
        if np.sqrt(np.mean(mono**2)) < 1e-4:
            return None  # a part that rests through the whole excerpt
        dry = _pan(mono, position)
        tail = np.stack([fftconvolve(dry[:, c], room[:, c])[:frames] for c in range(2)], axis=1)
        played = np.sqrt(1 - wet) * dry + np.sqrt(wet) * tail
        stems[instrument] = stems[instrument] + played if instrument in stems else played
        described.append({"part": part.name, "instrument": instrument, "transpose": shift,
                          "dynamics": round(dynamics, 3), "pan": round(position, 3)})
    if len(stems) < 2:
        return None
    mixture = np.sum(list(stems.values()), axis=0)
    target = float(rng.uniform(-28.0, -18.0))
    scale = 10.0 ** ((target - integrated_loudness(mixture, RATE)) / 20.0)
    scale = min(scale, 0.95 / max(float(np.max(np.abs(mixture))), 1e-9))
    stems = {name: (audio * scale).astype(np.float32) for name, audio in stems.items()}
    info = {"piece": piece, "bpm": round(bpm, 2), "start_fraction": round(start, 4),
            "seconds": seconds, "rt60_s": round(rt60, 3), "wet": round(wet, 3),
            "loudness_lufs": round(target, 2), "instruments": sorted(stems), "parts": described}
    return stems, info


def _scene_rng(seed: int, split: str, index: int, attempt: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS.index(split), index, attempt])


def build_dataset(out: Path, settings: DataSettings, *, progress: ProgressCallback | None = None,
                  cancelled: CancelCheck | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the dataset into ``out`` (resuming a partial one); returns its manifest."""
    find_fluidsynth()
    soundfont = find_soundfont()
    out = Path(out)
    manifest_path = out / "manifest.json"
    wanted = {"format": FORMAT_VERSION, "settings": asdict(settings)}
    pieces = split_pieces(settings.seed)
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if {k: old.get(k) for k in wanted} != wanted:
            raise RemixerError(f"{out} holds a dataset made with other settings "
                               f"({old.get('settings')}); choose another folder")
    elif any(any((out / split).iterdir()) for split in SPLITS if (out / split).is_dir()):
        raise RemixerError(f"{out} holds scenes of an unknown build (no manifest.json); "
                           "choose another folder")
    else:  # first, so that an interrupted build is resumed only with the same settings
        out.mkdir(parents=True, exist_ok=True)
        _write_manifest(manifest_path, {**wanted, "pieces": pieces, "scenes": None})
    counts = {"train": settings.train, "test": settings.test}
    tracker = ProgressTracker(sum(counts.values()), progress, cancelled)
    scenes: dict[str, list[dict[str, Any]]] = {}
    for split in SPLITS:
        scenes[split] = []
        for index in range(counts[split]):
            tracker.report(f"{split} scene {index + 1} of {counts[split]}")
            folder = out / split / f"{index:04d}"
            info_path = folder / "scene.json"
            if info_path.exists():
                info = json.loads(info_path.read_text())
            else:
                info = _write_scene(folder, settings, split, index, pieces[split], soundfont)
                if log:
                    log(f"{split}/{index:04d}: {', '.join(info['instruments'])} "
                        f"from {info['piece']}")
            scenes[split].append({"folder": f"{split}/{index:04d}",
                                  "instruments": info["instruments"], "piece": info["piece"]})
            tracker.advance()
    manifest = {**wanted, "pieces": pieces, "scenes": scenes}
    _write_manifest(manifest_path, manifest)
    tracker.finish()
    return manifest


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """The settings, the pieces of each split and (``None`` until the build ends) the
    scenes."""
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1)),
                 overwrite=True)


def _write_scene(folder: Path, settings: DataSettings, split: str, index: int,
                 pieces: list[str], soundfont: Path) -> dict[str, Any]:
    for attempt in range(50):
        rng = _scene_rng(settings.seed, split, index, attempt)
        made = make_scene(rng, pieces[int(rng.integers(len(pieces)))], settings.seconds,
                          soundfont)
        if made is not None:
            break
    else:
        raise RemixerError(f"could not make {split} scene {index} in 50 attempts")
    stems, info = made
    folder.mkdir(parents=True, exist_ok=True)
    for name, audio in stems.items():
        write_audio(folder / f"{name}.flac", audio, RATE, subtype="PCM_24", overwrite=True)
    info = {**info, "split": split, "index": index, "attempt": attempt}
    atomic_write(folder / "scene.json", lambda tmp: tmp.write_text(json.dumps(info, indent=1)),
                 overwrite=True)
    return info
