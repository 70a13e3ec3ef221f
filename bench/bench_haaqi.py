"""Fast HAAQI against pyclarity's: agreement, speed and peak memory, side by side.

Cases are real Cadenza scenes built from MUSDB18 train previews (../shared/data):
the recipe's reference (remix with the gains, loudness-matched, NAL-R per ear, no
compressor) and our engine's output (with or without the compressor) as the
challenge scores it (32 kHz 16-bit file, both resampled to 24 kHz), for real
listeners including severe losses, both ears, ``equalisation=2`` and
``level1 = 65 - 20 log10(rms(remix ear))`` (:mod:`remixer_app.core.evaluation.haaqi`).
numpy's global generator is seeded identically before each of the two calls.

* agreement: every case's two scores, their difference, the largest difference and
  pass/fail against 1e-4;
* speed: a 10-second excerpt (two previews end to end), per ear: pyclarity, ours as a
  drop-in (reference model built in the call) and ours re-scoring another processed
  signal against a cached :class:`HaaqiReference`; numba is warmed up first, and the
  best of 2 (pyclarity) and 3 (ours) runs is kept, wall and CPU time;
* memory: each implementation scores the 10-second left ear in a fresh process;
  tracemalloc's peak (numpy buffers) and the peak RSS growth over the RSS after
  imports and warm-up (VmHWM, reset just before the call) are printed.

Run: ``.venv/bin/python bench/bench_haaqi.py`` (about 20 minutes on 2 cores);
``--quick`` runs 6 agreement cases; ``--only agreement|speed|memory`` one section.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, load_audio
from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.evaluation.haaqi import (
    HAAQI_RATE,
    HaaqiTask,
    make_task,
    processed_signal,
    reference_signals,
)
from remixer_app.core.listener_io import load_listeners
from remixer_app.core.metrics import HaaqiReference, compute_haaqi, haaqi_score

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TOLERANCE = 1e-4
RATE = 44100
REF_RUNS, FAST_RUNS = 2, 3  # timing repeats (best taken)


@dataclass(frozen=True)
class Scene:
    """One agreement scene: previews (end to end), excerpt, listener, gains, compressor."""

    tracks: tuple[int, ...]
    seconds: float
    listener: str
    gains: dict[str, float]
    compressor: bool

    def label(self) -> str:
        gains = ",".join(f"{k}={v:+g}" for k, v in self.gains.items()) or "flat"
        comp = "comp" if self.compressor else "no-comp"
        tracks = "+".join(map(str, self.tracks))
        return f"tracks {tracks} {self.seconds:g}s {self.listener} {gains} {comp}"


SCENES = [
    Scene((0,), 5.0, "L0044", {"vocals": 6.0}, True),
    Scene((3,), 6.0, "L0066", {"vocals": -3.0, "drums": 3.0}, False),
    Scene((7,), 7.0, "L0026", {"bass": 6.0, "other": -6.0}, True),
    Scene((12,), 5.0, "L0001", {}, False),
    Scene((18,), 6.0, "L0010", {"vocals": 10.0, "bass": -6.0}, True),
    Scene((25,), 7.0, "L0070", {"drums": -6.0}, False),
    Scene((31,), 5.0, "L0044", {"other": 4.0}, False),
    Scene((40,), 6.0, "L0066", {"vocals": 3.0}, True),
    Scene((52,), 7.0, "L0026", {"vocals": -6.0, "other": 3.0}, False),
    Scene((63,), 5.0, "L0010", {"bass": -10.0}, False),
    Scene((71,), 6.0, "L0001", {"drums": 6.0}, True),
    Scene((80, 81), 10.0, "L0044", {"vocals": 6.0, "drums": -3.0}, True),
]
QUICK = [0, 2, 11]
SPEED_SCENE = Scene((88, 89), 10.0, "L0026", {"vocals": 6.0, "bass": -3.0}, True)


def _stems(tracks: tuple[int, ...], seconds: float) -> dict[str, np.ndarray]:
    files = sorted((SHARED / "musdb18_7s" / "train").glob("*.stem.mp4"))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in STEM_NAMES}
    for index in tracks:
        stems = load_audio(files[index]).stems
        assert stems is not None
        for name in STEM_NAMES:
            parts[name].append(stems[name])
    frames = int(seconds * RATE)
    return {name: np.concatenate(p)[:frames] for name, p in parts.items()}


def build_task(scene: Scene, listeners: dict[str, Listener],
               compressor: bool | None = None) -> HaaqiTask:
    """The scene's signals at 24 kHz, as the Cadenza evaluation scores them."""
    stems = _stems(scene.tracks, scene.seconds)
    mixture = sum(stems.values())
    listener = listeners[scene.listener]
    reference = reference_signals(stems, mixture, listener, scene.gains)
    engine = HearingAidEngine(stems, listener, mixture=mixture)
    on = scene.compressor if compressor is None else compressor
    settings = ChainSettings(gains_db=scene.gains, compressor=CompressorParams() if on else None)
    processed = processed_signal(engine, settings)
    return make_task(scene.label(), 0, processed, reference, listener)


def _args(task: HaaqiTask, ear: int) -> tuple[Any, ...]:
    return (task.processed[:, ear], task.reference[:, ear], HAAQI_RATE, HAAQI_RATE,
            task.audiograms[ear])


def agreement(scenes: list[Scene], listeners: dict[str, Listener]) -> bool:
    print(f"== agreement: {len(scenes) * 2} cases (each scene, both ears), tolerance "
          f"{TOLERANCE:g}")
    worst, case, rng_ok = 0.0, 0, True
    for scene in scenes:
        task = build_task(scene, listeners)
        for ear, name in enumerate(("left", "right")):
            scores, states = [], []
            for impl in ("reference", "fast"):
                np.random.seed(1000 + case)
                scores.append(haaqi_score(*_args(task, ear), equalisation=2,
                                          level1=task.level1[ear], implementation=impl))
                states.append(np.random.get_state())
            diff = abs(scores[1] - scores[0])
            worst = max(worst, diff)
            same_rng = all(np.array_equal(a, b) for a, b in zip(*states, strict=True))
            rng_ok = rng_ok and same_rng
            print(f"  case {case:2d} {scene.label():52s} {name:5s} pyclarity {scores[0]:.8f} "
                  f"fast {scores[1]:.8f} |diff| {diff:.2e} generator after: "
                  f"{'same' if same_rng else 'DIFFERENT'}", flush=True)
            case += 1
    passed = worst <= TOLERANCE and rng_ok
    print(f"max |diff| over {case} cases: {worst:.3e}; generator states "
          f"{'all equal' if rng_ok else 'DIFFER'} -> {'PASS' if passed else 'FAIL'}")
    return passed


def _timed(fn: Callable[[], float]) -> tuple[float, float, float]:
    """(wall s, CPU s, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _seeded_timed(seed: int, fn: Callable[[], float]) -> tuple[float, float, float]:
    np.random.seed(seed)
    return _timed(fn)


def speed(listeners: dict[str, Listener]) -> None:
    print(f"== speed: {SPEED_SCENE.label()}")
    task = build_task(SPEED_SCENE, listeners)
    other = build_task(SPEED_SCENE, listeners, compressor=False)  # "after a slider move"
    warm = slice(0, HAAQI_RATE)  # compiles (or loads the cached) numba kernels
    compute_haaqi(task.processed[warm, 0], task.reference[warm, 0], HAAQI_RATE, HAAQI_RATE,
                  task.audiograms[0], equalisation=2, level1=task.level1[0])
    print(f"  numba warmed up on 1 s; excerpt {len(task.reference) / HAAQI_RATE:.2f} s at 24 kHz")
    for ear, name in enumerate(("left", "right")):
        level1 = task.level1[ear]
        # Best of a few runs each: the machine may be shared, and a run can only be slowed.
        ref = min(_seeded_timed(ear, lambda e=ear, lv=level1: haaqi_score(
            *_args(task, e), 2, lv, implementation="reference")) for _ in range(REF_RUNS))
        best = min(_seeded_timed(ear, lambda e=ear, lv=level1: compute_haaqi(
            *_args(task, e), 2, lv)) for _ in range(FAST_RUNS))
        build = time.perf_counter()
        cached = HaaqiReference(task.reference[:, ear], HAAQI_RATE, task.audiograms[ear], 2,
                                level1)
        build = time.perf_counter() - build
        rescore = min(_timed(lambda c=cached, e=ear: c.score(other.processed[:, e], HAAQI_RATE))
                      for _ in range(3))
        print(f"  {name:5s} pyclarity {ref[0]:6.2f} s wall ({ref[1]:6.2f} s CPU) | fast "
              f"{best[0]:5.2f} s wall ({best[1]:5.2f} s CPU) | ratio {ref[0] / best[0]:5.1f}x "
              f"wall, {ref[1] / best[1]:5.1f}x CPU | |diff| {abs(ref[2] - best[2]):.1e}")
        print(f"        re-score against a cached reference: {rescore[0]:5.2f} s wall "
              f"({rescore[1]:5.2f} s CPU), {ref[0] / rescore[0]:5.1f}x; the cache took "
              f"{build:.2f} s to build and holds {cached.nbytes / 2**20:.0f} MiB")


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _reset_peak_rss() -> bool:
    """Restart the peak-RSS count here (Linux ``clear_refs`` 5).

    ``ru_maxrss`` cannot be used: a child started by fork counts the parent's pages
    until its exec, so it reports at least the parent's size.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(implementation: str, path: str) -> None:
    """Score the saved left ear once and print the memory figures as JSON."""
    data = np.load(path)
    audiogram = type("Ear", (), {"frequencies": data["freqs"], "levels": data["levels"]})()
    args = (data["processed"], data["reference"], HAAQI_RATE, HAAQI_RATE)
    if implementation == "reference":
        from clarity.evaluator.haaqi import compute_haaqi as clarity_haaqi
        from clarity.utils.audiogram import Audiogram

        audiogram = Audiogram(levels=data["levels"], frequencies=data["freqs"])
        run = clarity_haaqi
    else:
        run = compute_haaqi
    short = (args[0][:HAAQI_RATE], args[1][:HAAQI_RATE], *args[2:])
    run(*short, audiogram, 2, float(data["level1"]))  # imports and jit, not counted
    base = _status_mib("VmRSS")
    exact_peak = _reset_peak_rss()
    tracemalloc.start()
    np.random.seed(0)
    score = run(*args, audiogram, 2, float(data["level1"]))
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    max_rss = (_status_mib("VmHWM") if exact_peak
               else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"score": float(score), "tracemalloc_peak_mib": peak,
                      "rss_growth_mib": max_rss - base, "rss_base_mib": base,
                      "exact_peak": exact_peak}))


def memory(listeners: dict[str, Listener]) -> None:
    print(f"== memory: left ear of {SPEED_SCENE.label()}, each in a fresh process")
    task = build_task(SPEED_SCENE, listeners)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.npz"
        ear = task.audiograms[0]
        np.savez(path, processed=task.processed[:, 0], reference=task.reference[:, 0],
                 freqs=ear.frequencies, levels=ear.levels, level1=task.level1[0])
        for impl in ("reference", "fast"):
            out = subprocess.run([sys.executable, __file__, "--memory-child", impl, str(path)],
                                 capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            caveat = "" if figures["exact_peak"] else " (ru_maxrss: may include the parent)"
            print(f"  {impl:9s} tracemalloc peak {figures['tracemalloc_peak_mib']:7.1f} MiB | "
                  f"peak RSS growth {figures['rss_growth_mib']:7.1f} MiB (over "
                  f"{figures['rss_base_mib']:.0f} MiB after imports){caveat} | score "
                  f"{figures['score']:.8f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 agreement cases, not 24")
    parser.add_argument("--only", choices=("agreement", "speed", "memory"))
    parser.add_argument("--memory-child", nargs=2, metavar=("IMPL", "NPZ"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    if not (SHARED / "musdb18_7s" / "train").is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark needs the MUSDB18 previews")
    listeners = load_listeners(SHARED / "listeners" / "clarity_listeners.json")
    passed = True
    if args.only in (None, "agreement"):
        scenes = [SCENES[i] for i in QUICK] if args.quick else SCENES
        passed = agreement(scenes, listeners)
    if args.only in (None, "speed"):
        speed(listeners)
    if args.only in (None, "memory"):
        memory(listeners)
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
