"""Writing the ensemble files that make trained members usable by name."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from remixer_app.core.atomic import atomic_write
from remixer_app.core.errors import RemixerError
from remixer_app.core.separation.ensemble import ENSEMBLE_SUFFIXES
from remixer_app.core.separation.members import file_sha256
from remixer_app.training.recipes import RECIPES


def ensemble_members(out: Path, members: Sequence[str] | None = None, *,
                     trained: str | None = None) -> list[str]:
    """The members an ensemble file written in ``out`` lists.

    Parameters
    ----------
    members
        Member names to include (default: every recipe whose weights are in ``out``).
    trained
        The member being trained, counted even before its weights are in ``out``: when
        ``out`` holds both instrument and pop members, the ensemble is of its kind.

    Raises
    ------
    FileNotFoundError
        None of the members has weights in ``out``.
    ValueError
        ``members`` mixes instrument members with pop ones.
    """
    names = [m for m in (members or RECIPES)
             if m == trained or (out / f"{m}.safetensors").is_file()]
    if not names:
        raise FileNotFoundError(f"no trained member weights in {out}")
    classical = [n for n in names if n in RECIPES and RECIPES[n].presence]
    if classical and len(classical) != len(names):
        if members:
            raise ValueError("an ensemble cannot mix instrument members "
                             f"({', '.join(classical)}) with vocals/drums/bass/other ones")
        names = (classical if trained is None or trained in classical
                 else [n for n in names if n not in classical])
    return names


def check_nothing_dropped(out: Path, name: str, trained: str) -> None:
    """Refuse to rewrite ``out/NAME.yaml`` after training ``trained`` where the new file
    would lose a member the file lists (one of the other kind, say: instruments vs
    vocals/drums/bass/other), or the file is not an ensemble file at all.

    Raises
    ------
    RemixerError
        Something in the file would be lost; the message says what and how to go on.
    """
    path = out / f"{name}.yaml"
    if not path.exists():
        return
    listed = _read_ensemble(path)
    how = "pass --overwrite to replace it, or choose another --ensemble-name"
    if listed is None:
        raise RemixerError(f"{path} exists and is not an ensemble file: {how}")
    kept = ensemble_members(out, trained=trained)
    lost = [str(m.get("id")) if isinstance(m, dict) else repr(m) for m in listed["members"]
            if not isinstance(m, dict) or m.get("id") not in kept]
    if lost:
        raise RemixerError(f"{path} lists {', '.join(lost)}, which it would lose when "
                           f"rewritten to list {', '.join(kept)} after training: {how}")


def write_ensemble(out: Path, name: str, members: Sequence[str] | None = None, *,
                   trained: str | None = None) -> Path:
    """Write ``out/NAME.yaml`` over the trained members found in ``out``.

    Parameters
    ----------
    members, trained
        As for :func:`ensemble_members`. Each member is listed with its weights file's
        SHA-256 and its recipe's window length, "other" taken as the residual.

    A member whose weights are those the file already lists keeps its entry there
    (weights chosen by ``remixer tune-ensemble``, a segment length set by hand).

    Raises
    ------
    FileNotFoundError
        None of the members has weights in ``out``.
    """
    names = ensemble_members(out, members, trained=trained)
    classical = any(n in RECIPES and RECIPES[n].presence for n in names)
    path = out / f"{name}.yaml"
    old = _read_ensemble(path)
    listed = old["members"] if old is not None else []
    described = ", ".join(f"{n}: {RECIPES[n].architecture}" if n in RECIPES else n
                          for n in names)
    spec: dict[str, Any] = {
        "description": f"Ensemble trained by `remixer train` ({described}), a weighted mean "
                       "per " + ("instrument, over the instruments a track names." if classical
                                 else "stem with 'other' as the residual of the mixture."),
        "members": [_member(n, file_sha256(out / f"{n}.safetensors"), listed) for n in names],
        "residual_other": not classical,
        # Instruments have no residual stem; the remask makes them add up to the mixture
        # instead (on training scenes it beat blending the mixture back, see the card).
        # `tune-ensemble --choose-remask` may turn it off for members that share the
        # mixture out themselves.
        "wiener_remask": classical,
        "mixture_blend": 0.0, "overlap": 0.25, "shifts": 0}
    if classical:
        spec["sources"] = "instruments"
    save_ensemble_data(path, spec)
    return path


def update_checksums(out: Path, member: str, sha256: str) -> list[Path]:
    """Give the ensemble files in ``out`` that list ``member``'s weights file its new
    checksum ``sha256``, keeping everything else in them; returns the files changed.

    Without this, retraining a member would make every other file listing it fail
    its checksum check, as if the weights were damaged.
    """
    weights = (out / f"{member}.safetensors").resolve()
    updated = []
    for path in sorted(out.iterdir()):
        data = _read_ensemble(path) if path.suffix in ENSEMBLE_SUFFIXES else None
        if data is None:
            continue
        changed = False
        for entry in data["members"]:
            if (isinstance(entry, dict) and entry.get("kind") == "safetensors"
                    and isinstance(entry.get("file"), str)
                    and (out / entry["file"]).resolve() == weights
                    and entry.get("sha256") != sha256):
                entry["sha256"] = sha256
                changed = True
        if changed:
            save_ensemble_data(path, data)
            updated.append(path)
    return updated


def save_ensemble_data(path: Path, data: dict[str, Any]) -> None:
    """Write ensemble ``data`` to ``path`` atomically, as JSON for a ``.json`` name and
    as YAML otherwise, replacing the file there."""
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=1) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, width=88)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)


def _read_ensemble(path: Path) -> dict[str, Any] | None:
    """The ensemble file ``path`` as data, or None if it is missing or not an ensemble
    (a member's card or a tuning report is JSON too, without a list of members)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("members"), list):
        return None
    return data


def _member(member: str, sha256: str, listed: Sequence[Any]) -> dict[str, Any]:
    """``member``'s entry: the one in ``listed`` if its weights are these."""
    ours: dict[str, Any] = {"id": member, "kind": "safetensors",
                            "file": f"{member}.safetensors"}
    segment = RECIPES[member].inference_segment if member in RECIPES else None
    if segment is not None:
        ours["segment"] = segment
    for old in listed:
        if isinstance(old, dict) and all(old.get(k) == v for k, v in (
                ("id", member), ("kind", "safetensors"), ("file", ours["file"]),
                ("sha256", sha256))):
            # Files written before the recipes named a segment lack it; `segment: null`
            # set by hand stays.
            return {**ours, **old}
    return {**ours, "sha256": sha256}
