"""The separator: ensemble arithmetic, windowing, progress, cancel, devices, loading."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from remixer_app.core.errors import Cancelled, SeparationError
from remixer_app.core.separation import load_separator
from remixer_app.core.separation.device import resolve_device
from remixer_app.core.separation.ensemble import parse_ensemble
from remixer_app.core.separation.separator import Leaf, Separator

from tiny_models import ScaleModel, write_tiny_ensemble

RATE = 44100
ALL = {"vocals": 1.0, "drums": 1.0, "bass": 1.0, "other": 1.0}


def _spec(**options: object):
    data = {"members": [{"id": "m", "kind": "demucs", "model": "x"}], **options}
    return parse_ensemble(data, Path("/tmp/test.yaml"))


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Zero-mean noise: the input normalisation (as demucs: minus the mean, over the
    deviation, added back to each stem) then leaves scale models exactly linear."""
    rng = np.random.default_rng(seed)
    x = 0.1 * rng.standard_normal((int(seconds * RATE), 2))
    return (x - x.mean()).astype(np.float32)


def _scale_separator(fractions_and_weights: list[tuple[list[float], dict[str, float]]],
                     **options: object) -> Separator:
    leaves = [Leaf(f"m{i}", ScaleModel(fr), w) for i, (fr, w) in enumerate(fractions_and_weights)]
    return Separator(_spec(**options), leaves, "test@0")


def test_weighted_mean_of_members_per_stem() -> None:
    # demucs order: drums, bass, other, vocals
    sep = _scale_separator([([0.1, 0.2, 0.3, 0.4], ALL),
                            ([0.5, 0.0, 0.1, 0.2], {**ALL, "drums": 3.0, "bass": 0.0})])
    x = _noise(3.0)
    out = sep.separate(x, RATE)
    expected = {"drums": (0.1 + 3 * 0.5) / 4, "bass": 0.2, "other": 0.2, "vocals": 0.3}
    for stem, factor in expected.items():
        np.testing.assert_allclose(out[stem], factor * x, atol=2e-6, err_msg=stem)


def test_residual_other_and_mixture_blend() -> None:
    x = _noise(3.0)
    sep = _scale_separator([([0.1, 0.2, 0.3, 0.4], ALL)], residual_other=True)
    out = sep.separate(x, RATE)
    np.testing.assert_allclose(out["other"], (1 - 0.1 - 0.2 - 0.4) * x, atol=2e-6)
    np.testing.assert_allclose(sum(out.values()), x, atol=5e-6)
    sep = _scale_separator([([0.1, 0.2, 0.3, 0.4], ALL)], mixture_blend=0.25)
    out = sep.separate(x, RATE)
    np.testing.assert_allclose(out["vocals"], (0.75 * 0.4 + 0.25) * x, atol=2e-6)


def test_wiener_remask_shares_the_mixture_whatever_the_windows() -> None:
    x = _noise(7.3, seed=4)
    # demucs order: drums, bass, other, vocals. Estimates proportional to the mixture,
    # so every bin's shares are the fractions over their sum (which is 1 here).
    sep = _scale_separator([([0.1, 0.2, 0.3, 0.4], ALL)], wiener_remask=True,
                           mixture_blend=0.2)
    sep.first_window_s, sep.window_s = 1.0, 2.0
    windowed = sep.separate(x, RATE)
    writes: list[tuple[int, int]] = []

    class Sink:
        def write(self, start: int, chunk: dict[str, np.ndarray]) -> None:
            writes.append((start, len(chunk["vocals"])))

    sep.separate_into(x, Sink())
    # the remask's latency does not hold back the first second
    assert writes[0][0] == 0 and writes[0][1] >= RATE
    assert all(a + n == b for (a, n), (b, _) in zip(writes, writes[1:], strict=False))
    assert sum(n for _, n in writes) == len(x)
    sep.first_window_s = sep.window_s = 10.0
    whole = sep.separate(x, RATE)
    for stem, share in {"drums": 0.1, "bass": 0.2, "other": 0.3, "vocals": 0.4}.items():
        np.testing.assert_allclose(whole[stem], (0.8 * share + 0.2) * x, atol=2e-6)
        np.testing.assert_allclose(windowed[stem], whole[stem], atol=1e-6)
    assert _spec(wiener_remask=True).fingerprint() != _spec().fingerprint()
    with pytest.raises(SeparationError, match="wiener_remask"):
        _spec(wiener_remask="yes")


def test_windowed_separation_equals_one_whole_track_apply_model(tmp_path: Path) -> None:
    from demucs.apply import apply_model

    sep = load_separator(str(write_tiny_ensemble(tmp_path, residual_other=False)), device="cpu")
    sep.first_window_s, sep.window_s = 1.0, 2.0
    x = _noise(7.3, seed=3)
    assert len(sep.windows(len(x))) >= 3
    out = sep.separate(x, RATE)
    mono = x.astype(np.float64).mean(axis=1)
    mean, std = mono.mean(), mono.std(ddof=1)
    whole = torch.from_numpy(((x.T - mean) / std).astype(np.float32))[None]
    ref = apply_model(sep.leaves[0].model, whole, split=True, overlap=0.25, shifts=0)[0]
    ref = ref.double().numpy() * std + mean
    for index, source in enumerate(sep.leaves[0].model.sources):
        assert np.abs(out[source] - ref[index].T).max() < 1e-6 * max(1.0, np.abs(ref).max())


def test_windows_cover_the_track_with_a_short_first_one() -> None:
    sep = _scale_separator([([0.25] * 4, ALL)])
    frames = int(200.5 * RATE)
    windows = sep.windows(frames)
    assert windows[0] == (0, int(10 * RATE))
    assert all(b == a2 for (_, b), (a2, _) in zip(windows, windows[1:], strict=False))
    assert windows[-1][1] == frames
    assert sep.windows(RATE) == [(0, RATE)]


def test_progress_is_monotone_with_eta_and_reaches_100() -> None:
    sep = _scale_separator([([0.25] * 4, ALL)])
    sep.first_window_s, sep.window_s = 1.0, 2.0
    reports = []
    sep.separate(_noise(6.0), RATE, progress=reports.append)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(set(fractions)) > 5
    assert any(r.eta_s is not None and r.eta_s > 0 for r in reports[1:-1])


def test_cancel_takes_effect_within_a_second_inside_a_long_segment() -> None:
    class Slow(ScaleModel):
        def forward(self, mix: torch.Tensor) -> torch.Tensor:
            for _ in range(100):  # a 5 s "layer stack": cancel must not wait for it
                time.sleep(0.05)
                mix = self.scale(mix)
            return super().forward(mix)

    sep = Separator(_spec(), [Leaf("slow", Slow([0.25] * 4), ALL)], "slow@0")
    flag = threading.Event()
    set_at: list[float] = []

    def cancel_soon() -> None:
        time.sleep(0.5)
        set_at.append(time.monotonic())
        flag.set()

    threading.Thread(target=cancel_soon, daemon=True).start()
    with pytest.raises(Cancelled):
        sep.separate(_noise(3.0), RATE, cancelled=flag.is_set)
    assert time.monotonic() - set_at[0] < 1.0


def test_silence_mono_and_other_rates() -> None:
    sep = _scale_separator([([0.1, 0.2, 0.3, 0.4], ALL)])
    silent = sep.separate(np.zeros((RATE, 2), np.float32), RATE)
    assert all(not v.any() for v in silent.values())
    mono = _noise(2.0)[:, 0]
    mono -= mono.mean()
    out = sep.separate(mono, RATE)
    assert out["vocals"].shape == (len(mono), 2)
    np.testing.assert_allclose(out["vocals"][:, 1], 0.4 * mono, atol=2e-6)
    t = np.arange(2 * 22050) / 22050  # a tone: white noise would lose its top to the filters
    x22 = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1000 * t)], axis=1)
    x22 = (0.1 * x22).astype(np.float32)
    out = sep.separate(x22, 22050)
    assert out["bass"].shape == x22.shape
    inner = slice(2000, -2000)  # resampler edges
    np.testing.assert_allclose(out["bass"][inner], 0.2 * x22[inner], atol=2e-3)


def test_bad_audio_shape_is_a_clear_error() -> None:
    sep = _scale_separator([([0.25] * 4, ALL)])
    with pytest.raises(SeparationError, match="frames, 2"):
        sep.separate(np.zeros((100, 5), np.float32), RATE)


def test_device_choice_and_fallback() -> None:
    assert resolve_device("cpu") == ("cpu", None)
    device, warning = resolve_device("auto")
    assert device in ("cpu", "cuda", "mps") and warning is None
    if not torch.cuda.is_available():
        assert resolve_device("cuda:0")[0] == "cpu" and "CPU" in resolve_device("cuda")[1]
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failing_device_mid_run_falls_back_to_cpu() -> None:
    sep = _scale_separator([([0.1, 0.2, 0.3, 0.4], ALL)])
    sep.device = "cuda"  # as if chosen on a machine where it then fails
    x = _noise(2.0)
    out = sep.separate(x, RATE)
    assert sep.device == "cpu" and any("CPU" in w for w in sep.warnings)
    np.testing.assert_allclose(out["vocals"], 0.4 * x, atol=2e-6)


def test_load_separator_from_file_identity_and_checksum(tmp_path: Path) -> None:
    path = write_tiny_ensemble(tmp_path)
    sep = load_separator(str(path), device="cpu")
    assert sep.identity.startswith("tiny@")
    out = sep.separate(_noise(2.5), RATE)
    assert set(out) == {"vocals", "drums", "bass", "other"}
    assert all(np.isfinite(v).all() for v in out.values())
    # The identity follows the content: another blend is another cache key.
    other = write_tiny_ensemble(tmp_path / "b", mixture_blend=0.1)
    assert load_separator(str(other), device="cpu").identity != sep.identity
    weights = tmp_path / "tiny.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SeparationError, match="checksum"):
        load_separator(str(path), device="cpu")


def test_safetensors_with_unknown_architecture_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from remixer_app.core.separation.members import file_sha256

    save_file({"w": torch.zeros(2)}, str(tmp_path / "evil.safetensors"),
              metadata={"format": "remixer-separator/1", "architecture": "os.system"})
    spec = {"members": [{"kind": "safetensors", "file": "evil.safetensors",
                         "sha256": file_sha256(tmp_path / "evil.safetensors")}]}
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(SeparationError, match="known architecture"):
        load_separator(str(tmp_path / "evil.yaml"), device="cpu")


def test_one_member_of_an_ensemble_runs_alone(tmp_path: Path) -> None:
    from remixer_app.core.separation.members import save_member

    from tiny_models import TINY_CONFIG, tiny_hdemucs

    files = {}
    for seed in (0, 1):
        files[seed] = save_member(tiny_hdemucs(seed), tmp_path / f"m{seed}.safetensors",
                                  "hdemucs", TINY_CONFIG)
    spec = {"members": [{"id": f"m{s}", "kind": "safetensors", "file": f"m{s}.safetensors",
                         "sha256": sha, "weights": {"vocals": 0.0} if s else {}}
                        for s, sha in files.items()],
            "residual_other": True}
    (tmp_path / "pair.yaml").write_text(yaml.safe_dump(spec))
    pair = load_separator(str(tmp_path / "pair.yaml"), device="cpu")
    alone = load_separator(str(tmp_path / "pair.yaml"), device="cpu", member="m1")
    assert len(pair.leaves) == 2 and len(alone.leaves) == 1
    assert alone.leaves[0].weights["vocals"] == 1.0 and alone.spec.residual_other
    assert alone.identity != pair.identity
    with pytest.raises(SeparationError, match="no member 'm7'"):
        load_separator(str(tmp_path / "pair.yaml"), device="cpu", member="m7")


def test_an_ensemble_file_can_shorten_a_members_window(tmp_path: Path) -> None:
    path = write_tiny_ensemble(tmp_path)
    spec = yaml.safe_load(path.read_text())
    spec["members"][0]["segment"] = 1.5
    (tmp_path / "short.yaml").write_text(yaml.safe_dump(spec))
    short = load_separator(str(tmp_path / "short.yaml"), device="cpu")
    plain = load_separator(str(path), device="cpu")
    assert short.leaves[0].segment_length == int(1.5 * RATE)
    assert plain.leaves[0].segment_length == 2 * RATE
    assert short.identity != plain.identity  # another window, other stems: another cache key
    out = short.separate(_noise(4.0), RATE)
    assert all(v.shape == (4 * RATE, 2) and np.isfinite(v).all() for v in out.values())
    spec["members"][0]["segment"] = 0.1
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(SeparationError, match="'segment'"):
        load_separator(str(tmp_path / "bad.yaml"), device="cpu")
