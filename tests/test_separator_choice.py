"""The separator choice: instruments remembered per file, ensembles, one separator loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_separators import FakeLoader

from remixer_app.core.errors import RemixerError
from remixer_app.core.separation.ensemble import CLASSICAL_ENSEMBLE
from remixer_app.core.separator_choice import SeparatorChoice, track_key


def test_instruments_are_remembered_per_file_and_validated(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    choice = SeparatorChoice()
    assert choice.remember(song, ["violin", "cello"]) == ("cello", "violin")  # in order
    assert choice.instruments_for(song) == ("cello", "violin")
    assert choice.instruments_for(tmp_path) is None  # a stems folder names its own stems
    with pytest.raises(RemixerError):
        choice.remember(song, ["violin"])
    assert choice.instruments == {track_key(song): ("cello", "violin")}  # kept
    assert choice.remember(song, ()) is None and choice.instruments_for(song) is None


def test_a_file_of_instruments_is_separated_by_the_classical_ensemble() -> None:
    choice = SeparatorChoice(ensemble="pop-a")
    assert choice.separation(None) == ("pop-a", None)
    assert choice.separation(("cello", "violin")) == (CLASSICAL_ENSEMBLE, ("cello", "violin"))


def test_the_separator_is_loaded_once_until_another_ensemble_is_chosen() -> None:
    loader = FakeLoader()
    choice = SeparatorChoice(ensemble="a", loader=loader)
    first = choice.factory(None)
    assert first() is first() is choice.factory(None)()
    choice.set_ensemble("b")
    choice.factory(None)()
    choice.factory(("cello", "violin"))()
    assert loader.calls == [("a", None), ("b", None),
                            (CLASSICAL_ENSEMBLE, ("cello", "violin"))]
