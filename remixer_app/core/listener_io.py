"""Listener files, and choosing a listener from a file or the presets.

Two file formats are read: the Clarity/Cadenza listener JSON (an object mapping
listener id to ``audiogram_cfs`` and per-ear ``audiogram_levels_l/_r``) and our own
single-listener format (``"format": "remixer-listener"``), which is also the one
written. Every problem a user can cause is a
:class:`~remixer_app.core.errors.ListenerError` whose message names the file and the
listener. A Clarity file is read listener by listener: one that cannot be used is left
out, with the reason, rather than making the whole file unusable.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audiogram import Audiogram, Listener, get_preset, presets
from remixer_app.core.errors import (
    ListenerError,
    NewerListenerError,
    is_newer_version,
    newer_version_text,
)

FORMAT_NAME = "remixer-listener"
FORMAT_VERSION = 1
# A real 83-listener Clarity file is about 30 kB; far larger is the wrong file, and
# reading it whole would hold the app up and fill its memory before JSON could say so.
MAX_FILE_BYTES = 16_000_000
_CLARITY_EARS = (("left", "audiogram_levels_l"), ("right", "audiogram_levels_r"))
_HALF_PAIR = "is not valid text: it holds half of a UTF-16 surrogate pair"


# ---------------------------------------------------------------------------- reading


class _DuplicateKey(Exception):
    """A JSON object gives one key twice (json would silently keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A decoded JSON object; :class:`_DuplicateKey` if a key comes twice."""
    data = dict(pairs)
    if len(data) < len(pairs):
        raise _DuplicateKey(next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1))
    return data


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


def left_out_text(source: str, left_out: dict[str, str]) -> str:
    """A sentence for the user naming the listeners of ``source`` that
    :func:`parse_listeners` left out; ``""`` if none."""
    if not left_out:
        return ""
    return (f"Left out {len(left_out)} listener(s) of {source} that cannot be used: "
            + "; ".join(left_out.values()) + ".")


def load_listeners(path: str | os.PathLike[str],
                   left_out: dict[str, str] | None = None) -> dict[str, Listener]:
    """Read a listener file; see :func:`parse_listeners`, which ``left_out`` goes to.

    Raises
    ------
    ListenerError
        The file is missing, unreadable, too large, empty, not JSON or has invalid
        content.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ListenerError(f"{p} is not a listener file: it holds {size / 1e6:,.0f} MB, "
                                f"and a listener file is at most {MAX_FILE_BYTES / 1e6:.0f} "
                                "MB (83 listeners take about 30 kB)")
        text = p.read_text(encoding="utf-8-sig")  # Windows editors may add a BOM
    except FileNotFoundError:
        raise ListenerError(f"listener file {p} does not exist") from None
    except UnicodeDecodeError:
        raise ListenerError(f"listener file {p} is not a UTF-8 text file") from None
    except OSError as exc:
        raise ListenerError(f"cannot read listener file {p}: {exc.strerror or exc}") from None
    if not text.strip():
        raise ListenerError(f"listener file {p} is empty")
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ListenerError(f"listener file {p} is not valid JSON: {exc.msg} at line "
                            f"{exc.lineno}, column {exc.colno}") from None
    except _DuplicateKey as exc:  # two listeners of one id: which one is meant?
        raise ListenerError(f"listener file {p} gives {exc.key!r} twice; keep only one "
                            "of them") from None
    except ValueError:  # Python refuses to read integers of over 4300 digits
        raise ListenerError(f"listener file {p} holds a number with thousands of digits; "
                            "no audiogram has one") from None
    except RecursionError:  # lists or objects nested thousands deep: no listener file
        raise ListenerError(f"listener file {p} is not a listener file: its JSON is nested "
                            "too deeply") from None
    return parse_listeners(data, str(p), left_out)


# ---------------------------------------------------------------------------- writing


def _plain(values: np.ndarray) -> list[int | float]:
    # Whole numbers are written without ".0" so saved files read like audiograms.
    return [int(v) if float(v).is_integer() else float(v) for v in values]


def listener_to_dict(listener: Listener) -> dict[str, Any]:
    """The listener in our single-listener JSON format (see :func:`save_listener`)."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "id": listener.id,
        "name": listener.name,
        **{ear: {"frequencies": _plain(a.frequencies), "levels": _plain(a.levels)}
           for ear, a in (("left", listener.left), ("right", listener.right))},
    }


def save_listener(listener: Listener, path: str | os.PathLike[str], *,
                  overwrite: bool = False) -> Path:
    """Write one listener atomically in the ``remixer-listener`` format.

    Raises
    ------
    ExportError
        The file exists and ``overwrite`` is false, or it cannot be written.
    """
    text = json.dumps(listener_to_dict(listener), indent=2) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write, overwrite=overwrite)


def _some_ids(ids: list[str], n: int = 5) -> str:
    more = f", ... ({len(ids)} in all)" if len(ids) > n else ""
    return ", ".join(ids[:n]) + more


def resolve_listener(file: str | os.PathLike[str] | None, listener_id: str | None) -> Listener:
    """The listener the CLI's ``--listener-file`` / ``--listener`` options select.

    Parameters
    ----------
    file
        A listener file, or None to use the built-in presets.
    listener_id
        The listener in ``file``, or a preset name when ``file`` is None. May be None
        when ``file`` holds exactly one listener.

    Raises
    ------
    ListenerError
        Neither is given, the id is unknown (a few valid ids are listed) or names a
        listener of the file that cannot be used (why is said), or the file holds
        several listeners and no id was given.
    """
    if file is None:
        if not listener_id:
            raise ListenerError("no listener given; name a preset "
                                f"({', '.join(presets())}) or a listener file")
        return get_preset(listener_id)
    left_out: dict[str, str] = {}
    listeners = load_listeners(file, left_out)
    if not listener_id:
        if len(listeners) == 1 and not left_out:
            return next(iter(listeners.values()))
        raise ListenerError(f"{file} holds {len(listeners) + len(left_out)} listeners; "
                            f"choose one by id, e.g. {_some_ids(list(listeners))}")
    if listener_id in listeners:
        return listeners[listener_id]
    if listener_id in left_out:
        raise ListenerError(f"listener {listener_id!r} of {file} cannot be used: "
                            f"{left_out[listener_id]}")
    raise ListenerError(f"listener {listener_id!r} is not in {file}; available: "
                        f"{_some_ids(list(listeners))}")
