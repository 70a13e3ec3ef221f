"""Peak memory and speed of separating a long track, end to end, in a fresh process.

Writes an N-minute stereo 16-bit WAV (real MUSDB18 preview mixtures end to end from
../shared/data, or noise when that folder is absent, and says so), then runs in a
child process what ``remixer separate`` does: ``load_audio``, load an ensemble, and
``separate_cached`` (windowed separation streaming into the on-disk stem cache). The
child reports its peak RSS (``ru_maxrss``), the RSS after imports, and timings; then
reopening the cached stems is timed in another fresh process.

The ensemble is one random-weight Demucs-family model saved as a safetensors member:
memory that grows with track length (decoded audio, normalisation, stem output) does
not depend on the weights, and the per-window activation memory depends on the
architecture's size, not on the track length. No trained weights exist on this
machine, and real-size models take 1-4 s per second of audio on its 2 CPU cores, so
the 60-minute run uses a small waveform Demucs (``--arch demucs --channels 8
--depth 4``); run a short track with ``--arch hdemucs --channels 48 --depth 6
--nfft 4096`` (the published HDemucs size) to see a real-size model's activations.

Run: ``.venv/bin/python bench/bench_separation_memory.py --minutes 60``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LIMIT_GB = 3.0


def write_track(path: Path, minutes: float) -> str:
    """An N-minute 44.1 kHz stereo PCM_16 WAV, written block by block."""
    frames = int(minutes * 60 * 44100)
    files = sorted((SHARED / "musdb18_7s" / "train").glob("*.stem.mp4"))
    if files:
        from remixer_app.core.audio_io import load_audio

        pieces = [load_audio(f).samples for f in files[:30]]
        source = f"{len(pieces)} real MUSDB18 train previews, repeated"
    else:
        pieces = [0.1 * np.random.default_rng(0).standard_normal((30 * 44100, 2))]
        source = "noise (../shared/data is absent)"
    with sf.SoundFile(path, "w", 44100, 2, "PCM_16") as out:
        written, index = 0, 0
        while written < frames:
            piece = pieces[index % len(pieces)][: frames - written]
            out.write(piece)
            written += len(piece)
            index += 1
    return source


def child(args: argparse.Namespace) -> None:
    """Runs in the fresh process: separate into the cache, print JSON figures."""
    start = time.perf_counter()
    from remixer_app.core.audio_io import load_audio
    from remixer_app.core.separation import load_separator
    from remixer_app.core.separation.cache import StemCache
    from remixer_app.core.separation.cached import separate_cached

    imported_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    figures: dict[str, float | str] = {"rss_after_imports_gb": imported_rss}
    t0 = time.perf_counter()
    audio = load_audio(args.track)
    figures["load_s"] = time.perf_counter() - t0
    figures["rss_after_load_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    separator = load_separator(args.ensemble, device="cpu")
    cache = StemCache(Path(args.cache))
    t0 = time.perf_counter()
    stems, cached = separate_cached(separator, audio.samples, cache=cache)
    figures["separate_s"] = time.perf_counter() - t0
    figures["from_cache"] = str(cached)
    figures["audio_s"] = len(audio.samples) / 44100
    figures["stem_frames"] = float(len(stems["vocals"]))
    figures["total_s"] = time.perf_counter() - start
    figures["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(figures))


def write_ensemble(folder: Path, arch: str, channels: int, depth: int, nfft: int,
                   segment: float) -> Path:
    """A one-member ensemble: a random-weight Demucs-family model of the given size."""
    import torch
    import yaml

    from remixer_app.core.separation.members import ARCHITECTURES, save_member

    torch.manual_seed(0)
    config = {"sources": ["drums", "bass", "other", "vocals"], "channels": channels,
              "depth": depth, "segment": segment}
    if arch == "hdemucs":
        config["nfft"] = nfft
    model = ARCHITECTURES[arch](**config)
    sha = save_member(model, folder / "bench.safetensors", arch, config)
    spec = {"members": [{"id": "bench", "kind": "safetensors", "file": "bench.safetensors",
                         "sha256": sha}], "residual_other": True}
    (folder / "bench.yaml").write_text(yaml.safe_dump(spec))
    params = sum(p.numel() for p in model.parameters())
    print(f"model: random-weight {arch} {config}, {params / 1e6:.2f} M parameters")
    return folder / "bench.yaml"


def run_child(track: Path, ensemble: Path, cache: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", "--track", str(track), "--ensemble",
           str(ensemble), "--cache", str(cache)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--arch", choices=("demucs", "hdemucs"), default="demucs")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--nfft", type=int, default=4096, help="hdemucs only")
    parser.add_argument("--segment", type=float, default=10.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--track", help=argparse.SUPPRESS)
    parser.add_argument("--ensemble", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench_sep_") as tmp:
        folder = Path(tmp)
        track = folder / "track.wav"
        t0 = time.perf_counter()
        source = write_track(track, args.minutes)
        print(f"track: {args.minutes:g} min stereo 44.1 kHz from {source} "
              f"({track.stat().st_size / 2**20:.0f} MB WAV, written in "
              f"{time.perf_counter() - t0:.0f} s)")
        ensemble = write_ensemble(folder, args.arch, args.channels, args.depth, args.nfft,
                                  args.segment)
        first = run_child(track, ensemble, folder / "cache")
        again = run_child(track, ensemble, folder / "cache")
    print(f"rss after imports        {first['rss_after_imports_gb']:.2f} GB")
    print(f"rss after load_audio     {first['rss_after_load_gb']:.2f} GB "
          f"(load {first['load_s']:.1f} s)")
    print(f"peak rss, separating     {first['peak_rss_gb']:.2f} GB "
          f"(limit {LIMIT_GB:g} GB: {'OK' if first['peak_rss_gb'] < LIMIT_GB else 'OVER'})")
    print(f"separation               {first['separate_s']:.0f} s for {first['audio_s']:.0f} s "
          f"of audio (real-time factor {first['separate_s'] / first['audio_s']:.3f})")
    print(f"reopen from cache        {again['separate_s']:.2f} s (from_cache="
          f"{again['from_cache']}), peak rss {again['peak_rss_gb']:.2f} GB")


if __name__ == "__main__":
    main()
