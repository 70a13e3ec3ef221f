"""Mix settings as versioned JSON-ready data, for sessions and saved preferences.

Version 2 names the track's stems (``"stems"``) and the hearing aid; gains stay a
mapping of stem name to dB. Version 1 documents (the pop stems, NAL-R) still load.
"""

from __future__ import annotations

import math
import reprlib
import sys
from dataclasses import asdict
from dataclasses import fields as dataclass_fields
from typing import Any

from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE
from remixer_app.core.dsp.clip import CLIP_MODES
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.errors import RemixerError, is_newer_version, newer_version_text
from remixer_app.core.instruments import HEARING_AIDS, default_hearing_aid
from remixer_app.core.listener_json import listener_to_dict, parse_listeners
from remixer_app.core.mix_state import MixState, NewerSettingsError, SettingsError

FORMAT_NAME = "remixer-mix"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: before stem sets and hearing aids (pop stems, NAL-R)


_PARAM_NAMES = tuple(f.name for f in dataclass_fields(CompressorParams))
_KEYS = {"format", "version", "stems", "gains_db", "muted", "soloed", "compressor",
         "hearing_aid", "clip", "listener"}
_KEYS_V1 = _KEYS - {"stems", "hearing_aid"}


def state_to_dict(state: MixState) -> dict[str, Any]:
    """``state`` as JSON-ready data: ``{"format": "remixer-mix", "version": 2, ...}``."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "stems": list(state.stems),
        "gains_db": dict(state.gains_db),
        "muted": [s for s in state.stems if s in state.muted],
        "soloed": [s for s in state.stems if s in state.soloed],
        "compressor": {"enabled": state.compressor_on, **asdict(state.compressor)},
        "hearing_aid": state.hearing_aid,
        "clip": state.clip,
        "listener": None if state.listener is None else listener_to_dict(state.listener),
    }


def _is_number(value: object) -> bool:
    """Whether ``value`` is a JSON number that a float holds (JSON integers have no limit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, float) or abs(value) <= sys.float_info.max


def _stem_names(data: dict[str, Any], source: str) -> tuple[str, ...]:
    value = data.get("stems", list(STEM_NAMES))
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v for v in value) or len(set(value)) < len(value)):
        raise SettingsError(f"{source}: stems must be a list of different stem names, "
                            f"not {value!r}")
    return tuple(value)


def _stems(data: dict[str, Any], key: str, source: str, stems: tuple[str, ...]
           ) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(v in stems for v in value):
        raise SettingsError(f"{source}: {key} must be a list of stem names "
                            f"({', '.join(stems)}), not {value!r}")
    return frozenset(value)


def _gains(data: dict[str, Any], source: str, stems: tuple[str, ...]) -> dict[str, float]:
    gains = data.get("gains_db", {})
    if not isinstance(gains, dict):
        raise SettingsError(f"{source}: gains_db must be an object mapping stem to dB")
    for stem, db in gains.items():
        if stem not in stems:
            raise SettingsError(f"{source}: unknown stem {stem!r} in gains_db; stems are "
                                f"{', '.join(stems)}")
        if not _is_number(db) or not math.isfinite(db):
            raise SettingsError(f"{source}: the gain of {stem} must be a finite number of dB, "
                                f"not {reprlib.repr(db)}")
    return gains


def _compressor(data: dict[str, Any], source: str) -> tuple[bool, CompressorParams]:
    comp = data.get("compressor", {})
    if not isinstance(comp, dict):
        raise SettingsError(f"{source}: compressor must be an object")
    enabled = comp.get("enabled", False)
    if not isinstance(enabled, bool):
        raise SettingsError(f"{source}: compressor.enabled must be true or false")
    params = {k: v for k, v in comp.items() if k != "enabled"}
    for key, value in params.items():
        if key not in _PARAM_NAMES:
            raise SettingsError(f"{source}: unknown compressor setting {key!r}; known: "
                                f"{', '.join(_PARAM_NAMES)}")
        if not _is_number(value):
            raise SettingsError(f"{source}: compressor.{key} must be a finite number, not "
                                f"{reprlib.repr(value)}")
    try:
        compressor = CompressorParams(**params)
        compressor.check_rate(TARGET_RATE)  # the rate it runs at; refused here, not mid-play
    except ValueError as exc:
        raise SettingsError(f"{source}: {exc}") from None
    return enabled, compressor


def state_from_dict(data: object, *, source: str = "mix settings") -> MixState:
    """Read a :func:`state_to_dict` document back.

    Missing entries take their defaults (the pop stems; the stems' default hearing
    aid) and gains are clamped, but anything present must be valid. Version 1
    documents, written before stem sets, load as the pop stems with NAL-R.

    Parameters
    ----------
    data
        The decoded JSON.
    source
        Named in error messages (a file name, a database row).

    Raises
    ------
    SettingsError
        Not an object, another format or version, an unknown key or stem, a value of
        the wrong type, an unknown hearing aid, invalid compressor parameters or an
        invalid listener.
    """
    if not isinstance(data, dict):
        raise SettingsError(f"{source} must be a JSON object, not {type(data).__name__}")
    if data.get("format", FORMAT_NAME) != FORMAT_NAME:
        raise SettingsError(f"{source}: unknown format {data['format']!r}")
    version = data.get("version")
    if is_newer_version(version, max(READABLE_VERSIONS)):
        raise NewerSettingsError(newer_version_text(source, "mix settings", version,
                                                    max(READABLE_VERSIONS)))
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise SettingsError(f"{source}: unsupported mix settings version {version!r}; "
                            f"expected {' or '.join(map(str, READABLE_VERSIONS))}")
    unknown = set(data) - (_KEYS_V1 if version == 1 else _KEYS)
    if unknown:
        raise SettingsError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    clip = data.get("clip", "hard")
    if clip not in CLIP_MODES:
        raise SettingsError(f"{source}: clip must be one of {', '.join(CLIP_MODES)}, "
                            f"not {clip!r}")
    listener = None
    if data.get("listener") is not None:
        try:
            (listener,) = parse_listeners(data["listener"], f"{source}: listener").values()
        except RemixerError as exc:
            raise SettingsError(str(exc)) from None
        except ValueError:  # a Clarity-format object holding several listeners
            raise SettingsError(f"{source}: listener must hold exactly one listener") from None
    stems = _stem_names(data, source)
    hearing_aid = data.get("hearing_aid", default_hearing_aid(stems))
    if hearing_aid not in HEARING_AIDS:
        raise SettingsError(f"{source}: hearing_aid must be one of {', '.join(HEARING_AIDS)}, "
                            f"not {hearing_aid!r}")
    enabled, params = _compressor(data, source)
    return MixState(gains_db=_gains(data, source, stems),
                    muted=_stems(data, "muted", source, stems),
                    soloed=_stems(data, "soloed", source, stems), compressor_on=enabled,
                    compressor=params, clip=clip, listener=listener, hearing_aid=hearing_aid,
                    stems=stems)
