"""Speed of the embedded default ensemble on this machine's CPU.

Separates an N-minute track (real MUSDB18 train previews end to end, or noise when
../shared/data is absent) with ``load_separator(ENSEMBLE)`` on the CPU and prints:

- ``load_s``: loading the ensemble (checksums and weights);
- ``first_s``: from the start of separation until the first ``first_audio_s``
  seconds of all four stems have reached the sink (what playback waits for): 10 s, or
  the whole track when it is shorter; ``first_with_load_s``: the same counted from
  before loading;
- ``separate_s`` and the real-time factor ``rtf`` = separation time / track length.

Targets (issue 4): rtf <= 0.5 and first 10 s within 5 s, on 2 CPU cores.

Run: ``.venv/bin/python bench/bench_default_speed.py --minutes 3``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from bench_separation_memory import write_track

from remixer_app.core.audio_io import load_audio
from remixer_app.core.separation import load_separator

FIRST_S = 10.0  # what playback waits for before it can start


class _TimedSink:
    """Records when the stems first cover ``frames`` frames."""

    def __init__(self, frames: int, start: float) -> None:
        self.frames, self.start, self.reached = frames, start, None
        self.written = 0

    def write(self, start: int, chunk: Mapping[str, np.ndarray]) -> None:
        self.written = start + len(next(iter(chunk.values())))
        if self.reached is None and self.written >= self.frames:
            self.reached = time.perf_counter() - self.start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--ensemble", default="default")
    parser.add_argument("--member", help="time one member of the ensemble alone")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice, all cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        track = Path(tmp) / "track.wav"
        source = write_track(track, args.minutes)
        mix = load_audio(track).samples
    t0 = time.perf_counter()
    separator = load_separator(args.ensemble, device="cpu", member=args.member)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = min(int(FIRST_S * 44100), len(mix))  # a shorter track: all of it
    sink = _TimedSink(first, t1)
    separator.separate_into(mix, sink)
    separate_s = time.perf_counter() - t1
    assert sink.reached is not None  # the sink saw the whole track, so the first part
    figures = {"ensemble": args.ensemble, "member": args.member, "source": source,
               "minutes": args.minutes, "threads": torch.get_num_threads(),
               "load_s": round(load_s, 2), "first_audio_s": round(first / 44100, 2),
               "first_s": round(sink.reached, 2),
               "first_with_load_s": round(sink.reached + load_s, 2),
               "separate_s": round(separate_s, 1),
               "rtf": round(separate_s / (args.minutes * 60), 3)}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
