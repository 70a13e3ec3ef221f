"""The evaluation protocol: gains scenarios, default listeners, and which scenes to score.

A scene is (track, listener, gains scenario), as in Cadenza ICASSP 2024. Scoring
every combination costs tracks x listeners x scenarios HAAQI runs, so by default
each track gets one (listener, scenario) pair, chosen so that consecutive tracks
differ in both and every pair occurs once per ``listeners x scenarios`` tracks.
``all_pairs`` scores the full cross product instead.

Only the *differences* between stem gains matter: the remix is loudness-matched to
the mixture afterwards, so "vocals +6 dB" and "drums, bass, other -6 dB" give the
same signal. The shipped scenarios therefore differ in their gain differences.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import RemixerError
from remixer_app.core.paths import resources_dir

GAINS_FORMAT = "remixer-evaluation-gains"
LISTENERS_FORMAT = "remixer-evaluation-listeners"
FORMAT_VERSION = 1
MAX_GAIN_DB = 40.0  # beyond this a "rebalancing" is a mute or a misprint


@dataclass(frozen=True)
class GainsScenario:
    """A rebalancing request: per-stem gains in dB (stems not named get 0 dB)."""

    id: str
    gains_db: dict[str, float]
    description: str = ""


@dataclass(frozen=True)
class Scene:
    """One scored case: a track, a listener and a gains scenario."""

    track: str
    listener: str
    gains: str

    @property
    def id(self) -> str:
        """A unique, stable name; it also seeds HAAQI's noise (:func:`scene_seed`)."""
        return f"{self.track}|{self.listener}|{self.gains}"


def default_gains_file() -> Path:
    """The shipped gains scenarios, ``resources/evaluation/gains.json``."""
    return resources_dir() / "evaluation" / "gains.json"


def default_listeners_file() -> Path:
    """The shipped listener choice, ``resources/evaluation/listeners.json``."""
    return resources_dir() / "evaluation" / "listeners.json"


def _read_json(path: Path, what: str, fmt: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RemixerError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RemixerError(f"cannot read {what} file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RemixerError(f"{what} file {path} is not valid JSON: {exc.msg} at line "
                           f"{exc.lineno}") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise RemixerError(f"{path} is not a {what} file (expected \"format\": \"{fmt}\")")
    if data.get("version") != FORMAT_VERSION:
        raise RemixerError(f"{path}: unsupported version {data.get('version')!r}; expected "
                           f"{FORMAT_VERSION}")
    return data


def _gain(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RemixerError(f"{where} must be a finite number of dB, not {value!r}")
    if abs(value) > MAX_GAIN_DB:
        raise RemixerError(f"{where} = {value:g} dB is beyond +-{MAX_GAIN_DB:g} dB")
    return float(value)


def parse_gains_scenarios(data: dict[str, Any], source: str) -> list[GainsScenario]:
    """Scenarios from a decoded gains file (see ``resources/evaluation/gains.json``).

    Raises
    ------
    RemixerError
        No scenarios, a missing or repeated id, an unknown stem, or a gain that is
        not a finite number within +-40 dB.
    """
    entries = data.get("scenarios")
    if not isinstance(entries, list) or not entries:
        raise RemixerError(f"{source}: \"scenarios\" must be a non-empty list")
    scenarios: list[GainsScenario] = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise RemixerError(f"{source}: scenario {i} must be an object")
        sid = entry.get("id")
        if not isinstance(sid, str) or not sid.strip():
            raise RemixerError(f"{source}: scenario {i} has no id")
        if any(s.id == sid for s in scenarios):
            raise RemixerError(f"{source}: scenario id {sid!r} is used twice")
        gains = entry.get("gains")
        if not isinstance(gains, dict):
            raise RemixerError(f"{source}: scenario {sid!r}: \"gains\" must be an object "
                               "mapping stems to dB")
        unknown = sorted(set(gains) - set(STEM_NAMES))
        if unknown:
            raise RemixerError(f"{source}: scenario {sid!r}: unknown stem(s) "
                               f"{', '.join(unknown)}; stems are {', '.join(STEM_NAMES)}")
        scenarios.append(GainsScenario(
            id=sid, description=str(entry.get("why", "")),
            gains_db={name: _gain(gains.get(name, 0.0), f"{source}: {sid} {name}")
                      for name in STEM_NAMES}))
    return scenarios


def load_gains_scenarios(path: str | os.PathLike[str] | None = None) -> list[GainsScenario]:
    """Read a gains file; the shipped one when ``path`` is None."""
    p = Path(path) if path is not None else default_gains_file()
    return parse_gains_scenarios(_read_json(p, "gains", GAINS_FORMAT), str(p))


def default_listener_ids() -> list[str]:
    """The shipped listener choice (ids in the Clarity listener file), mildest first."""
    p = default_listeners_file()
    data = _read_json(p, "listener choice", LISTENERS_FORMAT)
    try:
        return [str(entry["id"]) for entry in data["listeners"]]
    except (KeyError, TypeError) as exc:
        raise RemixerError(f"{p} is damaged: {exc}") from exc


def pair_for(index: int, num_listeners: int, num_scenarios: int) -> tuple[int, int]:
    """The (listener, scenario) indices of the ``index``-th track.

    Consecutive tracks step both indices by one, so a short run still sees many
    listeners and scenarios; after each ``lcm`` tracks the scenario index shifts by
    one more, which makes every ``num_listeners * num_scenarios`` consecutive tracks
    cover each pair exactly once (also when the two counts share a factor).
    """
    if num_listeners < 1 or num_scenarios < 1:
        raise ValueError("at least one listener and one scenario are needed")
    p = index % (num_listeners * num_scenarios)
    shift = p // math.lcm(num_listeners, num_scenarios)
    return p % num_listeners, (p + shift) % num_scenarios


def assign_scenes(tracks: list[str], listeners: list[str], scenarios: list[str], *,
                  all_pairs: bool = False) -> list[Scene]:
    """The scenes to score, grouped by track in the order of ``tracks``."""
    if all_pairs:
        return [Scene(t, lid, sid) for t in tracks for lid in listeners for sid in scenarios]
    scenes = []
    for i, t in enumerate(tracks):
        li, si = pair_for(i, len(listeners), len(scenarios))
        scenes.append(Scene(t, listeners[li], scenarios[si]))
    return scenes


def scene_seed(scene_id: str) -> int:
    """The recipe's seed for a scene: ``int(md5(scene_id).hexdigest(), 16) % 10**8``."""
    return int(hashlib.md5(scene_id.encode("utf-8")).hexdigest(), 16) % (10**8)
