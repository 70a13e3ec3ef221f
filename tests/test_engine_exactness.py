"""Acceptance test: the fast engine gives the recipe's signal on real music and listeners.

The yardstick is :func:`remixer_app.core.dsp.reference.reference_chain`, the Cadenza ICASSP
2024 chain built from pyloudnorm and pyclarity as the recipe does. Real MUSDB18 previews
(mixture = sum of the decoded stems, as the data README prescribes) are trimmed to 3 s to
keep the pure-Python reference compressor affordable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soxr

from remixer_app.core.audio_io import STEM_NAMES, load_audio
from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.reference import reference_chain
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.listener_io import load_listeners

TOLERANCE = 1e-6
TRIM = slice(2 * ENGINE_RATE, 5 * ENGINE_RATE)  # 3 s from the middle of each 7 s preview
NEG_INF = float("-inf")

SCENARIOS: dict[str, dict[str, float]] = {
    "all_0": {},
    "vocals+6_drums-6_bass-10": {"vocals": 6.0, "drums": -6.0, "bass": -10.0, "other": 0.0},
    "drums_muted_vocals+3": {"drums": NEG_INF, "vocals": 3.0},
    "vocals_muted_bass+12": {"vocals": NEG_INF, "bass": 12.0, "other": -3.0},
    "karaoke_boost": {"vocals": 10.0, "drums": -20.0, "bass": -10.0, "other": -15.0},
}
LISTENER_ROLES = ("mild", "moderate", "severe")

CASES = [(track, role, list(SCENARIOS)[(track + i) % len(SCENARIOS)], False)
         for track in range(3) for i, role in enumerate(LISTENER_ROLES)]
CASES += [
    (0, "severe", "vocals+6_drums-6_bass-10", True),
    (1, "mild", "drums_muted_vocals+3", True),
    (1, "severe", "karaoke_boost", True),
    (2, "moderate", "all_0", True),
    (2, "severe", "vocals_muted_bass+12", True),
]


@pytest.fixture(scope="module")
def tracks(shared_data: Path) -> list[tuple[str, dict[str, np.ndarray], np.ndarray]]:
    files = sorted((shared_data / "musdb18_7s" / "train").glob("*.stem.mp4"))
    if len(files) < 3:
        pytest.skip(f"fewer than 3 MUSDB18 previews in {shared_data / 'musdb18_7s' / 'train'}")
    out = []
    for f in (files[0], files[len(files) // 2], files[-1]):
        loaded = load_audio(f)
        assert loaded.stems is not None and tuple(loaded.stems) == STEM_NAMES
        stems = {name: s.astype(np.float64)[TRIM] for name, s in loaded.stems.items()}
        mixture = sum(stems.values())
        out.append((f.name, stems, mixture))
    return out


@pytest.fixture(scope="module")
def listeners(shared_data: Path) -> dict[str, Listener]:
    """A mild, a moderate and the most severe listener of the Clarity file (by max level)."""
    everyone = load_listeners(shared_data / "listeners" / "clarity_listeners.json")
    assert len(everyone) == 83

    def severity(listener: Listener) -> tuple[float, float]:
        levels = np.concatenate([listener.left.levels, listener.right.levels])
        return float(levels.max()), float(levels.mean())

    ranked = sorted(everyone.values(), key=severity)
    chosen = {"mild": ranked[0], "moderate": ranked[len(ranked) // 2], "severe": ranked[-1]}
    assert severity(chosen["severe"])[0] >= 80.0
    return chosen


@pytest.fixture(scope="module")
def engines() -> dict[tuple[int, str], HearingAidEngine]:
    return {}


@pytest.mark.parametrize(("track", "role", "scenario", "with_compressor"), CASES)
def test_engine_equals_reference_chain(tracks, listeners, engines, track: int, role: str,
                                       scenario: str, with_compressor: bool) -> None:
    name, stems, mixture = tracks[track]
    listener = listeners[role]
    gains = SCENARIOS[scenario]
    compressor = CompressorParams() if with_compressor else None
    where = f"{name} / {listener.id} ({role}) / {scenario} / compressor {with_compressor}"

    engine = engines.get((track, role))
    if engine is None:
        engine = engines[(track, role)] = HearingAidEngine(stems, listener, mixture=mixture)
    ours = engine.render(ChainSettings(gains_db=gains, compressor=compressor, clip="none"))
    ref = reference_chain(stems, mixture, listener, gains, compressor)

    assert ours.shape == ref.shape == (mixture.shape[0] + 220, 2)
    assert np.abs(ref).max() > 0.01, f"{where}: the reference is (near) silent"
    diff = float(np.abs(ours - ref).max())
    assert diff < TOLERANCE, f"{where}: enhanced signal max abs diff {diff:.3g}"

    ref_32k = soxr.resample(ref, ENGINE_RATE, 32000, quality="HQ")
    for clip in ("hard", "soft"):
        settings = ChainSettings(gains_db=gains, compressor=compressor, clip=clip)
        final, over = HearingAidEngine.finalize(ours, settings, 32000)
        expected = np.clip(np.tanh(ref_32k) if clip == "soft" else ref_32k, -1.0, 1.0)
        assert final.shape == expected.shape
        assert over == np.count_nonzero(np.abs(ref_32k) > 1.0), f"{where}: clipped count"
        diff = float(np.abs(final - expected).max())
        assert diff < TOLERANCE, f"{where}: finalized ({clip} clip) max abs diff {diff:.3g}"


def test_cases_cover_what_matters() -> None:
    """The case list itself: every track x listener, mutes, and the compressor on the severe."""
    assert {(t, r) for t, r, _, _ in CASES} == {(t, r) for t in range(3) for r in LISTENER_ROLES}
    assert {s for _, _, s, _ in CASES} == set(SCENARIOS)
    assert any(c and r == "severe" and NEG_INF in SCENARIOS[s].values()
               for _, r, s, c in CASES)
    assert sum(c for *_, c in CASES) >= 4
