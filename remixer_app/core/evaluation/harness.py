"""Running an evaluation: separate each track, build each scene's signals, score in parallel.

The main process works through the tracks in order: it loads a track, builds its
plain and at-ear conditions, runs every system on them once (separation is the
only step that may use a GPU, and it must not be duplicated per worker), scores
SDR, and renders each scene's reference and processed signals. Only HAAQI, by far
the slowest step (one to a few s of CPU per second of audio per ear), runs in the
worker processes. Each HAAQI call is seeded from its scene id, so the numbers do
not depend on ``jobs`` or on the order in which workers finish.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.clip import ClipMode
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.evaluation.haaqi import (
    HaaqiTask,
    make_task,
    processed_signal,
    reference_signals,
    score,
)
from remixer_app.core.evaluation.hrir import SpeakerHrirs
from remixer_app.core.evaluation.protocol import GainsScenario, Scene, assign_scenes, scene_seed
from remixer_app.core.evaluation.results import SceneResult
from remixer_app.core.evaluation.sdr import stem_sdrs
from remixer_app.core.evaluation.systems import MIXTURE_ONLY, ORACLE, System
from remixer_app.core.evaluation.tracks import TrackConditions, prepare_track, track_name
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker

_IN_FLIGHT_PER_JOB = 2  # queued tasks per worker: keeps workers busy, bounds memory


@dataclass(frozen=True)
class EvaluationSetup:
    """What to evaluate on: tracks, listeners, gains scenarios and the listening setup.

    Attributes
    ----------
    tracks
        Stem files, in the order scenes are assigned (sorted by name, usually).
    listeners, scenarios
        The listeners and gains scenarios scenes are drawn from.
    hrirs
        Loudspeaker-to-ear responses at 44.1 kHz for the at-ear condition.
    excerpt
        Seconds of each track to use (centred), or None for the whole track.
    compressor, clip
        Hearing-aid settings of the processed side (the reference never has them).
    all_pairs
        Score every (listener, scenario) pair for every track instead of one.
    """

    tracks: tuple[Path, ...]
    listeners: tuple[Listener, ...]
    scenarios: tuple[GainsScenario, ...]
    hrirs: SpeakerHrirs
    excerpt: float | None = None
    compressor: CompressorParams | None = None
    clip: ClipMode = "hard"
    all_pairs: bool = False

    def __post_init__(self) -> None:
        for what, items in (("tracks", self.tracks), ("listeners", self.listeners),
                            ("gains scenarios", self.scenarios)):
            if not items:
                raise ValueError(f"an evaluation needs at least one of the {what}")
        for what, ids in (("listener", [x.id for x in self.listeners]),
                          ("gains scenario", [x.id for x in self.scenarios]),
                          ("track", [track_name(p) for p in self.tracks])):
            if len(set(ids)) != len(ids):
                raise ValueError(f"a {what} is named twice: {', '.join(ids)}")

    def scenes(self) -> list[Scene]:
        """The scenes this setup scores, grouped by track."""
        return assign_scenes([track_name(p) for p in self.tracks],
                             [lst.id for lst in self.listeners],
                             [s.id for s in self.scenarios], all_pairs=self.all_pairs)


class _InlineExecutor(Executor):
    """Runs each task at submission, in this process (``jobs=1``: no pool to start)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever reads the result
            future.set_exception(exc)
        return future


@contextmanager
def _executor(jobs: int) -> Iterator[Executor]:
    if jobs <= 1:
        yield _InlineExecutor()
        return
    # spawn, not fork: the main process may hold torch's threads and GPU context.
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Scoreboard:
    """Collects finished HAAQI scores and reports each completed scene."""

    def __init__(self, scenes: list[Scene], roles: int, progress: ProgressCallback | None,
                 cancelled: CancelCheck | None) -> None:
        self.scenes, self.roles = scenes, roles
        self.tracker = ProgressTracker(len(scenes), progress, cancelled)
        self.scores: dict[tuple[int, str], tuple[float, float]] = {}
        self.finished_roles = [0] * len(scenes)
        self.done = 0

    def add(self, index: int, role: str, ears: tuple[float, float]) -> None:
        self.scores[(index, role)] = ears
        self.finished_roles[index] += 1
        if self.finished_roles[index] == self.roles:
            self.done += 1
            left, right = self.scores[(index, "system")]
            self.tracker.advance(1, f"scene {self.done}/{len(self.scenes)} "
                                    f"{self.scenes[index].id}: HAAQI {(left + right) / 2:.4f}")

    def drain(self, pending: dict[Future[Any], tuple[int, str]], limit: int) -> None:
        """Wait until at most ``limit`` tasks are pending, collecting their scores."""
        while len(pending) > limit:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                index, role = pending.pop(future)
                self.add(index, role, future.result())


def _scene_tasks(setup: EvaluationSetup, track: TrackConditions,
                 estimates: dict[str, dict[str, np.ndarray]], scenes: list[tuple[int, Scene]]
                 ) -> Iterator[tuple[int, str, HaaqiTask]]:
    """The HAAQI task of each (scene, role) of one track, built lazily (they are large)."""
    listeners = {lst.id: lst for lst in setup.listeners}
    scenarios = {s.id: s for s in setup.scenarios}
    engines: dict[str, HearingAidEngine] = {}  # per role, for the current listener
    engines_for = ""
    for index, scene in scenes:
        listener, gains = listeners[scene.listener], scenarios[scene.gains].gains_db
        if listener.id != engines_for:  # scenes come grouped by listener
            engines, engines_for = {}, listener.id
        reference = reference_signals(track.atear.stems, track.atear.mixture, listener, gains)
        settings = ChainSettings(gains_db=gains, compressor=setup.compressor, clip=setup.clip)
        for role, stems in estimates.items():
            if role not in engines:
                engines[role] = HearingAidEngine(stems, listener, mixture=track.atear.mixture)
            processed = processed_signal(engines[role], settings)
            yield index, role, make_task(scene.id, scene_seed(scene.id), processed, reference,
                                         listener)


def evaluate(setup: EvaluationSetup, system: System, *, bounds: bool = False, jobs: int = 1,
             progress: ProgressCallback | None = None, cancelled: CancelCheck | None = None
             ) -> list[SceneResult]:
    """Score ``system`` on every scene of ``setup``.

    Parameters
    ----------
    setup
        Tracks, listeners, scenarios and listening setup.
    system
        The system to score (SDR on both conditions, HAAQI on the at-ear one).
    bounds
        Also score the floor (mixture only) and the ceiling (oracle) on each scene.
    jobs
        Worker processes for HAAQI; 1 scores in this process.
    progress
        Receives a report per track started and per scene scored (fraction = scenes
        scored, with an ETA), on this thread.
    cancelled
        Polled between steps; when it returns True, :class:`~.errors.Cancelled` is
        raised and queued work is dropped.

    Returns
    -------
    list[SceneResult]
        One per scene, in :meth:`EvaluationSetup.scenes` order.
    """
    roles: dict[str, System] = {"system": system}
    if bounds:
        roles.update(floor=MIXTURE_ONLY, ceiling=ORACLE)
    scenes = setup.scenes()
    board = _Scoreboard(scenes, len(roles), progress, cancelled)
    sdrs: dict[str, dict[str, dict[str, float]]] = {}
    with _executor(jobs) as pool:
        pending: dict[Future[Any], tuple[int, str]] = {}
        for t, path in enumerate(setup.tracks, 1):
            board.tracker.report(f"track {t}/{len(setup.tracks)} {track_name(path)}: separating")
            board.tracker.check()
            track = prepare_track(path, setup.hrirs, setup.excerpt)
            estimates = {role: s.estimate(track.atear) for role, s in roles.items()}
            sdrs[track.name] = {
                "plain": stem_sdrs(track.plain.stems, system.estimate(track.plain)),
                "atear": stem_sdrs(track.atear.stems, estimates["system"])}
            mine = [(i, scene) for i, scene in enumerate(scenes) if scene.track == track.name]
            for index, role, task in _scene_tasks(setup, track, estimates, mine):
                pending[pool.submit(score, task)] = (index, role)
                board.drain(pending, _IN_FLIGHT_PER_JOB * jobs)
        board.drain(pending, 0)

    results = []
    for index, scene in enumerate(scenes):
        left, right = board.scores[(index, "system")]
        bound = {role: sum(board.scores[(index, role)]) / 2.0
                 for role in ("floor", "ceiling") if role in roles}
        results.append(SceneResult(
            track=scene.track, listener=scene.listener, gains=scene.gains, system=system.name,
            sdr=sdrs[scene.track], haaqi_left=left, haaqi_right=right,
            haaqi_floor=bound.get("floor"), haaqi_ceiling=bound.get("ceiling")))
    return results
