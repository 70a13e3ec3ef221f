"""Tests for remixer_app.core.mix_model: events, mute/solo, clamping, undo, persistence."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import pytest

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import Audiogram, Listener
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.errors import RemixerError
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import (
    GAIN_MAX_DB,
    GAIN_MIN_DB,
    SCENARIOS,
    MixChange,
    MixState,
    SettingsError,
    scenario_of,
    track_stems,
)
from remixer_app.core.mix_state_io import state_from_dict


def make_listener(lid: str = "L1", name: str = "Ann") -> Listener:
    ear = Audiogram(frequencies=[250, 1000, 4000], levels=[10, 30, 60])
    return Listener(id=lid, left=ear, right=ear, name=name)


def recorded(model: MixModel) -> list[MixChange]:
    events: list[MixChange] = []
    model.subscribe(events.append)
    return events


# ---------------------------------------------------------------------------- events

ACTIONS: list[tuple[str, Callable[[MixModel], None], set[str]]] = [
    ("gain", lambda m: m.set_gain("vocals", 3), {"gains"}),
    ("gains", lambda m: m.set_gains({"drums": -6, "bass": 2}), {"gains"}),
    ("mute", lambda m: m.set_muted("drums"), {"mute"}),
    ("solo", lambda m: m.set_soloed("bass"), {"solo"}),
    ("compressor on", lambda m: m.set_compressor_enabled(True), {"compressor"}),
    ("compressor params", lambda m: m.set_compressor(CompressorParams(threshold=0.2)),
     {"compressor"}),
    ("clip", lambda m: m.set_clip("soft"), {"clip"}),
    ("listener", lambda m: m.set_listener(make_listener()), {"listener"}),
    ("hearing aid", lambda m: m.set_hearing_aid("multiband"), {"hearing_aid"}),
    ("scenario", lambda m: m.apply_scenario("clearer vocals"), {"gains"}),
]


@pytest.mark.parametrize(("action", "expected"), [(a, e) for _, a, e in ACTIONS],
                         ids=[n for n, _, _ in ACTIONS])
def test_one_event_per_change_naming_what_changed(action: Callable[[MixModel], None],
                                                  expected: set[str]) -> None:
    model = MixModel()
    before = model.state
    events = recorded(model)
    action(model)
    assert len(events) == 1
    assert events[0].fields == expected
    assert events[0].state is model.state and events[0].previous is before


def test_reset_names_every_field_it_changed() -> None:
    model = MixModel()
    model.set_gain("vocals", 4)
    model.set_muted("drums")
    model.set_soloed("bass")
    model.set_clip("none")
    events = recorded(model)
    model.reset()
    assert [e.fields for e in events] == [{"gains", "mute", "solo"}]
    assert model.state.clip == "none"  # reset keeps the hearing-aid settings


@pytest.mark.parametrize("action", [
    lambda m: m.set_gain("vocals", 0.0),
    lambda m: m.set_muted("drums", False),
    lambda m: m.set_soloed("bass", False),
    lambda m: m.set_compressor_enabled(False),
    lambda m: m.set_compressor(CompressorParams()),
    lambda m: m.set_clip("hard"),
    lambda m: m.set_listener(None),
    lambda m: m.reset(),
    lambda m: m.apply_scenario("original balance"),
    lambda m: m.restore(MixState()),
])
def test_unchanged_value_emits_nothing_and_is_no_undo_step(
        action: Callable[[MixModel], None]) -> None:
    model = MixModel()
    events = recorded(model)
    action(model)
    assert events == []
    assert not model.can_undo


def test_unsubscribe_stops_events_and_is_idempotent() -> None:
    model = MixModel()
    kept, dropped = recorded(model), []
    unsubscribe = model.subscribe(dropped.append)
    model.set_gain("vocals", 1)
    unsubscribe()
    unsubscribe()
    model.set_gain("vocals", 2)
    assert len(kept) == 2 and len(dropped) == 1


def test_failing_observer_is_logged_and_others_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    model = MixModel()
    before = recorded(model)

    def broken(change: MixChange) -> None:
        raise RuntimeError("boom")

    model.subscribe(broken)
    after = recorded(model)
    with caplog.at_level(logging.ERROR, logger="remixer_app.core.mix_model"):
        model.set_gain("bass", -3)
    assert len(before) == 1 and len(after) == 1
    assert "boom" in caplog.text


def test_change_made_by_an_observer_reaches_everyone_in_order() -> None:
    model = MixModel()
    first: list[frozenset[str]] = []
    second: list[frozenset[str]] = []

    def linker(change: MixChange) -> None:
        first.append(change.fields)
        if "mute" in change.fields:
            model.set_soloed("drums")  # e.g. a UI rule reacting to a mute

    model.subscribe(linker)
    model.subscribe(lambda c: second.append(c.fields))
    model.set_muted("vocals")
    assert first == second == [{"mute"}, {"solo"}]


# ---------------------------------------------------------------------------- chain settings


def test_solo_silences_the_other_stems() -> None:
    model = MixModel()
    model.set_gain("vocals", 5)
    model.set_soloed("vocals")
    gains = model.chain_settings().gains_db
    assert gains["vocals"] == 5
    assert all(gains[s] == -math.inf for s in ("drums", "bass", "other"))


def test_mute_wins_over_solo_and_mutes_alone() -> None:
    model = MixModel()
    model.set_soloed("vocals")
    model.set_soloed("bass")
    model.set_muted("bass")
    model.set_muted("other")
    gains = model.chain_settings().gains_db
    assert gains == {"vocals": 0.0, "drums": -math.inf, "bass": -math.inf, "other": -math.inf}
    model.set_soloed("vocals", False)
    model.set_soloed("bass", False)
    assert dict(model.chain_settings().gains_db) == {
        "vocals": 0.0, "drums": 0.0, "bass": -math.inf, "other": -math.inf}


def test_compressor_and_clip_reach_the_chain() -> None:
    model = MixModel()
    params = CompressorParams(threshold=0.5)
    model.set_compressor(params)
    assert model.chain_settings().compressor is None  # off keeps the parameters
    model.set_compressor_enabled(True)
    model.set_clip("soft")
    settings = model.chain_settings()
    assert settings.compressor == params and settings.clip == "soft"


def test_chain_settings_are_new_per_change_and_equal_for_equal_states() -> None:
    model = MixModel()
    first = model.chain_settings()
    assert model.chain_settings() is first  # unchanged state: same object
    model.set_gain("drums", -4)
    second = model.chain_settings()
    assert second is not first and second != first
    with pytest.raises(TypeError):
        second.gains_db["drums"] = 0.0  # type: ignore[index]  # the audio thread shares it
    model.undo()
    third = model.chain_settings()
    assert third is not first and third == first


def test_gains_are_clamped_and_invalid_values_rejected() -> None:
    model = MixModel()
    model.set_gain("vocals", 100)
    model.set_gain("drums", -100)
    model.set_gain("bass", -math.inf)
    assert model.state.gains_db == {"vocals": GAIN_MAX_DB, "drums": GAIN_MIN_DB,
                                    "bass": GAIN_MIN_DB, "other": 0.0}
    events = recorded(model)
    model.set_gain("drums", -50)  # clamps to the value it already has
    with pytest.raises(ValueError, match="NaN"):
        model.set_gain("vocals", math.nan)
    with pytest.raises(ValueError, match="unknown stem"):
        model.set_gain("piano", 1)
    with pytest.raises(ValueError, match="unknown stem"):
        model.set_muted("piano")
    with pytest.raises(ValueError, match="clip"):
        model.set_clip("loud")  # type: ignore[arg-type]
    assert events == [] and model.state.gains_db["vocals"] == GAIN_MAX_DB


# ---------------------------------------------------------------------------- undo


def test_a_gesture_is_one_undo_step_but_every_change_is_heard() -> None:
    model = MixModel()
    model.set_gain("bass", 2)
    events = recorded(model)
    model.begin_gesture()
    for i in range(1, 41):
        model.set_gain("vocals", i / 4)
    model.set_gain("drums", -1)  # a gesture may touch more than one stem
    model.end_gesture()
    assert len(events) == 41
    assert model.undo()
    assert model.state.gains_db == {"vocals": 0.0, "drums": 0.0, "bass": 2.0, "other": 0.0}
    assert model.undo() and model.state == MixState()
    assert not model.can_undo


def test_gesture_that_ends_where_it_started_is_no_step_and_keeps_redo() -> None:
    model = MixModel()
    model.set_gain("vocals", 3)
    model.undo()
    with model.gesture():
        model.set_gain("drums", 5)
        model.set_gain("drums", 0)
    assert not model.can_undo and model.can_redo


def test_nested_gestures_and_undo_in_the_middle_of_one() -> None:
    model = MixModel()
    model.begin_gesture()
    model.set_gain("vocals", 1)
    with model.gesture():
        model.set_gain("vocals", 2)
    assert model.can_undo
    assert model.undo() and model.state.gains_db["vocals"] == 0  # what the drag did so far
    model.set_gain("vocals", 4)
    model.set_gain("vocals", 5)
    model.end_gesture()
    assert model.undo() and model.state.gains_db["vocals"] == 0
    assert not model.can_undo
    with pytest.raises(RuntimeError):
        model.end_gesture()


def test_undo_redo_across_kinds_of_change() -> None:
    model = MixModel()
    steps: list[Callable[[], None]] = [
        lambda: model.set_gain("vocals", 6),
        lambda: model.set_muted("drums"),
        lambda: model.set_soloed("bass"),
        lambda: model.set_compressor_enabled(True),
        lambda: model.set_compressor(CompressorParams(attack=20)),
        lambda: model.set_clip("soft"),
        model.reset,
        lambda: model.apply_scenario("less drums"),
        lambda: model.restore(MixState(gains_db={"other": -7}, muted={"vocals"})),
    ]
    states = [model.state]
    for step in steps:
        step()
        states.append(model.state)
    assert len(set(states)) == len(states)
    for expected in reversed(states[:-1]):
        assert model.undo()
        assert model.state == expected
    assert not model.undo()
    for expected in states[1:]:
        assert model.redo()
        assert model.state == expected
    assert not model.redo()


def test_a_new_action_clears_redo() -> None:
    model = MixModel()
    model.set_gain("vocals", 1)
    model.set_gain("vocals", 2)
    model.undo()
    assert model.can_redo
    model.set_muted("other")
    assert not model.can_redo and not model.redo()


def test_a_change_taken_back_outside_the_history_leaves_no_empty_undo() -> None:
    model = MixModel()
    model.set_gain("vocals", 6)
    model.set_hearing_aid("multiband")
    model.set_hearing_aid("nalr", record=False)  # a cancelled choice going back
    assert model.can_undo
    assert model.undo() and model.state.gains_db["vocals"] == 0  # the step back to here skipped
    assert not model.can_undo and not model.undo()
    model.set_hearing_aid("multiband")
    model.set_hearing_aid("nalr", record=False)
    assert not model.can_undo  # only the skipped step is left


def test_history_is_bounded() -> None:
    model = MixModel(history_limit=5)
    for i in range(1, 9):
        model.set_gain("drums", -i)
    for _ in range(5):
        assert model.undo()
    assert not model.undo()
    assert model.state.gains_db["drums"] == -3


def test_listener_is_not_undone_but_restore_is() -> None:
    model = MixModel()
    model.set_gain("vocals", 2)
    snapshot = model.state
    ann = make_listener()
    model.set_listener(ann)
    model.set_gain("vocals", 8)
    assert model.undo() and model.state.gains_db["vocals"] == 2
    assert model.listener == ann  # undo never swaps whose prescription is applied
    model.set_listener(None)
    model.restore(MixState(gains_db={"bass": 4}, listener=make_listener("L2")))
    assert model.listener is None and model.state.gains_db["bass"] == 4
    assert model.undo() and model.state == snapshot


# ---------------------------------------------------------------------------- scenarios


def test_scenarios_set_gains_clear_mute_solo_and_are_one_step() -> None:
    model = MixModel()
    model.set_muted("vocals")
    model.set_soloed("drums")
    before = model.state
    model.apply_scenario("clearer vocals")
    assert model.state.gains_db["vocals"] == SCENARIOS["clearer vocals"]["vocals"]
    assert not model.state.muted and not model.state.soloed
    assert scenario_of(model.state) == "clearer vocals"
    assert model.chain_settings().gains_db["vocals"] > model.chain_settings().gains_db["drums"]
    model.undo()
    assert model.state == before and scenario_of(before) is None
    with pytest.raises(SettingsError, match="original balance"):
        model.apply_scenario("louder")


def test_every_scenario_is_valid_and_distinct() -> None:
    model = MixModel()
    gains = set()
    for name in SCENARIOS:
        model.apply_scenario(name)
        assert scenario_of(model.state) == name
        gains.add(tuple(model.state.gains_db.values()))
    assert len(gains) == len(SCENARIOS)


# ---------------------------------------------------------------------------- persistence


def test_to_dict_from_dict_round_trip_through_json() -> None:
    model = MixModel()
    model.set_gains({"vocals": 4.5, "other": -12})
    model.set_muted("drums")
    model.set_soloed("vocals")
    model.set_compressor(CompressorParams(threshold=0.25, release=500))
    model.set_compressor_enabled(True)
    model.set_clip("soft")
    model.set_listener(make_listener())
    data = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    assert data["version"] == 2 and data["stems"] == list(STEM_NAMES)
    copy = MixModel.from_dict(data)
    assert copy.state == model.state
    assert copy.chain_settings() == model.chain_settings()
    assert not copy.can_undo


def test_from_dict_fills_defaults_and_clamps() -> None:
    state = state_from_dict({"version": 1, "gains_db": {"bass": 99}})
    assert state == MixState(gains_db={"bass": GAIN_MAX_DB})


def good() -> dict[str, Any]:
    return MixModel().to_dict()


def edited(**changes: Any) -> dict[str, Any]:
    data = good()
    data.update(changes)
    return data


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "must be a JSON object"),
    (edited(version=3), r"saved by a newer version of remixer_app \(mix settings version 3"),
    (edited(version=True), "version True"),
    ({k: v for k, v in good().items() if k != "version"}, "version None"),
    (edited(format="other"), "unknown format"),
    (edited(tempo=120), "unknown key"),
    (edited(gains_db={"piano": 1}), "unknown stem 'piano'"),
    (edited(gains_db={"vocals": "6"}), "gain of vocals"),
    (edited(gains_db={"vocals": math.nan}), "gain of vocals"),
    (edited(gains_db={"vocals": True}), "gain of vocals"),
    (edited(gains_db={"vocals": 10**400}), "gain of vocals must be a finite number of dB, "
                                           r"not 10+\.\.\.0+$"),
    (edited(compressor={"enabled": True, "attack": 10**400}),
     "compressor.attack must be a finite number"),  # no float holds it
    (edited(gains_db=[1, 2]), "gains_db must be an object"),
    (edited(muted="drums"), "muted must be a list"),
    (edited(soloed=["piano"]), "soloed must be a list"),
    (edited(clip="loud"), "clip must be one of"),
    (edited(hearing_aid="cochlear"), "hearing_aid must be one of"),
    (edited(stems="violin"), "stems must be a list"),
    (edited(stems=[]), "stems must be a list"),
    (edited(stems=["violin", "violin"]), "stems must be a list"),
    (edited(stems=["violin", "cello"]), "unknown stem 'vocals' in gains_db; stems are violin, "
                                        "cello"),
    ({"version": 1, "hearing_aid": "nalr"}, "unknown key"),
    (edited(compressor={"enabled": "yes"}), "compressor.enabled"),
    (edited(compressor={"enabled": True, "attack": -5}), "attack and release"),
    (edited(compressor={"enabled": True, "release": 0.01}),
     "compressor release must be at least 0.02268 ms"),
    (edited(compressor={"enabled": True, "rms_buffer_size": 60}), "at most 5 seconds"),
    (edited(compressor={"enabled": True, "ratio": 4}), "unknown compressor setting"),
    (edited(compressor={"enabled": True, "attack": "fast"}), "compressor.attack"),
    (edited(listener={"format": "remixer-listener", "version": 1, "id": "x"}), "left ear"),
])
def test_from_dict_rejects_bad_data_clearly(data: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        MixModel.from_dict(data, source="session.json")
    assert isinstance(info.value, RemixerError)
    assert "session.json" in str(info.value)


# ---------------------------------------------------------------------------- stem sets

TRIO = ("cello", "flute", "violin")


def test_state_carries_its_stems_and_names_them_in_errors() -> None:
    state = MixState(gains_db={"violin": 3}, stems=TRIO)
    assert dict(state.gains_db) == {"cello": 0.0, "flute": 0.0, "violin": 3.0}
    assert MixState().stems == STEM_NAMES and MixState().hearing_aid == "nalr"
    with pytest.raises(ValueError, match="unknown stem.s. vocals; stems are cello, flute, violin"):
        MixState(gains_db={"vocals": 1}, stems=TRIO)
    with pytest.raises(ValueError, match="muted: drums; stems are cello, flute, violin"):
        MixState(muted={"drums"}, stems=TRIO)
    with pytest.raises(ValueError, match="stems are vocals, drums, bass, other"):
        MixState(gains_db={"violin": 1})
    with pytest.raises(ValueError, match="different"):
        MixState(stems=("cello", "cello"))
    with pytest.raises(ValueError, match="hearing_aid must be one of nalr, multiband"):
        MixState(hearing_aid="cochlear")  # type: ignore[arg-type]


def test_track_stems_orders_instruments_and_keeps_pop_stems_whole() -> None:
    assert track_stems(["violin", "cello", "flute"]) == TRIO
    assert track_stems(["drums", "vocals"]) == STEM_NAMES
    with pytest.raises(RemixerError, match="2 to 5"):
        track_stems(["violin"])


def test_set_stems_starts_a_new_history_and_picks_the_hearing_aid() -> None:
    model = MixModel()
    model.set_gains({"vocals": 6, "drums": -3})
    model.set_muted("bass")
    events = recorded(model)
    model.set_stems(TRIO)
    assert events[-1].fields >= {"stems", "gains", "mute", "hearing_aid"}
    state = model.state
    assert state.stems == TRIO and state.hearing_aid == "multiband"
    assert dict(state.gains_db) == dict.fromkeys(TRIO, 0.0) and not state.muted
    assert not model.can_undo and not model.can_redo
    model.set_gain("violin", 4)
    model.set_hearing_aid("nalr")
    model.set_stems(("cello", "oboe", "violin"))  # same kind: shared gains and the aid stay
    assert model.state.gains_db["violin"] == 4 and model.state.hearing_aid == "nalr"
    assert not model.can_undo
    model.set_stems(STEM_NAMES)
    assert model.state.hearing_aid == "nalr" and model.state.stems == STEM_NAMES
    count = len(events)
    model.set_stems(STEM_NAMES)  # unchanged: nothing happens
    assert len(events) == count


def test_hearing_aid_is_an_undo_step_and_multiband_silences_the_compressor() -> None:
    model = MixModel()
    model.set_compressor_enabled(True)
    assert model.chain_settings().compressor is not None
    model.set_hearing_aid("multiband")
    assert model.chain_settings().compressor is None and model.state.compressor_on
    assert model.undo() and model.state.hearing_aid == "nalr"
    assert model.chain_settings().compressor is not None


def test_restore_refuses_another_stem_set() -> None:
    model = MixModel()
    with pytest.raises(SettingsError, match="stems cello, flute, violin, but this track's "
                                            "stems are vocals, drums, bass, other"):
        model.restore(MixState(stems=TRIO))
    model.set_stems(TRIO)
    model.restore(MixState(gains_db={"flute": -6}, stems=TRIO, hearing_aid="multiband"))
    assert model.state.gains_db["flute"] == -6


def test_classical_scenarios_bring_each_instrument_forward() -> None:
    model = MixModel()
    model.set_stems(TRIO)
    model.apply_scenario("more flute")
    assert model.state.gains_db["flute"] > 0 and scenario_of(model.state) == "more flute"
    with pytest.raises(SettingsError, match="more violin"):
        model.apply_scenario("clearer vocals")


def test_instrument_settings_round_trip_and_old_documents_load() -> None:
    model = MixModel()
    model.set_stems(TRIO)
    model.set_gains({"violin": -4.5, "cello": 3})
    model.set_soloed("flute")
    data = json.loads(json.dumps(model.to_dict()))
    assert data["stems"] == list(TRIO) and data["hearing_aid"] == "multiband"
    assert data["gains_db"] == {"cello": 3, "flute": 0, "violin": -4.5}
    assert MixModel.from_dict(data).state == model.state
    no_aid = {k: v for k, v in data.items() if k != "hearing_aid"}
    assert state_from_dict(no_aid).hearing_aid == "multiband"  # the ensemble's default
    old = {"format": "remixer-mix", "version": 1, "gains_db": {"vocals": 6.0},
           "muted": ["drums"], "compressor": {"enabled": True, "threshold": 0.3}}
    state = state_from_dict(old)
    assert state.stems == STEM_NAMES and state.hearing_aid == "nalr"
    assert state.gains_db["vocals"] == 6 and state.muted == {"drums"} and state.compressor_on
