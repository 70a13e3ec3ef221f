"""Per-stem ensemble weights chosen on training tracks.

Members differ in what they do well (a waveform model may get the bass, a mask model the
vocals), so each stem gets its own member weights. Every member separates each tuning
track once, from the plain mixture and from the at-ear mixture, without the ensemble's
post-processing. Weights are then scored cheaply, by mixing those stored estimates and
post-processing the mix exactly as the ensemble does (residual "other", remask,
mixture blend: :mod:`remixer_app.core.separation.postprocess`), by the sum over stems
of each stem's mean SDR over the mixtures. With a remask every stem's estimate depends
on every stem's weights, so the weights are found by rounds of coordinate ascent: from
the best member alone, each stem in turn takes the best weights of a grid on the
simplex, until a round changes nothing. With a residual "other", only vocals, drums and
bass are tuned. Each stem is tuned on the tracks where it plays: a classical
ensemble's instruments on the tracks that name them, a pop stem where it has at least
1e-5 of its mixture's energy (-50 dB). A silent stem's SDR measures only what leaks
into it, tens of dB below any other, so one instrumental track would decide the vocals
weights. Asked to (``choose_remask``), it tunes the weights with the remask and without
it and keeps whichever setting scores the higher sum: a member whose own masks share
the mixture out may lose by being remasked. The weights (and that choice) are written
into the ensemble file, and into ``NAME.tuning.json`` beside it the scores of every
member alone and of the ensemble with the written weights: what it scores on those
mixtures.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
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
from remixer_app.core.separation.ensemble import EnsembleSpec, find_ensemble, load_ensemble
from remixer_app.core.separation.postprocess import postprocess_track
from remixer_app.training.data import find_tracks, load_track
from remixer_app.training.ensemble_file import save_ensemble_data

Mixture = tuple[np.ndarray, dict[str, np.ndarray]]  # mixture, true stems
MAX_ROUNDS = 4  # of tuning every stem in turn
#: A stem with less energy than this share of its mixture's (-50 dB) does not play.
AUDIBLE = 1e-5
Weights = Mapping[str, Sequence[float]]  # stem -> one weight per member


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
                  steps: int = 10, choose_remask: bool = False,
                  log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Choose and write per-stem member weights (and, with ``choose_remask``, whether
    to remask); returns the report also saved as JSON."""
    path = find_ensemble(ensemble)
    spec = load_ensemble(path)
    ids = [m.id for m in spec.members]
    stems = [s for s in spec.sources if s != "other" or not spec.residual_other]
    mixtures = tuning_mixtures(data, limit, hrir)
    per_track = 1 if hrir is None else 2  # a track's plain mixture, then its at-ear one
    # Decided on the plain mixture, so that a track counts for both or neither.
    plays = [[stem for stem in stems if _plays(*mixtures[i - i % per_track], stem)]
             for i in range(len(mixtures))]
    playing = {stem: [i for i, found in enumerate(plays) if stem in found] for stem in stems}
    tuned = [stem for stem in stems if playing[stem]]  # the others keep the file's weights
    if not tuned:
        raise RemixerError(f"the tracks in {data} hold none of the stems ensemble "
                           f"{spec.name!r} separates ({', '.join(stems)}), or only silent ones: "
                           "nothing to tune")
    for stem in stems:
        if not playing[stem]:
            log(f"{stem}: silent in every track; its weights stay as they are")
    log(f"tuning {len(ids)} members on {len(mixtures)} mixtures from {data}")
    estimates = []  # per member, per mixture: {stem: estimate before post-processing}
    for member in ids:
        estimates.append([_separator(path, member, tuple(truth) if spec.classical else None)
                          .without_postprocessing().separate(mix, TARGET_RATE)
                          for mix, truth in mixtures])
        log(f"separated with {member}")
    # A stem's weights change the remask of every mixture the ensemble separates it from.
    affected = {stem: [i for i, out in enumerate(estimates[0]) if stem in out] for stem in tuned}

    def tuned_for(spec: EnsembleSpec) -> tuple[dict[str, tuple[float, ...]],
                                                dict[str, float], list[dict[str, float]]]:
        """The weights chosen for ``spec``'s post-processing, their mean SDRs per stem,
        and every member's alone."""

        def scores(weights: Weights, indices: Sequence[int]) -> dict[int, dict[str, float]]:
            """SDR of every tuned stem of mixtures ``indices`` from ``spec`` with ``weights``."""
            found = {}
            for i in indices:
                out = ensemble_stems(spec, mixtures[i][0],
                                     [member[i] for member in estimates], weights)
                found[i] = {s: sdr(mixtures[i][1][s], out[s]) for s in plays[i]}
            return found

        def mean_sdrs(weights: Weights) -> dict[str, float]:
            found = scores(weights, range(len(mixtures)))
            return {s: float(np.mean([found[i][s] for i in playing[s]])) for s in tuned}

        def objective(weights: Weights, indices: Sequence[int]) -> float:
            """The share of mixtures ``indices`` in the sum of the tuned stems' mean SDRs."""
            return sum(value / len(playing[s]) for row in scores(weights, indices).values()
                       for s, value in row.items())

        one_hot = [tuple(float(k == m) for k in range(len(ids))) for m in range(len(ids))]
        alone = [mean_sdrs(dict.fromkeys(stems, weights)) for weights in one_hot]
        best = max(range(len(ids)), key=lambda m: sum(alone[m].values()))
        chosen = {stem: one_hot[best] if stem in tuned else
                  _shares([m.weights[stem] for m in spec.members]) for stem in stems}
        grid = simplex_grid(len(ids), steps)
        for round_ in range(1, MAX_ROUNDS + 1):
            changed = False
            for stem in tuned:
                value = {w: objective({**chosen, stem: w}, affected[stem]) for w in grid}
                pick = chosen[stem]  # on the grid; kept on a tie, so that the rounds end
                for weights in grid:
                    if value[weights] > value[pick]:
                        pick = weights
                changed |= pick != chosen[stem]
                chosen[stem] = pick
            log(f"round {round_}: {'changed' if changed else 'no change'}")
            if not changed:
                break
        return chosen, mean_sdrs(chosen), alone

    settings = (True, False) if choose_remask else (spec.wiener_remask,)
    found = {remask: tuned_for(replace(spec, wiener_remask=remask)) for remask in settings}
    totals = {"on" if r else "off": sum(result[1].values()) for r, result in found.items()}
    if choose_remask:
        log(f"sum of the stems' mean SDRs: remask on {totals['on']:.2f} dB, "
            f"off {totals['off']:.2f} dB")
    # The file's setting wins a tie.
    remask = max(found, key=lambda r: (totals["on" if r else "off"], r == spec.wiener_remask))
    chosen, final, alone = found[remask]
    report: dict[str, Any] = {"tracks": len(mixtures) // per_track,
                              "mixtures": len(mixtures), "wiener_remask": remask,
                              "stems": {}}
    if choose_remask:
        report["remask_sdr_sums"] = totals
    for stem in tuned:
        members = {member: alone[m][stem] for m, member in enumerate(ids)}
        shares = dict(zip(ids, chosen[stem], strict=True))
        report["stems"][stem] = {"tracks": len(playing[stem]) // per_track,
                                 "members_alone_sdr": members, "weights": shares,
                                 "ensemble_sdr": final[stem]}
        log(f"{stem}: weights {shares} SDR {final[stem]:.2f} dB "
            f"(alone: {', '.join(f'{k} {v:.2f}' for k, v in members.items())})")
    _write_weights(path, ids, {stem: chosen[stem] for stem in tuned}, spec.sources, remask)
    report_path = path.with_name(f"{path.stem}.tuning.json")
    atomic_write(report_path, lambda tmp: tmp.write_text(json.dumps(report, indent=1) + "\n"),
                 overwrite=True)
    return report


def ensemble_stems(spec: EnsembleSpec, mix: np.ndarray,
                   members: Sequence[Mapping[str, np.ndarray]], weights: Weights
                   ) -> dict[str, np.ndarray]:
    """What ensemble ``spec`` with member ``weights`` gives for ``mix``.

    Parameters
    ----------
    spec
        The ensemble, for its post-processing.
    mix
        The mixture at 44.1 kHz, ``(frames, 2)``.
    members
        Each member's stems for ``mix`` before post-processing
        (:meth:`Separator.without_postprocessing`), in the order of ``weights``.
    weights
        Stem -> one weight per member, summing to 1; a stem without weights (the
        residual "other") is made by the post-processing.
    """
    means = {stem: np.zeros_like(first) for stem, first in members[0].items()}
    for stem, mean in means.items():
        if stem in weights:  # else the residual "other", which the post-processing makes
            for share, member in zip(weights[stem], members, strict=True):
                if share > 0:
                    mean += np.float32(share) * member[stem]
    return postprocess_track(spec, np.ascontiguousarray(mix, np.float32), means)


def _shares(weights: Sequence[float]) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(w / total for w in weights)


def _plays(mix: np.ndarray, truth: Mapping[str, np.ndarray], stem: str) -> bool:
    """Whether ``stem`` is in the track and audible in its mixture ``mix``."""
    if stem not in truth:
        return False
    energy = float(np.sum(np.square(truth[stem], dtype=np.float64)))
    return energy > AUDIBLE * float(np.sum(np.square(mix, dtype=np.float64)))


def _separator(path: Path, member: str, instruments: tuple[str, ...] | None) -> Separator:
    return load_separator(str(path), device="cpu", member=member, instruments=instruments)


def _write_weights(path: Path, ids: list[str], chosen: dict[str, tuple[float, ...]],
                   sources: tuple[str, ...], remask: bool) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if remask or "wiener_remask" in data:
        data["wiener_remask"] = remask
    for m, member in enumerate(data["members"]):
        assert member.get("id", ids[m]) == ids[m]
        # A residual "other" is not tuned: its weights do not matter, 1 keeps it valid.
        old = member.get("weights", {})
        member["weights"] = {stem: round(chosen[stem][m], 4) if stem in chosen
                             else old.get(stem, 1.0) for stem in sources}
    save_ensemble_data(path, data)  # in the format it had
