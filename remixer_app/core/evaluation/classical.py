"""Evaluating classical-ensemble separation by the Cadenza 2 rules.

A scene is one held-out scene folder (from ``remixer data classical``), one listener
and one gain per instrument, all fixed by the scene's name. Each system's stems go
through the Cadenza 2 hearing aid (gains, the level rule, the per-listener multiband
compressor per ear) into the file the challenge scores (32 kHz, clipped, 16-bit). The
reference is, as in the CAD2 recipe's ``evaluate.py``, the true stems through the same
gains, level rule and compressor, at 44.1 kHz and unclipped, resampled straight to
HAAQI's 24 kHz; so the ceiling (the true stems through the whole chain) scores 0.999
only where the aid's output does not clip. HAAQI is scored per ear on the whole mix
and averaged; SDR is per instrument on the mixture as rendered. The floor is the
mixture through the hearing aid with no rebalancing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import mixture_of
from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.clip import ClipMode
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.haaqi import (
    Reference,
    make_task,
    processed_signal,
    score,
)
from remixer_app.core.evaluation.protocol import scene_seed
from remixer_app.core.evaluation.results import gap_closed
from remixer_app.core.evaluation.sdr import sdr
from remixer_app.core.exporting import remix_signal
from remixer_app.core.instruments import INSTRUMENTS, is_instrument_set
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker
from remixer_app.core.stems_folder import load_stems_dir, stem_players

MAX_SCENE_GAIN_DB = 10
#: Separates ``(mixture, instruments)`` into ``{instrument: (frames, 2)}``.
ClassicalSeparate = Callable[[np.ndarray, tuple[str, ...]], dict[str, np.ndarray]]


def load_scene(folder: Path) -> dict[str, np.ndarray]:
    """The instrument stems of a scene folder (an error for a pop-stems folder)."""
    stems = load_stems_dir(folder)
    if not is_instrument_set(stems):
        raise RemixerError(f"{folder} holds {', '.join(stems)}, not instruments")
    return stems


def list_scenes(data: str | os.PathLike[str], split: str = "test", limit: int | None = None
                ) -> list[Path]:
    """The scene folders of ``data/split`` (those with a ``scene.json``), sorted."""
    root = Path(data) / split
    if not root.is_dir():
        raise RemixerError(f"{root} does not exist; make the data with "
                           f"`remixer data classical --out {data}`")
    scenes = sorted(p.parent for p in root.glob("*/scene.json"))
    if not scenes:
        raise RemixerError(f"{root} holds no scene folders")
    return scenes[:limit]


def scene_gains(name: str, instruments: Sequence[str]) -> dict[str, float]:
    """Whole-dB gains in +-10 dB per instrument, fixed by the scene's name."""
    rng = np.random.default_rng(scene_seed(f"gains|{name}"))
    return {i: float(rng.integers(-MAX_SCENE_GAIN_DB, MAX_SCENE_GAIN_DB + 1))
            for i in instruments}


@dataclass(frozen=True)
class ClassicalResult:
    """One scene's scores (HAAQI: mean of the ears; floor/ceiling None if not scored)."""

    scene: str
    listener: str
    gains_db: dict[str, float]
    sdr: dict[str, float]
    haaqi: float
    haaqi_floor: float | None = None
    haaqi_ceiling: float | None = None

    def row(self) -> dict[str, str]:
        """The CSV row: per-instrument SDR, blank where the instrument is absent."""
        def cell(x: float | None) -> str:
            return "" if x is None else f"{x:.6f}"

        values = {"scene": self.scene, "listener": self.listener,
                  "gains": json.dumps(self.gains_db, sort_keys=True)}
        values.update({f"sdr_{i}": cell(self.sdr.get(i)) for i in INSTRUMENTS})
        values.update(sdr_mean=cell(float(np.mean(list(self.sdr.values())))),
                      haaqi=cell(self.haaqi), haaqi_floor=cell(self.haaqi_floor),
                      haaqi_ceiling=cell(self.haaqi_ceiling))
        return values


COLUMNS = ("scene", "listener", "gains", *(f"sdr_{i}" for i in INSTRUMENTS), "sdr_mean",
           "haaqi", "haaqi_floor", "haaqi_ceiling")


def _haaqi(name: str, engine: HearingAidEngine, settings: ChainSettings,
           reference: Reference, listener: Listener) -> float:
    processed = processed_signal(engine, settings)
    task = make_task(name, scene_seed(name), processed, reference, listener, delay_frames=0)
    left, right = score(task)
    return (left + right) / 2.0


def evaluate_scene(name: str, stems: Mapping[str, np.ndarray], estimates: Mapping[str, np.ndarray],
                   listener: Listener, gains_db: Mapping[str, float], *, bounds: bool = True,
                   clip: ClipMode = "hard", players: Mapping[str, int] | None = None
                   ) -> ClassicalResult:
    """Score one scene's estimates (SDR per instrument, HAAQI, optionally the bounds);
    ``players`` counts each instrument's parts for the level rule (1 if not given)."""
    instruments = tuple(stems)
    mixture = np.sum([stems[i] for i in instruments], axis=0)
    settings = ChainSettings(gains_db=dict(gains_db), clip=clip)
    truth = HearingAidEngine(stems, listener, mixture=mixture, hearing_aid="multiband",
                             players=players)
    remix = remix_signal(truth, stems, settings, aid_input=True)
    # The recipe's reference: the compressor's output at 44.1 kHz, unclipped and never
    # written to a file (the make-up gains can take it past full scale, and the
    # processed side is clipped; HAAQI then counts that clipping against the system, as
    # the challenge does).
    reference = Reference(aided=truth.render(settings), remix=remix)
    system = HearingAidEngine({i: estimates[i] for i in instruments}, listener, mixture=mixture,
                              hearing_aid="multiband", players=players)
    haaqi = _haaqi(name, system, settings, reference, listener)
    floor = ceiling = None
    if bounds:
        plain = HearingAidEngine({"mixture": mixture}, listener, hearing_aid="multiband")
        floor = _haaqi(name, plain, ChainSettings(clip=clip), reference, listener)
        ceiling = _haaqi(name, truth, settings, reference, listener)
    return ClassicalResult(scene=name, listener=listener.id, gains_db=dict(gains_db),
                           sdr={i: sdr(stems[i], estimates[i]) for i in instruments},
                           haaqi=haaqi, haaqi_floor=floor, haaqi_ceiling=ceiling)


def evaluate_classical(scenes: Sequence[Path], separate: ClassicalSeparate,
                       listeners: Sequence[Listener], *, bounds: bool = True,
                       progress: ProgressCallback | None = None,
                       cancelled: CancelCheck | None = None) -> list[ClassicalResult]:
    """Score ``separate`` on every scene; listener ``k`` of ``listeners`` takes scene ``k``
    modulo their number (so every listener is used when there are enough scenes)."""
    if not listeners:
        raise ValueError("an evaluation needs at least one listener")
    tracker = ProgressTracker(len(scenes), progress, cancelled)
    results = []
    for k, folder in enumerate(scenes):
        name = f"{folder.parent.name}/{folder.name}"
        tracker.report(f"scene {k + 1}/{len(scenes)} {name}: separating")
        stems = load_scene(folder)
        mixture = mixture_of(stems.values())
        estimates = separate(mixture, tuple(stems))
        result = evaluate_scene(name, stems, estimates, listeners[k % len(listeners)],
                                scene_gains(name, tuple(stems)), bounds=bounds,
                                players=stem_players(folder))
        results.append(result)
        tracker.advance(1, f"scene {k + 1}/{len(scenes)} {name}: HAAQI {result.haaqi:.4f}")
    tracker.finish()
    return results


@dataclass(frozen=True)
class ClassicalSummary:
    """Means over scenes.

    Attributes
    ----------
    sdr
        Per instrument, the mean SDR over the scenes where it plays.
    sdr_mean_per_scene
        The mean over scenes of each scene's mean SDR over its instruments (not the
        mean of ``sdr``: every scene counts equally, so an instrument counts by the
        scenes it plays in).
    """

    scenes: int
    sdr: dict[str, float]
    sdr_mean_per_scene: float
    haaqi: float
    haaqi_floor: float | None
    haaqi_ceiling: float | None

    @property
    def gap_closed(self) -> float | None:
        if self.haaqi_floor is None or self.haaqi_ceiling is None:
            return None
        return gap_closed(self.haaqi, self.haaqi_floor, self.haaqi_ceiling)


def _mean_of_all(values: Sequence[float | None]) -> float | None:
    """The mean, or ``None`` when there are no values or one is missing."""
    present = [v for v in values if v is not None]
    if not values or len(present) < len(values):
        return None
    return float(np.mean(present))


def summarise_classical(results: Sequence[ClassicalResult]) -> ClassicalSummary:
    """Means of ``results`` (bounds only when every scene has them)."""
    per = {i: [r.sdr[i] for r in results if i in r.sdr] for i in INSTRUMENTS}
    bound = {key: _mean_of_all(vals) for key, vals in (
        ("floor", [r.haaqi_floor for r in results]),
        ("ceiling", [r.haaqi_ceiling for r in results]))}
    return ClassicalSummary(
        scenes=len(results), sdr={i: float(np.mean(v)) for i, v in per.items() if v},
        sdr_mean_per_scene=float(np.mean([np.mean(list(r.sdr.values())) for r in results])),
        haaqi=float(np.mean([r.haaqi for r in results])),
        haaqi_floor=bound["floor"], haaqi_ceiling=bound["ceiling"])
