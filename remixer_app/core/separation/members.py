"""Turning an ensemble member into a ready separator model.

Demucs members come from :mod:`demucs_models`. Our own members are safetensors files
whose metadata names the architecture and its constructor arguments; the
architecture must be one registered here, so loading never unpickles arbitrary code
and never imports a module named by the file. The file's SHA-256 is checked against
the ensemble file before anything is read.

Every model returned follows the protocol ``demucs.apply.apply_model`` expects:
``sources`` (stem names), ``samplerate``, ``audio_channels``, ``segment`` (seconds)
and ``forward(mix[batch, channels, time]) -> [batch, sources, channels, time]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from remixer_app.core.atomic import atomic_write
from remixer_app.core.errors import SeparationError
from remixer_app.core.separation.demucs_models import load_demucs_model
from remixer_app.core.separation.ensemble import MemberSpec

FORMAT = "remixer-separator/1"


def _model_class(module: str, name: str) -> Callable[..., Any]:
    def build(**config: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(**config)

    return build


ARCHITECTURES: dict[str, Callable[..., Any]] = {
    "demucs": _model_class("demucs.demucs", "Demucs"),
    "hdemucs": _model_class("demucs.hdemucs", "HDemucs"),
    "htdemucs": _model_class("demucs.htdemucs", "HTDemucs"),
    "tfc_tdf_unet": _model_class("remixer_app.core.separation.tfc_tdf", "TfcTdfUNet"),
    "conv_tasnet": _model_class("remixer_app.core.separation.conv_tasnet", "ConvTasNet"),
    "dictionary_nmf": _model_class("remixer_app.core.separation.dictionary_nmf",
                                   "DictionaryNmf"),
}


def register_architecture(name: str, build: Callable[..., Any]) -> None:
    """Make architecture ``name`` loadable from safetensors (``build(**config)``)."""
    ARCHITECTURES[name] = build


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def save_member(model: Any, path: Path, architecture: str, config: Mapping[str, Any]) -> str:
    """Save ``model``'s weights as a member file; returns its SHA-256 for the ensemble file.

    ``model`` must have been built as ``ARCHITECTURES[architecture](**config)``.
    """
    from safetensors.torch import save

    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "architecture": architecture,
                "config": json.dumps(dict(config), sort_keys=True)}
    blob = canonical_safetensors(save(state, metadata=metadata))
    atomic_write(path, lambda tmp: tmp.write_bytes(blob), overwrite=True)
    return file_sha256(path)


def canonical_safetensors(blob: bytes) -> bytes:
    """``blob`` with its JSON header's keys sorted, so equal weights give equal files.

    safetensors writes the header from a hash map, in an order that changes from run to
    run (and with it the file's SHA-256). The sorted header has the same length, so the
    tensor offsets and the padding stay as they are.
    """
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("ascii")
    if len(text) > size:  # not the compact JSON safetensors writes: leave it alone
        return blob
    return blob[:8] + text.ljust(size, b" ") + blob[8 + size:]


def load_member(member: MemberSpec, *, allow_download: bool | None = None) -> Any:
    """Load the model of one ensemble member, in eval mode on the CPU.

    Raises
    ------
    SeparationError
        The weights are missing, fail their checksum, or do not fit the architecture.
    """
    from remixer_app.core.separation.native_convs import native_transposed_convs

    if member.kind == "demucs":
        assert member.model is not None
        model = load_demucs_model(member.model, allow_download=allow_download)
    else:
        assert member.file is not None and member.sha256 is not None
        model = _load_safetensors(member.id, member.file, member.sha256)
    if member.segment is not None:
        for sub in getattr(model, "models", [model]):  # a demucs bag: every model in it
            sub.segment = Fraction(member.segment).limit_denominator(1000)
    return native_transposed_convs(model)


def read_member_file(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """A member file's metadata and tensors, without building a model.

    Raises
    ------
    SeparationError
        The file cannot be read as safetensors.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        return metadata, load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise SeparationError(f"cannot read {path}: {exc}") from exc


def _load_safetensors(member_id: str, path: Path, sha256: str) -> Any:
    if not path.is_file():
        raise SeparationError(f"member {member_id!r}: weights file {path} is missing")
    actual = file_sha256(path)
    if actual != sha256:
        raise SeparationError(f"member {member_id!r}: {path} does not match its checksum in "
                              "the ensemble file (damaged or replaced); restore the file")
    try:
        metadata, state = read_member_file(path)
    except SeparationError as exc:
        raise SeparationError(f"member {member_id!r}: {exc}") from exc
    architecture = metadata.get("architecture")
    if metadata.get("format") != FORMAT or architecture not in ARCHITECTURES:
        raise SeparationError(f"member {member_id!r}: {path} is not a remixer separator "
                              f"file of a known architecture ({sorted(ARCHITECTURES)})")
    try:
        config = json.loads(metadata.get("config", "{}"))
        model = ARCHITECTURES[architecture](**config)
        model.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise SeparationError(f"member {member_id!r}: weights in {path} do not fit "
                              f"architecture {architecture}: {exc}") from exc
    model.eval()
    return model
