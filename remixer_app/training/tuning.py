"""Per-stem ensemble weights chosen on training tracks.

Members differ in what they do well (a waveform model may get the bass, a mask model the
vocals), so each stem gets its own member weights. Every member separates each tuning
track once, from the plain mixture and from the at-ear mixture; then every weight vector
on a grid over the simplex is scored by the mean SDR over those mixtures, cheaply, by
mixing the stored estimates (with a residual "other", only vocals, drums and bass are
tuned; a classical ensemble is tuned per instrument, on the tracks where it plays). The
best weights are written into the ensemble file, and the scores of every member alone
and of the chosen weights into ``NAME.tuning.json`` beside it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import TARGET_RATE
from remixer_app.core.errors import RemixerError
from remixer_app.core.evaluation.at_ear import at_ear
from remixer_app.core.evaluation.hrir import load_speaker_hrirs
from remixer_app.core.evaluation.sdr import sdr
from remixer_app.core.separation import Separator, load_separator
from remixer_app.core.separation.ensemble import find_ensemble, load_ensemble
from remixer_app.training.data import find_tracks, load_track

Mixture = tuple[np.ndarray, dict[str, np.ndarray]]  # mixture, true stems


def simplex_grid(members: int, steps: int) -> list[tuple[float, ...]]:
    """Weight vectors ``k / steps`` that sum to 1, for ``members`` members."""
    return [tuple(k / steps for k in (*cut, steps - sum(cut)))
            for cut in itertools.product(range(steps + 1), repeat=members - 1)
            if sum(cut) <= steps]


def tuning_mixtures(data: Path, limit: int, hrir: Path | None) -> list[Mixture]:
    """The first ``limit`` tracks' plain (and at-ear, given ``hrir``) mixtures."""
    hrirs = load_speaker_hrirs(hrir, 30.0, TARGET_RATE) if hrir is not None else None
    mixtures: list[Mixture] = []
    for path in find_tracks(data)[:limit]:
        stems = load_track(path)
        mixtures.append((np.sum(list(stems.values()), axis=0), stems))
        if hrirs is not None:
            ear_stems, ear_mix = at_ear(stems, hrirs)
            mixtures.append((ear_mix.astype(np.float32), ear_stems))
    return mixtures


def tune_ensemble(ensemble: str, data: Path, *, limit: int = 24, hrir: Path | None = None,
                  steps: int = 10, log: Callable[[str], None] = lambda _m: None
                  ) -> dict[str, Any]:
    """Choose and write per-stem member weights; returns the report also saved as JSON."""
    path = find_ensemble(ensemble)
    spec = load_ensemble(path)
    ids = [m.id for m in spec.members]
    stems = [s for s in spec.sources if s != "other" or not spec.residual_other]
    mixtures = tuning_mixtures(data, limit, hrir)
    if not any(stem in truth for _, truth in mixtures for stem in stems):
        raise RemixerError(f"the tracks in {data} hold none of the stems ensemble "
                           f"{spec.name!r} separates ({', '.join(stems)}): nothing to tune")
    log(f"tuning {len(ids)} members on {len(mixtures)} mixtures from {data}")
    estimates = []  # per member, per mixture: {stem: estimate}
    for member in ids:
        estimates.append([_separator(path, member, tuple(truth) if spec.classical else None)
                          .separate(mix, TARGET_RATE) for mix, truth in mixtures])
        log(f"separated with {member}")
    report: dict[str, Any] = {"tracks": len(mixtures) // (1 if hrir is None else 2),
                              "mixtures": len(mixtures), "stems": {}}
    chosen: dict[str, tuple[float, ...]] = {}
    for stem in stems:
        scores = {}
        playing = [i for i, (_, truth) in enumerate(mixtures) if stem in truth]
        if not playing:
            continue  # an instrument absent from the tuning tracks keeps its weights
        for weights in simplex_grid(len(ids), steps):
            values = [sdr(mixtures[i][1][stem], np.sum([w * estimates[m][i][stem] for m, w in
                                                        enumerate(weights) if w > 0], axis=0))
                      for i in playing]
            scores[weights] = float(np.mean(values))
        best = max(scores, key=lambda w: scores[w])
        chosen[stem] = best
        alone = {member: scores[tuple(float(k == m) for k in range(len(ids)))]
                 for m, member in enumerate(ids)}
        report["stems"][stem] = {"members_alone_sdr": alone, "weights": dict(zip(ids, best,
                                                                                  strict=True)),
                                 "ensemble_sdr": scores[best]}
        log(f"{stem}: weights {dict(zip(ids, best, strict=True))} SDR {scores[best]:.2f} dB "
            f"(alone: {', '.join(f'{k} {v:.2f}' for k, v in alone.items())})")
    _write_weights(path, ids, chosen, spec.sources)
    report_path = path.with_name(f"{path.stem}.tuning.json")
    atomic_write(report_path, lambda tmp: tmp.write_text(json.dumps(report, indent=1) + "\n"),
                 overwrite=True)
    return report


def _separator(path: Path, member: str, instruments: tuple[str, ...] | None) -> Separator:
    return load_separator(str(path), device="cpu", member=member, instruments=instruments)


def _write_weights(path: Path, ids: list[str], chosen: dict[str, tuple[float, ...]],
                   sources: tuple[str, ...]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for m, member in enumerate(data["members"]):
        assert member.get("id", ids[m]) == ids[m]
        # A residual "other" is not tuned: its weights do not matter, 1 keeps it valid.
        old = member.get("weights", {})
        member["weights"] = {stem: round(chosen[stem][m], 4) if stem in chosen
                             else old.get(stem, 1.0) for stem in sources}
    if path.suffix.lower() == ".json":  # an ensemble file keeps its format
        text = json.dumps(data, indent=1) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, width=88)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)
