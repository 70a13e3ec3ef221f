"""Ensembles as data: the JSON/YAML files in ``models/`` that say how stems are made.

An ensemble file names its members (a Demucs-family model by name, or weights of our
own in a safetensors file), how much each member counts for each stem, and
post-processing options: from the Cadenza ICASSP 2024 systems, "other" as the
residual of the mixture minus the other three stems (the winning entry) and a
fraction of the mixture blended back into every stem (USTC used 0.15); and a Wiener
remask that shares the mixture out by the stems' STFT magnitudes, so the stems add up
to the mixture (:mod:`remixer_app.core.separation.remask`)::

    description: Two members, residual other
    members:
      - {id: ht, kind: demucs, model: htdemucs_ft}
      - id: ours
        kind: safetensors
        file: ours.safetensors
        sha256: 9f2c...
        weights: {vocals: 1.0, drums: 0.5, bass: 0.5, other: 0.0}
    residual_other: true
    wiener_remask: false
    mixture_blend: 0.0

A stem's estimate is the weighted mean of the members' estimates of it (members
weighted 0 for a stem are skipped; every stem needs some weight unless it is the
residual). The remask comes next, then blending makes each stem
``(1 - a) * stem + a * mixture``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.errors import SeparationError
from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.core.paths import models_dir, user_data_dir

ENSEMBLE_SUFFIXES = (".yaml", ".yml", ".json")
SOURCE_SETS = {"stems": STEM_NAMES, "instruments": INSTRUMENTS}
MEMBER_KINDS = ("demucs", "safetensors")
DEFAULT_ENSEMBLE = "default"
#: The ensemble that separates a classical track into the instruments the user names.
CLASSICAL_ENSEMBLE = "classical"


@dataclass(frozen=True)
class MemberSpec:
    """One separator in an ensemble.

    Attributes
    ----------
    id
        Unique within the ensemble (used in messages and evaluation tables).
    kind
        ``"demucs"`` (an official or locally installed Demucs model, by name) or
        ``"safetensors"`` (weights of our own, with the architecture in the metadata).
    model
        Demucs model name or signature (``kind == "demucs"``).
    file
        Weights file, absolute (``kind == "safetensors"``).
    sha256
        Expected checksum of ``file``.
    weights
        Weight of this member for each stem.
    segment
        Window in seconds the model is run on, replacing the model's own (shorter
        windows need less look-ahead, so the first stems come sooner); None keeps it.
    """

    id: str
    kind: str
    model: str | None = None
    file: Path | None = None
    sha256: str | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    segment: float | None = None


@dataclass(frozen=True)
class EnsembleSpec:
    """A parsed, validated ensemble file."""

    name: str
    path: Path
    description: str
    members: tuple[MemberSpec, ...]
    residual_other: bool
    mixture_blend: float
    overlap: float
    shifts: int
    sources: tuple[str, ...] = STEM_NAMES
    wiener_remask: bool = False

    @property
    def classical(self) -> bool:
        """Whether this ensemble separates instruments (needs a track's instrument list)."""
        return self.sources == INSTRUMENTS

    def stem_weights(self, stem: str) -> list[tuple[MemberSpec, float]]:
        """The members that contribute to ``stem`` and their weights (all > 0)."""
        return [(m, m.weights[stem]) for m in self.members if m.weights[stem] > 0.0]

    def only(self, member_id: str) -> EnsembleSpec:
        """This ensemble reduced to one member (weight 1 for every stem), keeping the
        residual and blend options, so member and ensemble differ only in the ensembling.

        Raises
        ------
        SeparationError
            No member has that id.
        """
        for member in self.members:
            if member.id == member_id:
                alone = replace(member, weights=dict.fromkeys(self.sources, 1.0))
                return replace(self, name=f"{self.name}[{member_id}]", members=(alone,))
        raise SeparationError(f"ensemble {self.name!r} has no member {member_id!r} (members: "
                              f"{', '.join(m.id for m in self.members)})")

    def fingerprint(self) -> str:
        """A digest of everything in the file that changes the output (not the name)."""
        data = {"members": [[m.kind, m.model, m.sha256, sorted(m.weights.items())]
                            + ([m.segment] if m.segment is not None else [])
                            for m in self.members],
                "residual_other": self.residual_other, "mixture_blend": self.mixture_blend,
                "overlap": self.overlap, "shifts": self.shifts, "sources": self.sources}
        if self.wiener_remask:  # only when on: older ensembles keep their cached stems
            data["wiener_remask"] = True
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def ensemble_folders() -> list[Path]:
    """Where ensembles are looked up by name: the bundled ``models/``, then the user's."""
    return [models_dir(), user_data_dir() / "models"]


def available_ensembles() -> dict[str, Path]:
    """Ensemble name -> file, for every ensemble file in :func:`ensemble_folders`.

    The folders also hold the members' training records and the tuning reports
    (``*.json`` without ``members``): those are not ensembles. A file that cannot be
    read is listed, so that choosing it says what is wrong with it.
    """
    found: dict[str, Path] = {}
    for folder in ensemble_folders():
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if (path.suffix in ENSEMBLE_SUFFIXES and path.stem not in found
                        and _may_be_ensemble(path)):
                    found[path.stem] = path
    return found


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _may_be_ensemble(path: Path) -> bool:
    try:
        data = _read(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError):
        return True
    return not isinstance(data, dict) or "members" in data


def find_ensemble(name_or_path: str | Path) -> Path:
    """The file for an ensemble given by name (see :func:`available_ensembles`) or by path.

    Raises
    ------
    SeparationError
        No such ensemble; the message lists the ones that exist.
    """
    path = Path(name_or_path)
    if path.suffix in ENSEMBLE_SUFFIXES and path.is_file():
        return path
    known = available_ensembles()
    if str(name_or_path) in known:
        return known[str(name_or_path)]
    names = ", ".join(sorted(known)) or "none"
    folders = " or ".join(str(f) for f in ensemble_folders())
    raise SeparationError(f"no ensemble named {str(name_or_path)!r} (available: {names}); "
                          f"ensemble files (.yaml/.json) live in {folders}")


def load_ensemble(name_or_path: str | Path) -> EnsembleSpec:
    """Find, read and validate an ensemble file.

    Raises
    ------
    SeparationError
        The file is missing, unreadable or invalid; the message says what is wrong.
    """
    path = find_ensemble(name_or_path)
    try:
        data = _read(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SeparationError(f"cannot read ensemble file {path}: {exc}") from exc
    return parse_ensemble(data, path)


def parse_ensemble(data: Any, path: Path) -> EnsembleSpec:
    """Validate the parsed content of an ensemble file at ``path``."""
    def fail(problem: str) -> SeparationError:
        return SeparationError(f"ensemble file {path}: {problem}")

    if not isinstance(data, dict):
        raise fail("expected a mapping with a 'members' list")
    unknown = set(data) - {"name", "description", "members", "residual_other",
                           "mixture_blend", "overlap", "shifts", "sources", "wiener_remask"}
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")
    raw_members = data.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        raise fail("'members' must be a non-empty list")
    kind = data.get("sources", "stems")
    if kind not in SOURCE_SETS:
        raise fail(f"'sources' must be one of {', '.join(SOURCE_SETS)}")
    sources = SOURCE_SETS[kind]
    members = tuple(_parse_member(raw, index, path, fail, sources)
                    for index, raw in enumerate(raw_members))
    ids = [m.id for m in members]
    if len(set(ids)) != len(ids):
        raise fail(f"member ids must be unique, got {ids}")
    residual = data.get("residual_other", False)
    blend = data.get("mixture_blend", 0.0)
    remask = data.get("wiener_remask", False)
    overlap = data.get("overlap", 0.25)
    shifts = data.get("shifts", 0)
    if not isinstance(residual, bool):
        raise fail("'residual_other' must be true or false")
    if residual and kind != "stems":
        raise fail("'residual_other' applies to vocals/drums/bass/other ensembles only")
    if not isinstance(remask, bool):
        raise fail("'wiener_remask' must be true or false")
    if not _is_number(blend) or not 0.0 <= blend < 1.0:
        raise fail("'mixture_blend' must be a number in [0, 1)")
    if not _is_number(overlap) or not 0.0 <= overlap < 1.0:
        raise fail("'overlap' must be a number in [0, 1)")
    if not isinstance(shifts, int) or isinstance(shifts, bool) or not 0 <= shifts <= 10:
        raise fail("'shifts' must be an integer from 0 to 10")
    for stem in sources:
        if stem == "other" and residual:
            continue
        if not any(m.weights[stem] > 0.0 for m in members):
            raise fail(f"no member has a positive weight for {stem!r}")
    return EnsembleSpec(name=str(data.get("name", path.stem)), path=path,
                        description=str(data.get("description", "")), members=members,
                        residual_other=residual, mixture_blend=float(blend),
                        overlap=float(overlap), shifts=shifts, sources=sources,
                        wiener_remask=remask)


def _parse_member(raw: Any, index: int, path: Path, fail: Any,
                  sources: tuple[str, ...]) -> MemberSpec:
    if not isinstance(raw, dict):
        raise fail(f"member {index + 1} must be a mapping")
    kind = raw.get("kind")
    if kind not in MEMBER_KINDS:
        raise fail(f"member {index + 1}: 'kind' must be one of {', '.join(MEMBER_KINDS)}")
    allowed = {"id", "kind", "weights", "segment"} | (
        {"model"} if kind == "demucs" else {"file", "sha256"})
    unknown = set(raw) - allowed
    if unknown:
        raise fail(f"member {index + 1}: unknown keys {sorted(unknown)} for kind {kind}")
    weights = _parse_weights(raw.get("weights", {}), index, fail, sources)
    segment = raw.get("segment")
    if segment is not None and (not _is_number(segment) or not 1.0 <= segment <= 60.0):
        raise fail(f"member {index + 1}: 'segment' must be a number of seconds from 1 to 60")
    if kind == "demucs":
        model = raw.get("model")
        if not isinstance(model, str) or not model:
            raise fail(f"member {index + 1}: a demucs member needs 'model' (e.g. htdemucs_ft)")
        return MemberSpec(id=str(raw.get("id", model)), kind=kind, model=model, weights=weights,
                          segment=segment)
    file, digest = raw.get("file"), raw.get("sha256")
    if not isinstance(file, str) or not file:
        raise fail(f"member {index + 1}: a safetensors member needs 'file'")
    if not (isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise fail(f"member {index + 1}: 'sha256' must be the file's 64-digit hex checksum")
    return MemberSpec(id=str(raw.get("id", Path(file).stem)), kind=kind,
                      file=(path.parent / file).resolve(), sha256=digest, weights=weights,
                      segment=segment)


def _parse_weights(raw: Any, index: int, fail: Any, sources: tuple[str, ...]
                   ) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise fail(f"member {index + 1}: 'weights' must map stem names to numbers")
    unknown = set(raw) - set(sources)
    if unknown:
        raise fail(f"member {index + 1}: unknown stems {sorted(unknown)} in 'weights'")
    weights = {stem: raw.get(stem, 1.0) for stem in sources}
    for stem, value in weights.items():
        if not _is_number(value) or value < 0:
            raise fail(f"member {index + 1}: weight for {stem} must be a number >= 0")
    return {stem: float(value) for stem, value in weights.items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
