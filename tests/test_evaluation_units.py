"""Evaluation harness, pure-numpy parts: SDR, at-ear simulation, protocol, results, systems."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.loudness import integrated_loudness
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.errors import ExportError, RemixerError, SeparationError
from remixer_app.core.evaluation.at_ear import at_ear, binaural
from remixer_app.core.evaluation.hrir import SpeakerHrirs, load_hrir_set
from remixer_app.core.evaluation.protocol import (
    assign_scenes,
    load_gains_scenarios,
    pair_for,
    scene_seed,
)
from remixer_app.core.evaluation.results import (
    COLUMNS,
    SceneResult,
    gap_closed,
    summarise,
    write_results,
)
from remixer_app.core.evaluation.sdr import EPS, sdr, stem_sdrs
from remixer_app.core.evaluation.systems import MIXTURE_ONLY, ORACLE, SeparatorSystem
from remixer_app.core.evaluation.tracks import Condition, centred_excerpt, list_tracks

RATE = 44100


def _stems(seconds: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    return {name: (0.05 * (i + 1) * rng.standard_normal((n, 2))).astype(np.float32)
            for i, name in enumerate(STEM_NAMES)}


# ------------------------------------------------------------------------------------ SDR


def test_sdr_of_a_perfect_estimate_is_capped_by_eps() -> None:
    s = np.random.default_rng(1).standard_normal((1000, 2))
    assert sdr(s, s) == pytest.approx(10 * np.log10((np.sum(s**2) + EPS) / EPS))


def test_sdr_uses_the_mdx_delta_of_1e_7() -> None:
    def new_sdr(s: np.ndarray, s_hat: np.ndarray) -> float:  # MDX / demucs, delta 1e-7
        return float(10 * np.log10((np.sum(s**2) + 1e-7) / (np.sum((s - s_hat) ** 2) + 1e-7)))

    rng = np.random.default_rng(3)
    s = 0.1 * rng.standard_normal((44100, 2))
    silent = np.zeros_like(s)
    leak = 1e-4 * rng.standard_normal(s.shape)  # -80 dBFS of leakage into a silent stem
    assert sdr(s, s) == pytest.approx(new_sdr(s, s))  # the cap of a perfect estimate
    assert sdr(silent, leak) == pytest.approx(new_sdr(silent, leak))
    assert sdr(silent, silent) == 0.0


def test_sdr_of_a_half_scale_estimate_is_6_dB() -> None:
    s = np.random.default_rng(2).standard_normal((5000, 2))
    assert sdr(s, 0.5 * s) == pytest.approx(10 * np.log10(1 / 0.25), abs=1e-6)  # 6.02 dB
    assert sdr(s, np.zeros_like(s)) == pytest.approx(0.0, abs=1e-9)


def test_stem_sdrs_reports_each_stem_and_the_mean() -> None:
    refs = _stems()
    estimates = {name: 0.5 * x for name, x in refs.items()}
    estimates["bass"] = refs["bass"] * 0.0
    scores = stem_sdrs(refs, estimates)
    assert set(scores) == {*STEM_NAMES, "mean"}
    assert scores["bass"] == pytest.approx(0.0, abs=1e-6)
    assert scores["mean"] == pytest.approx((3 * 6.0206 + 0.0) / 4, abs=1e-3)
    with pytest.raises(ValueError, match="no estimate"):
        stem_sdrs(refs, {"vocals": refs["vocals"]})
    with pytest.raises(ValueError, match="shape"):
        sdr(refs["vocals"], refs["vocals"][:10])


# ------------------------------------------------------------------------------- at-ear


def _impulse_hrirs(taps: int = 16) -> SpeakerHrirs:
    left, right = np.zeros((taps, 2)), np.zeros((taps, 2))
    left[0, 0] = 1.0   # left speaker -> left ear only
    right[0, 1] = 1.0  # right speaker -> right ear only
    return SpeakerHrirs(left_speaker=left, right_speaker=right, rate=RATE)


def _mirrored_hrirs(seed: int = 3, taps: int = 64) -> SpeakerHrirs:
    rng = np.random.default_rng(seed)
    left = rng.standard_normal((taps, 2)) * np.exp(-np.arange(taps) / 8)[:, None]
    # a symmetric head: the right speaker reaches the ears as the left one, ears swapped
    return SpeakerHrirs(left_speaker=left, right_speaker=left[:, ::-1].copy(), rate=RATE)


def test_impulse_hrirs_give_back_the_input() -> None:
    x = _stems()["drums"]
    assert np.allclose(binaural(x, _impulse_hrirs()), x, atol=1e-12)


def test_binaural_is_lfilter() -> None:
    import scipy.signal

    x = _stems(0.1)["vocals"].astype(np.float64)
    h = _mirrored_hrirs()
    expected_left = (scipy.signal.lfilter(h.left_speaker[:, 0], 1, x[:, 0])
                     + scipy.signal.lfilter(h.right_speaker[:, 0], 1, x[:, 1]))
    assert np.allclose(binaural(x, h)[:, 0], expected_left, atol=1e-12)


def test_symmetric_head_swaps_ears_when_speakers_swap() -> None:
    x = _stems()["other"]
    h = _mirrored_hrirs()
    assert np.allclose(binaural(x[:, ::-1], h), binaural(x, h)[:, ::-1], atol=1e-12)
    assert not np.allclose(binaural(x, h)[:, 0], binaural(x, h)[:, 1])


def test_at_ear_matches_loudness_and_keeps_silence_silent() -> None:
    stems = _stems()
    stems["vocals"] = np.zeros_like(stems["vocals"])
    ear_stems, ear_mix = at_ear(stems, _mirrored_hrirs())
    assert np.all(ear_stems["vocals"] == 0.0)
    for name in ("drums", "bass", "other"):
        assert integrated_loudness(ear_stems[name], RATE) == pytest.approx(
            integrated_loudness(stems[name], RATE), abs=1e-6)
    assert integrated_loudness(ear_mix, RATE) == pytest.approx(
        integrated_loudness(sum(stems.values()), RATE), abs=1e-6)


# ---------------------------------------------------------------------------- HRIR file


def _cell(*texts: str) -> np.ndarray:
    cell = np.empty((1, len(texts)), dtype=object)
    for i, t in enumerate(texts):
        cell[0, i] = t
    return cell


def write_hrir_mat(path: Path, ear_names: tuple[str, str] = ("x-r", "x-l")) -> None:
    """A tiny HRIR set at 44.1 kHz: azimuths -30, 0, 30; each direction's ears are marked."""
    data = np.zeros((8, 3, 2))
    for d in range(3):
        for ch, name in enumerate(ear_names):
            data[0, d, ch] = (d + 1) * (10 if name.endswith("-l") else 1)
    scipy.io.savemat(path, {
        "M_data": data, "M_directions": np.array([[-30.0, 0.0, 30.0], [0.0, 0.0, 0.0]]),
        "srate": np.array([[RATE]], dtype=np.uint16 if RATE < 65536 else np.uint32),
        "c_channel_names": _cell(*ear_names),
        "c_data_dims": _cell("Values", "SourceDirection", "EarSide [Left Right]")})


def test_hrir_loader_orders_ears_by_their_names(tmp_path: Path) -> None:
    write_hrir_mat(tmp_path / "h.mat", ("x-r", "x-l"))  # stored right ear first
    hset = load_hrir_set(tmp_path / "h.mat")
    assert hset.rate == RATE
    assert hset.direction(30.0)[0].tolist() == [30.0, 3.0]  # left ear (x10) first
    speakers = hset.speakers(30.0, RATE)
    assert speakers.left_speaker[0].tolist() == [10.0, 1.0]  # -30 degrees: the left one
    assert speakers.right_speaker[0].tolist() == [30.0, 3.0]


def test_hrir_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(RemixerError, match="does not exist"):
        load_hrir_set(tmp_path / "none.mat")
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file at all")
    with pytest.raises(RemixerError, match="not a readable MATLAB file"):
        load_hrir_set(bad)
    write_hrir_mat(tmp_path / "h.mat")
    with pytest.raises(RemixerError, match="available azimuths: -30, 0, 30"):
        load_hrir_set(tmp_path / "h.mat").direction(45.0)
    write_hrir_mat(tmp_path / "odd.mat", ("a", "b"))
    with pytest.raises(RemixerError, match="cannot tell the ears apart"):
        load_hrir_set(tmp_path / "odd.mat")


# ------------------------------------------------------------------------------ protocol


@pytest.mark.parametrize("listeners, scenarios", [(6, 8), (4, 6), (5, 7), (2, 2), (1, 3), (3, 1)])
def test_scene_assignment_covers_every_pair(listeners: int, scenarios: int) -> None:
    total = listeners * scenarios
    pairs = [pair_for(i, listeners, scenarios) for i in range(total)]
    assert sorted(pairs) == [(a, b) for a in range(listeners) for b in range(scenarios)]
    # the next block repeats the cycle, and consecutive tracks change both where possible
    assert [pair_for(i + total, listeners, scenarios) for i in range(total)] == pairs
    if listeners > 1 and scenarios > 1:
        assert pairs[0][0] != pairs[1][0] and pairs[0][1] != pairs[1][1]


def test_assign_scenes_is_deterministic_and_all_pairs_is_the_cross_product() -> None:
    tracks = [f"t{i:02d}" for i in range(50)]
    ids, gains = ["A", "B", "C"], ["g1", "g2"]
    scenes = assign_scenes(tracks, ids, gains)
    assert scenes == assign_scenes(tracks, ids, gains)
    assert [s.track for s in scenes] == tracks
    assert {(s.listener, s.gains) for s in scenes} == {(a, g) for a in ids for g in gains}
    full = assign_scenes(tracks[:2], ids, gains, all_pairs=True)
    assert len(full) == 12 and len({s.id for s in full}) == 12


def test_scene_seed_is_the_recipes() -> None:
    # int(md5("scene_10001").hexdigest(), 16) % 10**8, as recipes/cad_icassp_2024 computes it
    assert scene_seed("scene_10001") == 12061186


def test_shipped_gains_scenarios() -> None:
    scenarios = load_gains_scenarios()
    assert 6 <= len(scenarios) <= 8
    assert len({s.id for s in scenarios}) == len(scenarios)
    assert all(set(s.gains_db) == set(STEM_NAMES) and s.description for s in scenarios)
    # only gain differences matter after the loudness match: no two scenarios may coincide
    shapes = {tuple(np.round(np.subtract(list(s.gains_db.values()), s.gains_db["vocals"]), 6))
              for s in scenarios}
    assert len(shapes) == len(scenarios)


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{oops", "not valid JSON"),
    ({"format": "something-else", "version": 1}, "is not a gains file"),
    ({"version": 2}, "unsupported version"),
    ({"scenarios": []}, "non-empty list"),
    ({"scenarios": [{"gains": {}}]}, "has no id"),
    ({"scenarios": [{"id": "a", "gains": {}}, {"id": "a", "gains": {}}]}, "used twice"),
    ({"scenarios": [{"id": "a", "gains": {"piano": 3}}]}, "unknown stem"),
    ({"scenarios": [{"id": "a", "gains": {"vocals": "loud"}}]}, "finite number"),
    ({"scenarios": [{"id": "a", "gains": {"vocals": 90}}]}, "beyond"),
    ({"scenarios": [{"id": "a", "gains": [1, 2]}]}, "must be an object"),
])
def test_bad_gains_files_are_refused(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "gains.json"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, dict):
        doc = {"format": "remixer-evaluation-gains", "version": 1, **content}
        path.write_text(json.dumps(doc))
    with pytest.raises(RemixerError, match=message):
        load_gains_scenarios(path)


# ------------------------------------------------------------------------------- results


def _result(track: str, haaqi: float, sdr_value: float, floor: float | None = None,
            ceiling: float | None = None) -> SceneResult:
    per_cond = {key: sdr_value for key in (*STEM_NAMES, "mean")}
    return SceneResult(track=track, listener="L1", gains="g", system="sys",
                       sdr={"plain": per_cond, "atear": per_cond}, haaqi_left=haaqi,
                       haaqi_right=haaqi, haaqi_floor=floor, haaqi_ceiling=ceiling)


def test_gap_closed() -> None:
    assert gap_closed(0.6, 0.5, 0.7) == pytest.approx(0.5)
    assert gap_closed(0.45, 0.5, 0.7) == pytest.approx(-0.25)
    assert gap_closed(0.6, 0.7, 0.7) is None


def test_summary_means_sdr_over_tracks_and_haaqi_over_scenes() -> None:
    results = [_result("a", 0.6, 4.0, 0.5, 0.9), _result("a", 0.7, 4.0, 0.5, 0.9),
               _result("b", 0.8, 10.0, 0.7, 0.9)]
    summary = summarise(results)
    assert (summary.tracks, summary.scenes) == (2, 3)
    assert summary.sdr["plain"]["mean"] == pytest.approx(7.0)  # not (4 + 4 + 10) / 3
    assert summary.haaqi == pytest.approx(0.7)
    assert summary.haaqi_floor == pytest.approx(0.5667, abs=1e-4)
    assert summary.gap_closed == pytest.approx((0.7 - 0.56667) / (0.9 - 0.56667), abs=1e-4)
    assert summarise([_result("a", 0.6, 1.0)]).gap_closed is None
    with pytest.raises(ValueError):
        summarise([])


def test_results_csv(tmp_path: Path) -> None:
    out = write_results(tmp_path / "r.csv", [_result("a", 0.6, 4.0), _result("b", 0.8, 5.0,
                                                                             0.5, 0.9)])
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["haaqi_floor"] == "" and float(rows[1]["haaqi_floor"]) == 0.5
    assert float(rows[1]["sdr_mean_atear"]) == 5.0
    with pytest.raises(ExportError, match="already exists"):
        write_results(out, [])


# ------------------------------------------------------------------------ systems, tracks


def test_mixture_only_equals_processing_the_plain_mixture() -> None:
    mixture = sum(_stems().values())
    condition = Condition("plain", mixture, _stems())
    engine = HearingAidEngine(MIXTURE_ONLY.estimate(condition), get_preset("N3"),
                              mixture=mixture)
    plain = engine.render(ChainSettings())
    for gains in ({"vocals": 12.0}, {"bass": -10.0, "drums": 3.0}):
        assert np.allclose(engine.render(ChainSettings(gains_db=gains)), plain, atol=1e-9)
    assert ORACLE.estimate(condition)["bass"] is condition.stems["bass"]


class _BrokenSeparator:
    identity = "broken"

    def __init__(self, drop: str | None = None, trim: int = 0) -> None:
        self.drop, self.trim = drop, trim

    def separate(self, audio: np.ndarray, sr: int, **_: object) -> dict[str, np.ndarray]:
        return {n: audio[self.trim:] for n in STEM_NAMES if n != self.drop}


def test_separator_output_is_checked() -> None:
    stems = _stems(0.5)
    condition = Condition("plain", sum(stems.values()), stems)
    with pytest.raises(SeparationError, match="returned no bass"):
        SeparatorSystem("x", _BrokenSeparator(drop="bass")).estimate(condition)
    with pytest.raises(SeparationError, match="shape"):
        SeparatorSystem("x", _BrokenSeparator(trim=5)).estimate(condition)


def test_centred_excerpt() -> None:
    assert centred_excerpt(7 * RATE, 2.0) == slice(int(2.5 * RATE), int(4.5 * RATE))
    assert centred_excerpt(1000, None) == slice(0, 1000)
    assert centred_excerpt(RATE, 5.0) == slice(0, RATE)
    with pytest.raises(RemixerError, match="at least"):
        centred_excerpt(RATE, 0.2)


def test_list_tracks(tmp_path: Path) -> None:
    with pytest.raises(RemixerError, match="does not exist"):
        list_tracks(tmp_path, "test")
    (tmp_path / "test").mkdir()
    with pytest.raises(RemixerError, match="holds no"):
        list_tracks(tmp_path, "test")
    for name in ("b", "a", "c"):
        (tmp_path / "test" / f"{name}.stem.mp4").touch()
    assert [p.name for p in list_tracks(tmp_path, "test", limit=2)] == ["a.stem.mp4",
                                                                        "b.stem.mp4"]
