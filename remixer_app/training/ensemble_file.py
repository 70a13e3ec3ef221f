"""Writing the ensemble file that makes trained members usable by name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from remixer_app.core.atomic import atomic_write
from remixer_app.core.separation.members import file_sha256
from remixer_app.training.recipes import RECIPES


def write_ensemble(out: Path, name: str, members: Sequence[str] | None = None) -> Path:
    """Write ``out/NAME.yaml`` over the trained members found in ``out``.

    Parameters
    ----------
    members
        Member names to include (default: every recipe whose weights are in ``out``).
        Each is listed with its weights file's SHA-256, "other" taken as the residual.

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
        names = classical  # the instrument members just trained; the others stay as they are
    listed = ", ".join(f"{n}: {RECIPES[n].architecture}" if n in RECIPES else n for n in names)
    spec: dict[str, Any] = {
        "description": f"Ensemble trained by `remixer train` ({listed}), a weighted mean per "
                       + ("instrument, over the instruments a track names." if classical else
                          "stem with 'other' as the residual of the mixture."),
        "members": [{"id": n, "kind": "safetensors", "file": f"{n}.safetensors",
                     "sha256": file_sha256(out / f"{n}.safetensors")} for n in names],
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
