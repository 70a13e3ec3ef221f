"""Tests for remixer_app.core.audiogram: validation, file formats, presets, resolution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from remixer_app.core.audiogram import Audiogram, Listener, get_preset, presets
from remixer_app.core.errors import ExportError, ListenerError
from remixer_app.core.listener_io import load_listeners, resolve_listener, save_listener
from remixer_app.core.listener_json import listener_to_dict, parse_listeners

LISTENER_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "listeners"
CFS = [250, 500, 1000, 2000, 3000, 4000, 6000, 8000]


def clarity_entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "L9999",
        "audiogram_cfs": list(CFS),
        "audiogram_levels_l": [10, 15, 20, 30, 40, 50, 60, 70],
        "audiogram_levels_r": [5, 10, 20, 30, 40, 45, 55, 65],
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def write_json(tmp_path: Path, data: object, name: str = "listeners.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def make_listener(lid: str = "me", name: str = "Me") -> Listener:
    left = Audiogram(frequencies=np.array([250.0, 1000.0, 4000.0]), levels=[10, 22.5, 60])
    right = Audiogram(frequencies=[250, 1000, 4000], levels=[15, 30, 70])
    return Listener(id=lid, left=left, right=right, name=name)


# ---------------------------------------------------------------------------- Audiogram


def test_audiogram_arrays_are_float_and_read_only() -> None:
    a = Audiogram(frequencies=[250, 500], levels=[10, 20])
    assert a.frequencies.dtype == float and a.levels.dtype == float
    with pytest.raises(ValueError):
        a.levels[0] = 99.0
    assert a == Audiogram(frequencies=[250.0, 500.0], levels=[10.0, 20.0])
    assert hash(a) == hash(Audiogram(frequencies=[250.0, 500.0], levels=[10.0, 20.0]))


@pytest.mark.parametrize(
    ("freqs", "levels", "message"),
    [
        ([250, 4000], [10, 130], "level 130 dB HL at 4000 Hz is outside -10..120"),
        ([250, 4000], [-20, 10], "level -20 dB HL at 250 Hz is outside -10..120"),
        ([250, 500, 500], [1, 2, 3], "frequencies must be ascending and unique: 250, 500, 500"),
        ([500, 250], [1, 2], "ascending and unique"),
        ([250, 500], [1, 2, 3], "frequencies (2) and levels (3) have different lengths"),
        ([250], [10], "at least 2 points"),
        ([250, float("nan")], [1, 2], "finite"),
        ([250, 500], [1, float("inf")], "finite"),
        ([0, 500], [1, 2], "frequency 0 Hz is outside the audiometric range 50..20000 Hz"),
        ([250, 8000, 1e6], [1, 2, 3], "frequency 1e+06 Hz is outside the audiometric range"),
        ([0.25, 0.5, 1, 2, 4, 8], [10, 20, 30, 40, 50, 60],
         "frequencies 0.25, 0.5, 1, 2, 4, 8 look like kHz; give them in Hz (250, 500, 1000, "
         "2000, 4000, 8000)"),
        ([[250, 500]], [[1, 2]], "flat list"),
        (["a", "b"], [1, 2], "list of numbers"),
        ([250, 500], [1, 10**400], "levels must be a list of numbers"),  # no float holds it
    ],
)
def test_audiogram_validation(freqs: list, levels: list, message: str) -> None:
    with pytest.raises(ListenerError) as exc:
        Audiogram(frequencies=freqs, levels=levels)
    assert message in str(exc.value)


def test_at_interpolates_on_log_frequency() -> None:
    a = Audiogram(frequencies=[1000, 2000, 4000], levels=[10, 30, 60])
    # 1500 Hz lies log2(1.5) = 0.585 octaves above 1000 Hz: 10 + 20 * 0.585 = 21.70
    assert a.at(1500) == pytest.approx(21.699250014)
    np.testing.assert_allclose(a.at([1000, 2828.42712474619, 4000]), [10, 45, 60])
    # Held constant beyond the ends.
    np.testing.assert_allclose(a.at([100, 16000]), [10, 60])
    with pytest.raises(ValueError):
        a.at([0, 1000])


def test_to_clarity_matches() -> None:
    a = Audiogram(frequencies=CFS, levels=[10, 15, 20, 30, 40, 50, 60, 70])
    c = a.to_clarity()
    assert type(c).__module__ == "clarity.utils.audiogram"
    np.testing.assert_array_equal(c.frequencies, CFS)
    np.testing.assert_array_equal(c.levels, a.levels)


# ---------------------------------------------------------------------------- loading


def test_load_real_clarity_file() -> None:
    path = LISTENER_DIR / "clarity_listeners.json"
    if not path.is_file():
        pytest.skip(f"shared Clarity listener data not found at {path}")
    listeners = load_listeners(path)
    assert len(listeners) == 83
    raw = json.loads(path.read_text())
    assert list(listeners) == list(raw)  # file order kept
    first_id = next(iter(raw))
    lst = listeners[first_id]
    assert lst.id == first_id and lst.name == raw[first_id]["name"]
    np.testing.assert_array_equal(lst.left.levels, raw[first_id]["audiogram_levels_l"])
    np.testing.assert_array_equal(lst.right.levels, raw[first_id]["audiogram_levels_r"])
    np.testing.assert_array_equal(lst.right.frequencies, raw[first_id]["audiogram_cfs"])


def test_load_real_cadenza_file() -> None:
    path = LISTENER_DIR / "cadenza_listeners.json"
    if not path.is_file():
        pytest.skip(f"shared Cadenza listener data not found at {path}")
    assert len(load_listeners(path)) >= 1


def test_a_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    # Windows Notepad and spreadsheet exports start UTF-8 files with a BOM.
    out = save_listener(make_listener(), tmp_path / "me.json")
    out.write_text(out.read_text(encoding="utf-8"), encoding="utf-8-sig")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(load_listeners(out)) == [make_listener().id]


def test_round_trip_own_format(tmp_path: Path) -> None:
    lst = make_listener()
    out = save_listener(lst, tmp_path / "me.json")
    assert out == tmp_path / "me.json"
    doc = json.loads(out.read_text())
    assert doc["format"] == "remixer-listener" and doc["version"] == 1
    assert doc["left"]["levels"] == [10, 22.5, 60]
    assert doc == listener_to_dict(lst)
    assert out.read_text().startswith('{\n  "format"')  # indent 2
    assert load_listeners(out) == {"me": lst}


def test_save_refuses_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    save_listener(make_listener(name="first"), path)
    with pytest.raises(ExportError, match="already exists"):
        save_listener(make_listener(name="second"), path)
    assert load_listeners(path)["me"].name == "first"
    save_listener(make_listener(name="second"), path, overwrite=True)
    assert load_listeners(path)["me"].name == "second"


def test_display_name_defaults_to_id() -> None:
    assert make_listener(name="").display_name == "me"
    assert make_listener(name="Ann").display_name == "Ann"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("  \n", "is empty"),
        ('{"a": [1,\n 2,,]}', "not valid JSON: Expecting value at line 2, column 4"),
        ("[1, 2]", "must contain a JSON object, not list"),
        ("{}", "contains no listeners"),
        ("[" * 100_000 + "]" * 100_000, "is not a listener file: its JSON is nested too "
                                        "deeply"),
        (json.dumps({"L1": clarity_entry()})[:-1] + ', "L1": {}}', "gives 'L1' twice"),
        ('{"L1": {"audiogram_cfs": [' + "9" * 5000 + "]}}",
         "holds a number with thousands of digits"),
    ],
)
def test_file_level_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ListenerError) as exc:
        load_listeners(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ListenerError, match="does not exist"):
        load_listeners(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("not an object", "expected an object, not str"),
        (clarity_entry(audiogram_cfs=None), "missing key 'audiogram_cfs'"),
        (clarity_entry(audiogram_levels_r=None), "right ear is missing; both ears are required"),
        (clarity_entry(audiogram_levels_l=[1, 2]), "left ear: frequencies (8) and levels (2)"),
        (clarity_entry(audiogram_levels_l="loud"), "audiogram_levels_l must be a list"),
        (clarity_entry(audiogram_levels_r=[1, 2, "x", 4, 5, 6, 7, 8]), "found 'x'"),
        (clarity_entry(audiogram_levels_r=[1, 2, True, 4, 5, 6, 7, 8]), "found True"),
        (clarity_entry(audiogram_levels_l=[10, 10, 10, 10, 10, 130, 10, 10]),
         "L9999, left ear: level 130 dB HL at 4000 Hz is outside -10..120"),
        (clarity_entry(audiogram_cfs=[250, 500, 1000, 2000, 3000, 3000, 6000, 8000]),
         "frequencies must be ascending and unique"),
        (clarity_entry(name=7), "name must be text"),
        (clarity_entry(name="Ann \ud800"), "L9999: the name 'Ann \\ud800' is not valid text"),
        (clarity_entry(audiogram_levels_l=[10**400] * 8),
         "L9999: audiogram_levels_l holds a number too large for any audiogram"),
    ],
)
def test_clarity_entry_errors(tmp_path: Path, entry: object, message: str) -> None:
    path = write_json(tmp_path, {"L0001": clarity_entry(), "L9999": entry})
    with pytest.raises(ListenerError) as exc:
        load_listeners(path)
    text = str(exc.value)
    assert message in text and str(path) in text and "L9999" in text
    left_out: dict[str, str] = {}  # asked for: the others are read, and why it is not said
    assert list(load_listeners(path, left_out)) == ["L0001"]
    assert list(left_out) == ["L9999"] and message in left_out["L9999"]
    assert left_out["L9999"].startswith("listener L9999")


@pytest.mark.parametrize(
    ("lid", "message"),
    [
        ("", "missing or empty listener id"),
        ("  ", "missing or empty listener id '  '"),
        ("L\\ud800", "the listener id 'L\\ud800' is not valid text"),  # half a UTF-16 pair
    ],
)
def test_ids_no_file_or_database_can_hold_are_refused(tmp_path: Path, lid: str,
                                                      message: str) -> None:
    # Written by hand: json.dumps would not write a lone surrogate's escape as given.
    entry = json.dumps(clarity_entry())
    path = tmp_path / "ids.json"
    path.write_text(f'{{"L0001": {entry}, "{lid}": {entry}}}', encoding="utf-8")
    left_out: dict[str, str] = {}
    assert list(load_listeners(path, left_out)) == ["L0001"]
    assert len(left_out) == 1 and message in next(iter(left_out.values()))
    own = tmp_path / "own.json"
    own.write_text(json.dumps(own_doc(id=None))[:-1] + f', "id": "{lid}"}}', encoding="utf-8")
    with pytest.raises(ListenerError) as exc:
        load_listeners(own)
    assert message in str(exc.value) and str(own) in str(exc.value)


def test_a_file_of_no_usable_listener_gives_every_reason(tmp_path: Path) -> None:
    path = write_json(tmp_path, {"L1": clarity_entry(audiogram_cfs=None),
                                 "L2": clarity_entry(name=7)})
    with pytest.raises(ListenerError) as exc:
        load_listeners(path, {})
    assert str(exc.value) == (f"{path} holds no listener that can be used: listener L1: "
                              "missing key 'audiogram_cfs'; listener L2: name must be text, "
                              "not int")


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "movie.json"
    with path.open("wb") as file:
        file.truncate(40_000_000)  # sparse: no disk space taken
    with pytest.raises(ListenerError) as exc:
        load_listeners(path)
    assert str(exc.value) == (f"{path} is not a listener file: it holds 40 MB, and a "
                              "listener file is at most 16 MB (83 listeners take about 30 kB)")


def own_doc(**overrides: Any) -> dict[str, Any]:
    doc = listener_to_dict(make_listener())
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (own_doc(left=None), "left ear is missing; both ears are required"),
        (own_doc(right={"frequencies": [250, 500]}), "right ear: missing key 'levels'"),
        (own_doc(right=[1, 2]), "right must be an object"),
        (own_doc(id=""), "missing or empty listener id"),
        (own_doc(version=2), "saved by a newer version of remixer_app (listener version 2"),
        (own_doc(format="other"), "unknown format 'other'"),
        (own_doc(left={"frequencies": [250, 500], "levels": [0, 121]}),
         "listener me, left ear: level 121 dB HL at 500 Hz is outside -10..120"),
    ],
)
def test_own_format_errors(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ListenerError) as exc:
        parse_listeners(doc, "me.json")
    assert message in str(exc.value) and "me.json" in str(exc.value)


def test_parse_clarity_data_keeps_order() -> None:
    data = {k: clarity_entry(name=k) for k in ("Z1", "A2", "M3")}
    assert list(parse_listeners(data)) == ["Z1", "A2", "M3"]


# ---------------------------------------------------------------------------- presets


def test_presets() -> None:
    ps = presets()
    assert list(ps) == ["NH", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "S1", "S2", "S3"]
    freqs = [250, 375, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000]
    for p in ps.values():
        assert p.left == p.right
        np.testing.assert_array_equal(p.left.frequencies, freqs)
        assert p.name.startswith(p.id + " - ")
    np.testing.assert_array_equal(ps["NH"].left.levels, np.zeros(10))
    np.testing.assert_array_equal(ps["N1"].left.levels, [10, 10, 10, 10, 10, 10, 15, 20, 30, 40])
    np.testing.assert_array_equal(
        ps["N5"].right.levels, [65, 67.5, 70, 72.5, 75, 80, 80, 80, 80, 80])
    np.testing.assert_array_equal(
        ps["N7"].left.levels, [90, 92.5, 95, 100, 105, 105, 105, 105, 105, 105])
    np.testing.assert_array_equal(
        ps["S2"].left.levels, [20, 20, 20, 22.5, 25, 35, 55, 75, 95, 95])
    np.testing.assert_array_equal(
        ps["S3"].right.levels, [30, 30, 35, 47.5, 60, 70, 75, 80, 80, 85])
    ps.clear()  # callers get their own dict
    assert len(presets()) == 11


def test_get_preset() -> None:
    assert get_preset("n3") is get_preset(" N3 ")
    assert get_preset("nh").id == "NH"
    with pytest.raises(ListenerError) as exc:
        get_preset("N9")
    assert "'N9'" in str(exc.value) and "NH, N1" in str(exc.value) and "S3" in str(exc.value)


# ---------------------------------------------------------------------------- resolve


def test_resolve_listener(tmp_path: Path) -> None:
    many = write_json(tmp_path, {f"L{i:04d}": clarity_entry(name=f"L{i:04d}") for i in range(8)})
    assert resolve_listener(str(many), "L0003").id == "L0003"
    with pytest.raises(ListenerError) as exc:
        resolve_listener(str(many), "L9999")
    assert "'L9999'" in str(exc.value) and "L0000, L0001" in str(exc.value)
    assert "(8 in all)" in str(exc.value)
    with pytest.raises(ListenerError, match="holds 8 listeners; choose one by id"):
        resolve_listener(str(many), None)

    entries = {"L1": clarity_entry(), "L2": clarity_entry(audiogram_levels_r=[130] * 8)}
    partly = write_json(tmp_path, entries, "partly.json")
    assert resolve_listener(str(partly), "L1").id == "L1"
    with pytest.raises(ListenerError) as exc:
        resolve_listener(str(partly), "L2")
    assert str(exc.value) == (f"listener 'L2' of {partly} cannot be used: listener L2, "
                              "right ear: level 130 dB HL at 250 Hz is outside -10..120")
    with pytest.raises(ListenerError, match="holds 2 listeners; choose one by id, e.g. L1$"):
        resolve_listener(str(partly), None)  # L1 may not be the one meant

    single = save_listener(make_listener(), tmp_path / "me.json")
    assert resolve_listener(str(single), None) == make_listener()

    assert resolve_listener(None, "s1") == get_preset("S1")
    with pytest.raises(ListenerError, match="unknown listener preset"):
        resolve_listener(None, "bogus")
    with pytest.raises(ListenerError, match="no listener given"):
        resolve_listener(None, None)
