"""Paired comparison of two systems scored on the same scenes.

Two runs of ``remixer evaluate`` on the same tracks, listeners and gains differ by much
less than either's spread over tracks, because most of that spread is the tracks'
difficulty. Pairing each track (SDR) or scene (HAAQI) with itself takes that away: the
standard error of the mean paired difference says whether a change is more than noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.results import CONDITIONS, SDR_KEYS, SceneResult


@dataclass(frozen=True)
class Difference:
    """One score of systems A and B, and B minus A paired over tracks or scenes.

    ``standard_error`` is that of the mean difference (None with fewer than two pairs).
    """

    metric: str
    pairs: int
    mean_a: float
    mean_b: float
    mean_difference: float
    standard_error: float | None

    @property
    def significant(self) -> bool:
        """Whether the difference is more than twice its standard error."""
        return (self.standard_error is not None
                and abs(self.mean_difference) > 2.0 * self.standard_error)


@dataclass(frozen=True)
class Comparison:
    """B against A: SDR per condition and stem (over tracks), then HAAQI (over scenes)."""

    system_a: str
    system_b: str
    tracks: int
    scenes: int
    differences: tuple[Difference, ...]


def _difference(metric: str, a: np.ndarray, b: np.ndarray) -> Difference:
    delta = b - a
    error = float(np.std(delta, ddof=1) / np.sqrt(delta.size)) if delta.size > 1 else None
    return Difference(metric=metric, pairs=int(delta.size), mean_a=float(np.mean(a)),
                      mean_b=float(np.mean(b)), mean_difference=float(np.mean(delta)),
                      standard_error=error)


def _by_scene(results: Sequence[SceneResult], name: str) -> dict[tuple[str, str, str],
                                                                  SceneResult]:
    if not results:
        raise RemixerError(f"{name} holds no scenes")
    systems = {r.system for r in results}
    if len(systems) != 1:
        raise RemixerError(f"{name} holds results of several systems "
                           f"({', '.join(sorted(systems))}): compare one system with one")
    scenes = {(r.track, r.listener, r.gains): r for r in results}
    if len(scenes) != len(results):
        raise RemixerError(f"{name} holds a scene twice")
    return scenes


def compare(a: Sequence[SceneResult], b: Sequence[SceneResult], *, names: tuple[str, str] = (
        "the first results", "the second results")) -> Comparison:
    """Compare B with A, scene by scene.

    Parameters
    ----------
    a, b
        One system's results each, on the same scenes (track, listener, gains).
    names
        How errors name A and B (their files, say).

    Raises
    ------
    RemixerError
        Either holds no scenes, several systems or a scene twice, or they were scored
        on different scenes (a paired comparison needs the same ones).
    """
    scenes_a, scenes_b = _by_scene(a, names[0]), _by_scene(b, names[1])
    if scenes_a.keys() != scenes_b.keys():
        only_a, only_b = len(scenes_a.keys() - scenes_b), len(scenes_b.keys() - scenes_a)
        raise RemixerError(
            f"{names[0]} and {names[1]} were scored on different scenes ({only_a} only in "
            f"the first, {only_b} only in the second): evaluate both with the same "
            "tracks, listeners and gains")
    keys = sorted(scenes_a)
    per_track: dict[str, tuple[SceneResult, SceneResult]] = {}
    for key in keys:  # an SDR depends on the track only: count it once per track
        per_track.setdefault(key[0], (scenes_a[key], scenes_b[key]))
    differences = []
    for cond in CONDITIONS:
        for stem in SDR_KEYS:
            sdr_a = np.array([ra.sdr[cond][stem] for ra, _ in per_track.values()])
            sdr_b = np.array([rb.sdr[cond][stem] for _, rb in per_track.values()])
            differences.append(_difference(f"SDR {cond} {stem}", sdr_a, sdr_b))
    differences.append(_difference("HAAQI", np.array([scenes_a[k].haaqi for k in keys]),
                                   np.array([scenes_b[k].haaqi for k in keys])))
    return Comparison(system_a=next(iter(scenes_a.values())).system,
                      system_b=next(iter(scenes_b.values())).system, tracks=len(per_track),
                      scenes=len(keys), differences=tuple(differences))
