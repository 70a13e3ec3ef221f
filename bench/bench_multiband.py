"""Speed of the Cadenza 2 multiband compressor and of the engine's multiband mode, in one run.

Times, on real MUSDB18 preview stems from ../shared/data (synthetic noise stems, and it
says so, when that folder is absent):

* 30 s of stereo 44.1 kHz audio through pyclarity's ``MultibandCompressor`` and through
  ours (:func:`~remixer_app.core.dsp.multiband.multiband_compress`), their ratio and the
  largest difference between the two;
* the engine's re-render of a 3-minute 4-stem track after a gain change with
  ``hearing_aid="multiband"`` (gains, level rule, per-ear compressors);
* one 1024-frame playback block of the streaming renderer in that mode.

Run: ``.venv/bin/python bench/bench_multiband.py`` (about a minute; pyclarity is most of it).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_engine import block_times, build_track, timed  # the same track and timers

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.audiogram import get_preset
from remixer_app.core.chain_settings import ENGINE_RATE, ChainSettings
from remixer_app.core.dsp.multiband import multiband_compress
from remixer_app.core.dsp.multiband_fitting import multiband_params
from remixer_app.core.dsp.reference import reference_multiband
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.stream import StreamRenderer


def main() -> None:
    # No options; --help says what runs instead of starting the minute-long run.
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    listener = get_preset("N3")
    stems, origin = build_track(180.0)
    print(f"track: 180 s, {origin}; listener {listener.id}")

    excerpt = sum(stems.values())[: 30 * ENGINE_RATE]
    params = multiband_params(listener.left, ENGINE_RATE)
    multiband_compress(excerpt[:1000], params, ENGINE_RATE)  # compile (or load the cache)
    ref_time, ref = timed(lambda: reference_multiband(excerpt, params))
    ours_time, ours = timed(lambda: multiband_compress(excerpt, params, ENGINE_RATE), repeat=3)
    print(f"30 s stereo through the multiband compressor: pyclarity {ref_time:6.2f} s | ours "
          f"{ours_time:6.3f} s | ratio {ref_time / ours_time:5.1f}x | max |diff| "
          f"{float(np.abs(ours - ref).max()):.1e}")

    build_time, engine = timed(lambda: HearingAidEngine(stems, listener,
                                                        hearing_aid="multiband"))
    first = dict.fromkeys(STEM_NAMES, 0.0)
    changed = {"vocals": 6.0, "drums": -3.0, "bass": -10.0, "other": 0.0}
    engine.render(ChainSettings(first))  # compile (or load the cache)
    cpu_start = time.process_time()
    render_time, _ = timed(lambda: engine.render(ChainSettings(changed)), repeat=3)
    cpu_time = (time.process_time() - cpu_start) / 3  # both ears' threads; load-independent
    print(f"engine (multiband), 3-min 4-stem track: preparation {build_time:.2f} s | "
          f"re-render after a gain change {render_time:.3f} s (CPU {cpu_time:.2f} s "
          f"over 2 threads)")

    print(block_times(StreamRenderer(engine, ChainSettings(changed)), 500))


if __name__ == "__main__":
    main()
