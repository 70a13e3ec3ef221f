"""How long one full garbage-collector pass stalls the app, with and without heap.settle().

A full pass holds the GIL, so the GUI thread (and the audio callback's Python side) waits
for it. This builds the main window offscreen, opens a track with the default ensemble
(which imports torch), and times a full ``gc.collect()`` pass:

* after the window is built, before and after ``heap.settle()``, and after
  ``heap.warm_up()`` (what ``remixer-app`` does once the window is shown);
* after the track has opened, and the same heap with every object handed back to the
  collector (``gc.unfreeze()``): what a pass would cost without settling.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gc_pause.py [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from remixer_app.ui import heap  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402

RATE = 44100
PASSES = 3


def full_pass_ms() -> float:
    """The longest of a few full collections, in milliseconds."""
    longest = 0.0
    for _ in range(PASSES):
        start = time.perf_counter()
        gc.collect()
        longest = max(longest, time.perf_counter() - start)
    return longest * 1000


def spin(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the track")
    args = parser.parse_args()
    app = QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CACHE_HOME"] = folder  # separate for real, not from the stem cache
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.show()
        spin(app, 1.0)
        print(f"window built: {len(gc.get_objects())} objects tracked, "
              f"full pass {full_pass_ms():.1f} ms")
        heap.settle()
        print(f"after heap.settle(): {len(gc.get_objects())} objects tracked, "
              f"full pass {full_pass_ms():.1f} ms")
        warmed: list[bool] = []
        heap.warm_up().signals.finished.connect(lambda *_: warmed.append(True))
        while not warmed:
            spin(app, 0.1)
        spin(app, 0.5)
        print(f"after heap.warm_up() (torch imported, settled again): "
              f"{len(gc.get_objects())} objects tracked, full pass {full_pass_ms():.1f} ms")

        song = Path(folder) / "noise.wav"
        noise = np.random.default_rng(0).standard_normal((int(args.seconds * RATE), 2))
        sf.write(song, (0.1 * noise).astype(np.float32), RATE)
        opened: list[bool] = []
        window.controller.track_opened.connect(lambda _: opened.append(True))
        window.open_path(song)
        while not opened:
            spin(app, 0.1)
        spin(app, 1.0)
        settled = full_pass_ms()
        print(f"track opened ({window.controller.track.source}): "  # type: ignore[union-attr]
              f"{len(gc.get_objects())} objects tracked, full pass {settled:.1f} ms")
        gc.unfreeze()
        unsettled = full_pass_ms()
        print(f"the same heap, nothing frozen: {len(gc.get_objects())} objects tracked, "
              f"full pass {unsettled:.1f} ms ({unsettled / max(settled, 1e-3):.0f}x longer)")
        window.close()


if __name__ == "__main__":
    main()
