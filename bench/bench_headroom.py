"""How far separation quality moves HAAQI, with oracle estimates, on either protocol.

``remixer evaluate`` scores a separator between a floor (the mixture, not rebalanced)
and a ceiling (the true stems), and the issues ask for half that gap. This script asks
what quality of separation that needs, by scoring estimates made from the true stems
on the same scenes, listeners and gains as the real evaluation:

* ``leak EPS``: each estimate keeps ``1 - EPS`` of its own stem and takes an equal
  share of ``EPS`` of every other (they still add up to the mixture): crosstalk with
  no artefacts, at the SDR it prints;
* ``irm``: the ideal ratio mask (magnitude ratio per STFT bin, 2048/512, per channel),
  the best that a mask-based separator of that resolution can do;
* ``wiener``: the ideal power ratio mask, likewise.

Run (about 20 s per scene and system on this machine)::

    .venv/bin/python bench/bench_headroom.py --classical DIR [--limit N]
    .venv/bin/python bench/bench_headroom.py --musdb ../shared/data/musdb18_7s [--jobs 2]

``--classical`` takes a folder from ``remixer data classical``; ``--musdb`` scores the
test previews at the ear, with the listeners and gains of ``remixer evaluate``'s
default protocol.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import istft, stft

from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE
from remixer_app.core.audiogram import presets
from remixer_app.core.evaluation.classical import (
    evaluate_scene,
    list_scenes,
    load_scene,
    scene_gains,
    summarise_classical,
)
from remixer_app.core.evaluation.harness import EvaluationSetup, evaluate
from remixer_app.core.evaluation.hrir import load_speaker_hrirs
from remixer_app.core.evaluation.protocol import default_listener_ids, load_gains_scenarios
from remixer_app.core.evaluation.results import gap_closed, summarise
from remixer_app.core.evaluation.tracks import Condition, list_tracks
from remixer_app.core.listener_io import load_listeners
from remixer_app.core.stems_folder import stem_players

Estimator = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
NFFT, HOP = 2048, 512


def leak(eps: float) -> Estimator:
    def estimate(stems: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        mixture = sum(stems.values())
        n = len(stems)
        return {i: (1 - eps) * s + eps * (mixture - s) / (n - 1) for i, s in stems.items()}
    return estimate


def ideal_mask(power: float) -> Estimator:
    def estimate(stems: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(stems)
        frames = next(iter(stems.values())).shape[0]
        spectra = [stft(stems[i].T, nperseg=NFFT, noverlap=NFFT - HOP)[2] for i in names]
        mixture = sum(spectra)
        weights = [np.abs(s) ** power for s in spectra]
        total = sum(weights) + 1e-12
        out = {}
        for name, w in zip(names, weights, strict=True):
            signal = istft(w / total * mixture, nperseg=NFFT, noverlap=NFFT - HOP)[1]
            out[name] = np.ascontiguousarray(signal.T[:frames], dtype=np.float32)
        return out
    return estimate


SYSTEMS: dict[str, Estimator] = {"leak 0.05": leak(0.05), "leak 0.15": leak(0.15),
                                 "leak 0.30": leak(0.30), "irm": ideal_mask(1.0),
                                 "wiener": ideal_mask(2.0)}


@dataclass(frozen=True)
class OracleEstimate:
    """An evaluation system that builds its stems from the condition's true stems."""

    name: str
    estimator: Estimator

    def estimate(self, condition: Condition) -> dict[str, np.ndarray]:
        return self.estimator({i: condition.stems[i] for i in STEM_NAMES})


def row(system: str, sdr: float, haaqi: float, floor: float, ceiling: float) -> str:
    gap = 100 * gap_closed(haaqi, floor, ceiling)
    return f"{system:<12} {sdr:8.2f}  {haaqi:7.4f} {gap:10.1f} %"


def classical(folder: str, limit: int | None) -> None:
    scenes = list_scenes(folder, "test", limit)
    listeners = [p for p in presets().values() if p.id != "NH"]  # as evaluate --classical
    results: dict[str, list] = {name: [] for name in SYSTEMS}
    start = time.monotonic()
    for k, scene in enumerate(scenes):
        name = f"{scene.parent.name}/{scene.name}"
        stems = load_scene(scene)
        gains = scene_gains(name, tuple(stems))
        for n, (system, estimator) in enumerate(SYSTEMS.items()):
            results[system].append(evaluate_scene(name, stems, estimator(stems),
                                                  listeners[k % len(listeners)], gains,
                                                  bounds=n == 0, players=stem_players(scene)))
        print(f"scene {k + 1}/{len(scenes)} {name} ({time.monotonic() - start:.0f} s)",
              flush=True)
    bounds = summarise_classical(results[next(iter(SYSTEMS))])
    print(f"{len(scenes)} held-out classical scenes; floor {bounds.haaqi_floor:.4f}, "
          f"ceiling {bounds.haaqi_ceiling:.4f}")
    print(f"{'oracle':<12} {'SDR/scene':>9} {'HAAQI':>7} {'gap closed':>11}  (SDR: mean per "
          "scene of the scene's mean over its instruments)")
    for system, rows in results.items():
        s = summarise_classical(rows)
        print(row(system, s.sdr_mean_per_scene, s.haaqi, bounds.haaqi_floor,
                  bounds.haaqi_ceiling))


def musdb(folder: str, limit: int | None, jobs: int) -> None:
    root = Path(folder).resolve().parent  # hrir/ and listeners/ beside it, as evaluate uses
    listeners = load_listeners(root / "listeners" / "clarity_listeners.json")
    setup = EvaluationSetup(
        tracks=tuple(list_tracks(folder, "test", limit)),
        listeners=tuple(listeners[i] for i in default_listener_ids()),
        scenarios=tuple(load_gains_scenarios()),
        hrirs=load_speaker_hrirs(root / "hrir" / "VP_N6-BTE_fr.mat", 30.0, TARGET_RATE))
    summaries = {}
    start = time.monotonic()
    for n, (system, estimator) in enumerate(SYSTEMS.items()):
        summaries[system] = summarise(evaluate(setup, OracleEstimate(system, estimator),
                                               bounds=n == 0, jobs=jobs))
        print(f"{system} done ({time.monotonic() - start:.0f} s)", flush=True)
    bounds = summaries[next(iter(SYSTEMS))]
    print(f"{bounds.tracks} MUSDB18 test previews at the ear, {bounds.scenes} scenes; floor "
          f"{bounds.haaqi_floor:.4f}, ceiling {bounds.haaqi_ceiling:.4f}")
    print(f"{'oracle':<12} {'mean SDR':>9} {'HAAQI':>7} {'gap closed':>11}")
    for system, s in summaries.items():
        print(row(system, s.sdr["atear"]["mean"], s.haaqi, bounds.haaqi_floor,
                  bounds.haaqi_ceiling))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--classical", metavar="DIR", help="from `remixer data classical`")
    data.add_argument("--musdb", metavar="DIR", help="folder with test/*.stem.mp4")
    parser.add_argument("--limit", type=int, default=None, help="first N tracks or scenes")
    parser.add_argument("--jobs", type=int, default=1, help="HAAQI processes (--musdb)")
    args = parser.parse_args()
    if args.classical:
        classical(args.classical, args.limit)
    else:
        musdb(args.musdb, args.limit, args.jobs)


if __name__ == "__main__":
    main()
