"""Music source separation: ensembles of separators defined as data.

``load_separator(name)`` reads an ensemble file from ``models/`` (see
:mod:`.ensemble`), loads its members (official Demucs models, downloaded on first use
or placed by hand; or our own safetensors weights) and returns a
:class:`~.separator.Separator` whose ``separate(audio, sr, *, progress, cancelled)``
gives ``{"vocals", "drums", "bass", "other"} -> (frames, 2)`` float32, or, for a
classical ensemble given a track's instrument list, ``{instrument -> (frames, 2)}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from remixer_app.core.errors import RemixerError, SeparationError
from remixer_app.core.instruments import instrument_list
from remixer_app.core.separation.demucs_models import DemucsCatalog
from remixer_app.core.separation.device import resolve_device
from remixer_app.core.separation.ensemble import (
    DEFAULT_ENSEMBLE,
    EnsembleSpec,
    available_ensembles,
    load_ensemble,
)
from remixer_app.core.separation.members import load_member
from remixer_app.core.separation.separator import ArraySink, Leaf, Separator, StemSink

__all__ = ["DEFAULT_ENSEMBLE", "ArraySink", "Separator", "StemSink", "available_ensembles",
           "default_ensemble_help", "import_libraries", "load_separator"]


def load_separator(ensemble: str = DEFAULT_ENSEMBLE, *, device: str = "auto",
                   allow_download: bool | None = None, member: str | None = None,
                   instruments: Sequence[str] | None = None) -> Separator:
    """Load an ensemble by name or file path, ready to separate.

    Parameters
    ----------
    ensemble
        A name from :func:`available_ensembles` or a path to an ensemble file.
    device
        ``auto``, ``cpu``, ``cuda[:N]`` or ``mps``; unavailable devices fall back to the
        CPU (the reason is in ``Separator.warnings``).
    allow_download
        Whether missing official weights may be downloaded (default: unless
        ``REMIXER_OFFLINE`` is set).
    member
        Run only this member of the ensemble (see :meth:`EnsembleSpec.only`), to compare
        the ensemble with its members.
    instruments
        The instruments playing (2-5 of ``INSTRUMENTS``), required by a classical
        ensemble (``sources: instruments``) and refused by the others: the stems are
        then these instruments.

    Raises
    ------
    SeparationError
        Unknown ensemble, invalid file, or weights missing/corrupt (the message says
        which files are needed and where they go).
    """
    if ensemble == DEFAULT_ENSEMBLE and DEFAULT_ENSEMBLE not in available_ensembles():
        raise SeparationError(default_ensemble_help())
    spec = load_ensemble(ensemble)
    if member is not None:
        spec = spec.only(member)
    stems = _stems_for(spec, instruments)
    chosen, warning = resolve_device(device)
    leaves: list[Leaf] = []
    problems: list[str] = []
    for spec_member in spec.members:  # try all, so one message lists everything missing
        try:
            model = load_member(spec_member, allow_download=allow_download)
        except SeparationError as exc:
            problems.append(str(exc))
            continue
        leaves.extend(_expand(spec_member.id, model, dict(spec_member.weights)))
    if problems:
        raise SeparationError(f"ensemble {spec.name!r} cannot be loaded: " + " ".join(problems))
    # A model weighted 0 for every stem it would estimate here (a classical member tuned
    # off for these instruments; "other" when it is the residual) would run for nothing.
    estimated = set(stems) - ({"other"} if spec.residual_other else set())
    leaves = [leaf for leaf in leaves
              if any(leaf.weights.get(stem, 0.0) > 0.0 for stem in estimated)]
    try:
        for leaf in leaves:
            leaf.model.to(chosen)
    except (RuntimeError, AssertionError) as exc:  # torch raises both for absent devices
        warning = f"cannot use {chosen} ({exc}); separating on the CPU"
        chosen = "cpu"
        for leaf in leaves:
            leaf.model.to(chosen)
    for leaf in leaves:
        if hasattr(leaf.model, "set_present"):
            leaf.model.set_present(stems if spec.classical else None)
    separator = Separator(spec, leaves, _identity(spec), chosen, stems)
    if warning:
        separator.warnings.append(warning)
    return separator


def _stems_for(spec: EnsembleSpec, instruments: Sequence[str] | None) -> tuple[str, ...]:
    if not spec.classical:
        if instruments is not None:
            raise SeparationError(f"ensemble {spec.name!r} separates vocals, drums, bass and "
                                  "other, not instruments; choose a classical ensemble")
        return spec.sources
    if instruments is None:
        raise SeparationError(f"ensemble {spec.name!r} separates instruments: say which "
                              "instruments play (2 to 5; --instruments NAME,...)")
    try:
        return instrument_list(instruments)
    except RemixerError as exc:
        raise SeparationError(str(exc)) from exc


def import_libraries() -> None:
    """Import torch and demucs, which separating needs and nothing else does.

    The first import takes seconds, and while it loads torch's shared libraries it holds
    the GIL for about half a second, stalling every other thread: the app calls this on
    a worker at start-up rather than in the middle of its first separation.
    """
    import demucs.apply  # noqa: F401
    import demucs.hdemucs  # noqa: F401
    import torch  # noqa: F401


def default_ensemble_help() -> str:
    """What to do when the embedded default ensemble is not installed."""
    others = sorted(n for n in available_ensembles() if n != DEFAULT_ENSEMBLE)
    return ("the default separation ensemble (models/default.yaml with its trained weights) "
            "is not installed in this copy, so nothing can be separated without choosing an "
            f"ensemble. Available: {', '.join(others) or 'none'}. The Demucs ensembles need "
            "the official weights, downloaded on first use when online, or placed by hand "
            "in the folder the error names; see models/README.md")


def _expand(member_id: str, model: Any, weights: dict[str, float]) -> list[Leaf]:
    """Split a demucs bag into its models, sharing the member's weights as demucs does."""
    from demucs.apply import BagOfModels

    if not isinstance(model, BagOfModels):
        return [Leaf(member_id, model, weights)]
    sources = list(model.sources)
    totals = [sum(w[k] for w in model.weights) for k in range(len(sources))]
    leaves = []
    for index, (sub, bag_weights) in enumerate(zip(model.models, model.weights, strict=True)):
        share = {s: weights.get(s, 0.0) * bag_weights[k] / totals[k]
                 for k, s in enumerate(sources) if totals[k] > 0}
        leaves.append(Leaf(f"{member_id}[{index}]", sub, share))
    return leaves


def _identity(spec: EnsembleSpec) -> str:
    """Ensemble name plus a digest of its definition and of every weights file."""
    digest = hashlib.sha256(spec.fingerprint().encode())
    catalog: DemucsCatalog | None = None
    for member in spec.members:
        if member.kind == "demucs":
            catalog = catalog or DemucsCatalog()
            digest.update(" ".join(catalog.files_for(str(member.model)).files).encode())
    return f"{spec.name}@{digest.hexdigest()[:16]}"
