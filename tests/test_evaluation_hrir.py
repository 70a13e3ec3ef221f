"""The real BTE HRIR file (../shared/data/hrir): layout, symmetry and the azimuth convention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from remixer_app.core.evaluation.hrir import HrirSet, load_hrir_set, load_speaker_hrirs

HRIR = Path("hrir") / "VP_N6-BTE_fr.mat"


@pytest.fixture(scope="module")
def hrirs(shared_data: Path) -> HrirSet:
    return load_hrir_set(shared_data / HRIR)


def _level_db(h: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.sum(h**2, axis=0))


def _arrival(h: np.ndarray) -> np.ndarray:
    return np.argmax(np.abs(h), axis=0)


def test_layout(hrirs: HrirSet) -> None:
    assert hrirs.rate == 48000
    assert hrirs.data.shape == (256, 91, 2)
    at_ear_level = np.isclose(hrirs.elevations, 0.0)
    assert {-30.0, -22.5, 0.0, 22.5, 30.0} <= set(hrirs.azimuths[at_ear_level])


def test_front_reaches_both_ears_alike(hrirs: HrirSet) -> None:
    h = hrirs.direction(0.0)
    assert abs(np.diff(_level_db(h))[0]) < 1.5
    assert abs(np.diff(_arrival(h))[0]) <= 2


def test_plus_and_minus_30_degrees_mirror(hrirs: HrirSet) -> None:
    plus, minus = hrirs.direction(30.0), hrirs.direction(-30.0)
    assert np.allclose(_level_db(plus), _level_db(minus)[::-1], atol=1.5)
    assert np.all(np.abs(_arrival(plus) - _arrival(minus)[::-1]) <= 3)
    # and they are not the same response: one side is near, the other far
    assert _level_db(plus)[1] - _level_db(plus)[0] > 5


def test_positive_azimuths_are_to_the_right(hrirs: HrirSet) -> None:
    # Pins hrir.POSITIVE_AZIMUTH_IS_RIGHT: the right ear hears +90 first and louder.
    h = hrirs.direction(90.0)
    assert _level_db(h)[1] - _level_db(h)[0] > 10
    assert _arrival(h)[0] - _arrival(h)[1] > 20  # samples at 48 kHz: about 0.7 ms


def test_speaker_pair_at_44k(shared_data: Path) -> None:
    speakers = load_speaker_hrirs(shared_data / HRIR, 30.0, 44100)
    assert speakers.rate == 44100
    assert speakers.left_speaker.shape == (235, 2)  # 256 taps at 48 kHz
    # the left speaker is nearer the left ear, the right speaker the right ear
    assert _level_db(speakers.left_speaker)[0] > _level_db(speakers.left_speaker)[1] + 5
    assert _level_db(speakers.right_speaker)[1] > _level_db(speakers.right_speaker)[0] + 5
