"""Screenshots of the app's main screens with a real track, for documentation and reviews.

Opens a track in the real main window, picks a listener preset, raises a stem so the
mix is not flat, and saves PNGs of the main window, the spectra dock, the HAAQI dock
(once an estimate is shown, or while it is still computing after ``--haaqi-wait``),
the sessions dialog (with one saved preference) and booth mode.

Run::

    .venv/bin/python bench/screenshots.py [--track PATH] [--listener N3] [--out screenshots]

The default track is the first ``../shared/data/musdb18_7s/test/*.stem.mp4``; a stem
file or stems folder brings its own stems, so no separation model is needed. Any
other audio file is separated with ``--ensemble`` (default: the default ensemble).

The window is drawn by the real X11 platform on a virtual screen: the script starts
``Xvfb`` on a free display (``apt-get install xvfb``) and stops it at the end. Qt's
X11 plugin also needs the xcb libraries (Debian: ``libxcb-cursor0 libxcb-icccm4
libxcb-keysyms1``); without them the script says so and falls back to offscreen
drawing. Where there is no Xvfb, set ``QT_QPA_PLATFORM=offscreen`` yourself (the same
widgets, drawn without a display server; fonts may differ). The app's settings, session
database and stem cache go to a temporary folder, so your own are neither used nor changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SCREEN = "1920x1200x24"
WINDOW_SIZE = (1600, 1000)
TIMEOUT_S = 600.0


def default_track() -> Path | None:
    """The first MUSDB18 test preview, or ``None`` without ``../shared/data``."""
    previews = sorted((SHARED / "musdb18_7s" / "test").glob("*.stem.mp4"))
    return previews[0] if previews else None


def start_xvfb() -> subprocess.Popen[bytes]:
    """Start Xvfb on a display it picks itself and point Qt at it.

    ``-displayfd`` makes Xvfb choose a free display number and write it to a pipe
    once the server accepts connections, so there is neither a race nor a guess.
    """
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN,
                               "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        display = pipe.readline().strip()
    if not display:
        server.kill()
        raise SystemExit("Xvfb did not start; try QT_QPA_PLATFORM=offscreen instead")
    os.environ["DISPLAY"] = f":{display}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return server


def xcb_works() -> bool:
    """Whether Qt's X11 plugin loads; it aborts the process when its libraries are missing
    (libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...), so try in a child process."""
    probe = subprocess.run([sys.executable, "-c", "from PySide6.QtGui import QGuiApplication; "
                            "QGuiApplication([])"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("Qt cannot use the X11 platform; falling back to QT_QPA_PLATFORM=offscreen:\n"
              + probe.stderr.strip(), file=sys.stderr)
    return probe.returncode == 0


def isolate_user_folders(root: Path) -> None:
    """Send the app's per-user files (settings, sessions, cache) into ``root``."""
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        folder = root / var.lower()
        folder.mkdir()
        os.environ[var] = str(folder)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> bool:
    """Run the Qt event loop until ``condition()`` holds; False (and a note) on timeout."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            print(f"  (still waiting for {what} after {timeout_s:.0f} s; shooting anyway)")
            return False
        QTest.qWait(50)
    return True


def shoot(widget: object, path: Path) -> None:
    """Save ``widget`` as drawn now."""
    from PySide6.QtTest import QTest

    QTest.qWait(300)  # let layouts and repaints settle
    if not widget.grab().save(str(path)):  # type: ignore[attr-defined]
        raise SystemExit(f"cannot write {path}")
    print(f"  {path}")


def take_screenshots(track: Path, listener: str, ensemble: str | None, out: Path,
                     haaqi_wait_s: float) -> None:
    """Open ``track`` in the main window and save the screenshots into ``out``."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from remixer_app.core.mix_model import MixModel
    from remixer_app.ui.main_window import MainWindow
    from remixer_app.ui.track_controller import TrackController

    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = QSettings(os.path.join(os.environ["XDG_CONFIG_HOME"], "screenshots.ini"),
                         QSettings.Format.IniFormat)
    has_stems = track.is_dir() or track.name.lower().endswith(".stem.mp4")
    # A factory giving no separator makes the track loader use the file's own stems.
    controller = TrackController(MixModel(), separator_factory=(lambda: None)
                                 if has_stems else None)
    window = MainWindow(controller, settings=settings)
    errors: list[str] = []
    window.show_error = lambda parent, title, text: errors.append(f"{title}: {text}")
    if ensemble is not None:
        window.separation_menu.choose(ensemble)
    window.resize(*WINDOW_SIZE)
    window.show()
    workspace = window.workspace

    print(f"opening {track}")
    engines: list[object] = []
    controller.engine_ready.connect(engines.append)
    window.open_path(track)
    wait_until(lambda: bool(engines or errors), TIMEOUT_S, "the track")
    if errors or not engines:
        raise SystemExit(f"cannot open {track}: {'; '.join(errors) or 'timed out'}")
    if window.model.listener is None or window.model.listener.id != listener:
        if not window.listener_panel.select_listener(listener):
            raise SystemExit(f"no listener preset {listener!r}: {'; '.join(errors)}")
        wait_until(lambda: len(engines) > 1, TIMEOUT_S, f"the hearing aid for {listener}")
    lead = window.model.state.stems[0]  # vocals, or the first instrument of an ensemble
    window.model.set_gain(lead, 6.0)
    window.statusBar().clearMessage()  # e.g. "using the stems stored in the file"
    wait_until(lambda: workspace.spectra.spectra is not None, TIMEOUT_S, "the spectra")
    wait_until(lambda: workspace.haaqi.result is not None, haaqi_wait_s, "the HAAQI estimate")

    out.mkdir(parents=True, exist_ok=True)
    print(f"saving into {out}")
    shoot(window, out / "main_window.png")
    shoot(workspace.dock, out / "spectra_dock.png")
    shoot(workspace.haaqi_dock, out / "haaqi_dock.png")
    workspace.ask_note = lambda: (f"{lead} up 6 dB", True)  # type: ignore[method-assign]
    workspace.save_current()
    dialog = workspace.show_sessions()
    if dialog is not None:
        dialog.resize(1100, 700)
        shoot(dialog, out / "sessions_dialog.png")
        dialog.close()
    workspace.set_booth_mode(True)
    shoot(window, out / "booth_mode.png")
    workspace.set_booth_mode(False)
    window.close()
    app.processEvents()
    if errors:
        raise SystemExit("errors while taking screenshots: " + "; ".join(errors))


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, set up the display and the user folders, take the shots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--track", type=Path, default=default_track(),
                        help="audio file, .stem.mp4 or stems folder (default: the first "
                             "MUSDB18 test preview in ../shared/data)")
    parser.add_argument("--listener", default="N3", help="listener preset (default: N3)")
    parser.add_argument("--ensemble", help="ensemble for a track without stems")
    parser.add_argument("--out", type=Path, default=Path("screenshots"),
                        help="folder for the PNGs (default: ./screenshots)")
    parser.add_argument("--haaqi-wait", type=float, default=300.0,
                        help="seconds to wait for the HAAQI estimate before shooting it "
                             "while it computes (default: 300)")
    args = parser.parse_args(argv)
    if args.track is None:
        parser.error("no --track given and ../shared/data/musdb18_7s/test has no previews")
    server = None
    if not os.environ.get("QT_QPA_PLATFORM"):
        if shutil.which("Xvfb") is None:
            parser.error("Xvfb is not installed (apt-get install xvfb); or run with "
                         "QT_QPA_PLATFORM=offscreen")
        server = start_xvfb()
        if not xcb_works():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        with tempfile.TemporaryDirectory(prefix="remixer-screenshots-") as root:
            isolate_user_folders(Path(root))
            take_screenshots(args.track.resolve(), args.listener, args.ensemble,
                             args.out.resolve(), args.haaqi_wait)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
