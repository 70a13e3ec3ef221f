"""Engine speed against the Cadenza recipe chain, side by side in one run.

Builds a ~3-minute track from real MUSDB18 preview stems (../shared/data; falls back
to synthetic noise stems, and says so, when that folder is absent), then times:

* the recipe chain (pyloudnorm gains + remix + loudness match, pyclarity NAL-R and
  compressor), which is what every gain change costs without our engine;
* our engine's one-time preparation (NAL-R-filtered stems, loudness statistics);
* our engine's re-render of the whole track after a gain change;
* one 1024-frame playback block of the streaming renderer.

It prints both times and their ratio, and the largest difference between the two
outputs. Run: ``.venv/bin/python bench/bench_engine.py [--seconds 180]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, load_audio
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.dsp.reference import reference_chain
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.listener_io import load_listeners
from remixer_app.core.stream import StreamRenderer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def build_track(seconds: float) -> tuple[dict[str, np.ndarray], str]:
    """Stems of about ``seconds`` of real music (previews end to end), and a description."""
    files = sorted((SHARED / "musdb18_7s" / "train").glob("*.stem.mp4"))
    frames = int(seconds * ENGINE_RATE)
    if not files:
        rng = np.random.default_rng(0)
        return ({name: rng.standard_normal((frames, 2)) * 0.05 for name in STEM_NAMES},
                "synthetic noise stems (../shared/data absent)")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in STEM_NAMES}
    total, used = 0, 0
    while total < frames:
        stems = load_audio(files[used % len(files)]).stems
        assert stems is not None
        for name in STEM_NAMES:
            parts[name].append(stems[name].astype(np.float64))
        total += len(stems["vocals"])
        used += 1
    return ({name: np.concatenate(p)[:frames] for name, p in parts.items()},
            f"{used} MUSDB18 train previews end to end")


def timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    """Best wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def block_times(stream: StreamRenderer, blocks: int) -> str:
    """Times ``blocks`` playback blocks of 1024 frames (after one to warm up), as a line."""
    block = np.empty((1024, 2))
    stream.render_into(block)
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        stream.render_into(block)
        times.append(time.perf_counter() - start)
    t = np.array(times) * 1e3
    return (f"stream block of 1024 frames (23.2 ms of audio): median {np.median(t):.3f} ms, "
            f"99th percentile {np.percentile(t, 99):.3f} ms, max {t.max():.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="track length")
    args = parser.parse_args()

    stems, origin = build_track(args.seconds)
    mixture = sum(stems.values())
    listener_file = SHARED / "listeners" / "clarity_listeners.json"
    listener = (load_listeners(listener_file)["L0001"] if listener_file.exists()
                else get_preset("N3"))
    print(f"track: {args.seconds:.0f} s, {origin}; listener {listener.id}")

    first = {"vocals": 0.0, "drums": 0.0, "bass": 0.0, "other": 0.0}
    changed = {"vocals": 6.0, "drums": -3.0, "bass": -10.0, "other": 0.0}
    prep_time, engine = timed(lambda: HearingAidEngine(stems, listener, mixture=mixture))
    print(f"engine preparation, once per track and listener: {prep_time:.2f} s")
    for compressor in (CompressorParams(), None):
        label = "compressor on " if compressor else "compressor off"
        ref_time, ref = timed(lambda c=compressor: reference_chain(stems, mixture, listener,
                                                                    changed, c))
        engine.render(ChainSettings(gains_db=first, compressor=compressor))  # warm: compile
        settings = ChainSettings(gains_db=changed, compressor=compressor)
        ours_time, ours = timed(lambda s=settings: engine.render(s), repeat=3)
        diff = float(np.abs(ours - ref).max())
        print(f"[{label}] recipe chain {ref_time:7.2f} s | engine re-render after a gain "
              f"change {ours_time:6.3f} s | ratio {ref_time / ours_time:6.1f}x "
              f"| max |diff| {diff:.1e}")

    stream = StreamRenderer(engine, ChainSettings(gains_db=changed, compressor=CompressorParams()))
    print(block_times(stream, 2000))
    start = time.perf_counter()
    stream.apply(ChainSettings(gains_db=first, compressor=CompressorParams()))
    print(f"slider change (new weights, loudness from cached statistics): "
          f"{(time.perf_counter() - start) * 1e3:.3f} ms, heard from the next block")


if __name__ == "__main__":
    main()
