"""Listeners as JSON documents: the two formats read, and our own written.

Two formats are read: the Clarity/Cadenza listener JSON (an object mapping listener id
to ``audiogram_cfs`` and per-ear ``audiogram_levels_l/_r``) and our own single-listener
format (``"format": "remixer-listener"``), which is also the one written. Every problem
is a :class:`~remixer_app.core.errors.ListenerError` whose message names the source and
the listener. A Clarity document is read listener by listener: one that cannot be used
is left out, with the reason, rather than making the whole document unusable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.errors import (
    ListenerError,
    NewerListenerError,
    is_newer_version,
    newer_version_text,
)

FORMAT_NAME = "remixer-listener"
FORMAT_VERSION = 1
_CLARITY_EARS = (("left", "audiogram_levels_l"), ("right", "audiogram_levels_r"))
_HALF_PAIR = "is not valid text: it holds half of a UTF-16 surrogate pair"


# ---------------------------------------------------------------------------- reading


def _numbers(value: object, what: str, where: str) -> np.ndarray:
    # Checked here, not by numpy, so that strings and booleans are rejected by name.
    if not isinstance(value, list):
        raise ListenerError(f"{where}: {what} must be a list of numbers, "
                            f"not {type(value).__name__}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ListenerError(f"{where}: {what} must be a list of numbers, found {v!r}")
    try:
        return np.array(value, dtype=float)
    except OverflowError:  # JSON integers have no size limit; floats end near 1.8e308
        raise ListenerError(f"{where}: {what} holds a number too large for any "
                            "audiogram") from None


def _ear(freqs: object, levels: object, ear: str, keys: tuple[str, str], where: str) -> Audiogram:
    if levels is None:
        raise ListenerError(f"{where}: the {ear} ear is missing; both ears are required")
    f = _numbers(freqs, keys[0], where)
    lv = _numbers(levels, keys[1], where)
    try:
        return Audiogram(frequencies=f, levels=lv)
    except ListenerError as exc:
        raise ListenerError(f"{where}, {ear} ear: {exc}") from None


def _encodable(text: str) -> bool:
    # False for a lone surrogate ("\ud800" in the JSON): no file or database can store
    # it, and printing it fails.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name(entry: dict[str, Any], where: str) -> str:
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise ListenerError(f"{where}: name must be text, not {type(name).__name__}")
    if not _encodable(name):
        raise ListenerError(f"{where}: the name {name!r} {_HALF_PAIR}")
    return name


def _checked_id(lid: object, prefix: str = "") -> str:
    """``lid`` when it can be a listener's id, else a ``ListenerError`` saying why,
    starting with ``prefix``."""
    if not isinstance(lid, str) or not lid.strip():
        raise ListenerError(f"{prefix}missing or empty listener id"
                            + (f" {lid!r}" if lid else ""))
    if not _encodable(lid):
        raise ListenerError(f"{prefix}the listener id {lid!r} {_HALF_PAIR}")
    return lid


def _parse_own(data: dict[str, Any], source: str) -> dict[str, Listener]:
    if is_newer_version(data.get("version"), FORMAT_VERSION):
        raise NewerListenerError(newer_version_text(source, "listener", data["version"],
                                                    FORMAT_VERSION))
    if data.get("version") != FORMAT_VERSION:
        raise ListenerError(f"{source}: unsupported {FORMAT_NAME} version "
                            f"{data.get('version')!r}; expected {FORMAT_VERSION}")
    lid = _checked_id(data.get("id"), f"{source}: ")
    where = f"{source}: listener {lid}"
    ears: list[Audiogram] = []
    for ear in ("left", "right"):
        e = data.get(ear)
        if e is None:
            raise ListenerError(f"{where}: the {ear} ear is missing; both ears are required")
        if not isinstance(e, dict):
            raise ListenerError(f"{where}: {ear} must be an object with frequencies and levels")
        for key in ("frequencies", "levels"):
            if key not in e:
                raise ListenerError(f"{where}: {ear} ear: missing key {key!r}")
        ears.append(_ear(e["frequencies"], e["levels"], ear,
                         (f"{ear}.frequencies", f"{ear}.levels"), where))
    return {lid: Listener(id=lid, left=ears[0], right=ears[1], name=_name(data, where))}


def _clarity_listener(lid: str, entry: object) -> Listener:
    """One listener of a Clarity file; the error does not name the file."""
    where = f"listener {_checked_id(lid)}"
    if not isinstance(entry, dict):
        raise ListenerError(f"{where}: expected an object, not {type(entry).__name__}")
    if "audiogram_cfs" not in entry:
        raise ListenerError(f"{where}: missing key 'audiogram_cfs'")
    left, right = (_ear(entry["audiogram_cfs"], entry.get(key), ear,
                        ("audiogram_cfs", key), where) for ear, key in _CLARITY_EARS)
    return Listener(id=lid, left=left, right=right, name=_name(entry, where))


def _parse_clarity(data: dict[str, Any], source: str,
                   left_out: dict[str, str] | None) -> dict[str, Listener]:
    listeners: dict[str, Listener] = {}
    bad: dict[str, str] = {}
    for lid, entry in data.items():
        try:
            listeners[lid] = _clarity_listener(lid, entry)
        except ListenerError as exc:
            if left_out is None:
                raise ListenerError(f"{source}: {exc}") from None
            bad[lid] = str(exc)
    if not listeners:
        raise ListenerError(f"{source} holds no listener that can be used: "
                            + "; ".join(bad.values()))
    if left_out is not None:
        left_out.update(bad)
    return listeners


def parse_listeners(data: object, source: str = "<data>",
                    left_out: dict[str, str] | None = None) -> dict[str, Listener]:
    """Listeners from already-decoded JSON (Clarity format or our own), in file order.

    Parameters
    ----------
    data
        The decoded JSON document.
    source
        Named in error messages, usually the file name.
    left_out
        Where to add, by id, why each listener that cannot be used was left out (a
        sentence that does not name ``source``); ``None``: such a listener makes the
        whole document fail.

    Raises
    ------
    ListenerError
        The document is malformed, holds no listener that can be used (each reason
        is given), or, without ``left_out``, an audiogram is invalid.
    """
    if not isinstance(data, dict):
        raise ListenerError(f"{source} must contain a JSON object, not {type(data).__name__}")
    if "format" in data:
        if data["format"] != FORMAT_NAME:
            raise ListenerError(f"{source}: unknown format {data['format']!r}")
        return _parse_own(data, source)
    if not data:
        raise ListenerError(f"{source} contains no listeners")
    return _parse_clarity(data, source, left_out)



# ---------------------------------------------------------------------------- writing


def _plain(values: np.ndarray) -> list[int | float]:
    # Whole numbers are written without ".0" so saved files read like audiograms.
    return [int(v) if float(v).is_integer() else float(v) for v in values]


def listener_to_dict(listener: Listener) -> dict[str, Any]:
    """The listener in our single-listener JSON format (as
    :func:`~remixer_app.core.listener_io.save_listener` writes it)."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "id": listener.id,
        "name": listener.name,
        **{ear: {"frequencies": _plain(a.frequencies), "levels": _plain(a.levels)}
           for ear, a in (("left", listener.left), ("right", listener.right))},
    }
