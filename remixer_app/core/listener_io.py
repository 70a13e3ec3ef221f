"""Listener files, and choosing a listener from a file or the presets.

A file holds a listener JSON document in either format that
:mod:`remixer_app.core.listener_json` reads; files are written in our own. Every problem
a user can cause is a :class:`~remixer_app.core.errors.ListenerError` whose message
names the file and the listener.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audiogram import Listener, get_preset, presets
from remixer_app.core.errors import ListenerError
from remixer_app.core.listener_json import listener_to_dict, parse_listeners

# A real 83-listener Clarity file is about 30 kB; far larger is the wrong file, and
# reading it whole would hold the app up and fill its memory before JSON could say so.
MAX_FILE_BYTES = 16_000_000


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


def left_out_text(source: str, left_out: dict[str, str]) -> str:
    """A sentence for the user naming the listeners of ``source`` that
    :func:`~remixer_app.core.listener_json.parse_listeners` left out; ``""`` if none."""
    if not left_out:
        return ""
    return (f"Left out {len(left_out)} listener(s) of {source} that cannot be used: "
            + "; ".join(left_out.values()) + ".")


def load_listeners(path: str | os.PathLike[str],
                   left_out: dict[str, str] | None = None) -> dict[str, Listener]:
    """Read a listener file; see :func:`~remixer_app.core.listener_json.parse_listeners`,
    which ``left_out`` goes to.

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
