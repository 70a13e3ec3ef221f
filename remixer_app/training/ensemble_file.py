"""Writing the ensemble file that makes trained members usable by name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from remixer_app.core.atomic import atomic_write
from remixer_app.core.separation.members import file_sha256
from remixer_app.training.recipes import RECIPES


def write_ensemble(out: Path, name: str, members: Sequence[str] | None = None, *,
                   trained: str | None = None) -> Path:
    """Write ``out/NAME.yaml`` over the trained members found in ``out``.

    Parameters
    ----------
    members
        Member names to include (default: every recipe whose weights are in ``out``).
        Each is listed with its weights file's SHA-256, "other" taken as the residual.
    trained
        The member just trained: when ``out`` holds both instrument and pop members,
        the ensemble is of its kind.

    A member whose weights are those the file already lists keeps its entry there
    (weights chosen by ``remixer tune-ensemble``, a segment length set by hand).

    Raises
    ------
    FileNotFoundError
        None of the members has weights in ``out``.
    """
    names = [m for m in (members or RECIPES) if (out / f"{m}.safetensors").is_file()]
    if not names:
        raise FileNotFoundError(f"no trained member weights in {out}")
    classical = [n for n in names if n in RECIPES and RECIPES[n].presence]
    if classical and len(classical) != len(names):
        if members:
            raise ValueError("an ensemble cannot mix instrument members "
                             f"({', '.join(classical)}) with vocals/drums/bass/other ones")
        names = (classical if trained is None or trained in classical
                 else [n for n in names if n not in classical])
        classical = [n for n in names if n in classical]
    listed = ", ".join(f"{n}: {RECIPES[n].architecture}" if n in RECIPES else n for n in names)
    spec: dict[str, Any] = {
        "description": f"Ensemble trained by `remixer train` ({listed}), a weighted mean per "
                       + ("instrument, over the instruments a track names." if classical else
                          "stem with 'other' as the residual of the mixture."),
        "members": [_member(n, file_sha256(out / f"{n}.safetensors"), out / f"{name}.yaml")
                    for n in names],
        "residual_other": not classical,
        # Instruments have no residual stem; the remask makes them add up to the mixture
        # instead (on training scenes it beat blending the mixture back, see the card).
        "wiener_remask": bool(classical),
        "mixture_blend": 0.0, "overlap": 0.25, "shifts": 0}
    if classical:
        spec["sources"] = "instruments"
    path = out / f"{name}.yaml"
    text = yaml.safe_dump(spec, sort_keys=False, width=88)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)
    return path


def _member(member: str, sha256: str, path: Path) -> dict[str, Any]:
    """``member``'s entry: the one in the ensemble file ``path`` if its weights are these."""
    entry = {"id": member, "kind": "safetensors", "file": f"{member}.safetensors",
             "sha256": sha256}
    try:
        listed = yaml.safe_load(path.read_text(encoding="utf-8"))["members"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return entry  # no file yet, or not one of ours
    for old in listed if isinstance(listed, list) else ():
        if isinstance(old, dict) and {k: old.get(k) for k in entry} == entry:
            return old
    return entry
