"""Entry point of the ``remixer-app`` desktop application.

``remixer-app --smoke-test`` builds the window, runs the event loop for about a
second and exits 0; packaging and CI run it (headless, with
``QT_QPA_PLATFORM=offscreen``) to prove that a build starts at all.

Loading the window's modules (scipy, numba, pyqtgraph) takes seconds, so only Qt is
imported up front: a splash screen says the app is starting while the rest loads.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt, QThreadPool, QTimer
from PySide6.QtGui import QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from remixer_app import APP_NAME, __version__

if TYPE_CHECKING:
    from remixer_app.ui.main_window import MainWindow

SMOKE_TEST_MS = 1000
SPLASH_SIZE = (420, 150)


def _parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="remixer-app", description="Remix music for listeners with hearing loss.")
    parser.add_argument("--smoke-test", action="store_true",
                        help="build the window, run the event loop for about 1 s and exit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Unknown options go to Qt, which understands e.g. -platform and -style.
    return parser.parse_known_args(argv)


def _application(qt_args: list[str]) -> QApplication:
    """The running QApplication (e.g. pytest-qt's), or a new one."""
    existing = QApplication.instance()
    if existing is not None:
        if not isinstance(existing, QApplication):
            raise RuntimeError("a non-widget Qt application already exists; cannot open a window")
        return existing
    app = QApplication([sys.argv[0] if sys.argv else "remixer-app", *qt_args])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    return app


def _splash() -> QSplashScreen:
    """A splash screen, shown at once, naming the app and saying that it is starting."""
    width, height = SPLASH_SIZE
    pixmap = QPixmap(width, height)
    pixmap.fill(QApplication.palette().window().color())
    painter = QPainter(pixmap)
    painter.setPen(QApplication.palette().windowText().color())
    title = QFont(QApplication.font())
    title.setPointSizeF(title.pointSizeF() * 2)
    painter.setFont(title)
    painter.drawText(QRect(0, 0, width, height * 2 // 3), Qt.AlignmentFlag.AlignCenter,
                     APP_NAME)
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.showMessage(f"Version {__version__}: starting...",
                       Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                       QApplication.palette().windowText().color())
    splash.show()
    QApplication.processEvents()  # paint it before the slow imports start
    return splash


def _open_window() -> MainWindow:
    """Show the splash while the window's modules load, then the window in its place."""
    splash = _splash()
    try:
        from remixer_app.ui.main_window import MainWindow  # the slow import

        window = MainWindow()
        window.show()
    finally:
        splash.close()
    return window


def _smoke_test(app: QApplication) -> int:
    """Show the window, spin the event loop briefly, and fail on any uncaught exception."""
    errors: list[BaseException] = []
    previous_hook = sys.excepthook

    # PySide6 reports exceptions raised in slots through sys.excepthook and carries on,
    # so without this hook a broken build could still exit 0.
    def record(kind: type[BaseException], exc: BaseException,
               tb: TracebackType | None) -> None:
        errors.append(exc)
        previous_hook(kind, exc, tb)

    sys.excepthook = record
    try:
        window = _open_window()
        QTimer.singleShot(SMOKE_TEST_MS, lambda: app.exit(0))
        code = app.exec()
        playback = window.playback_label.text()
        window.close()
    finally:
        sys.excepthook = previous_hook
    if errors:
        print(f"smoke test failed: {len(errors)} uncaught exception(s)", file=sys.stderr)
        return 1
    if code != 0:
        print(f"smoke test failed: event loop exited with {code}", file=sys.stderr)
        return code
    print(f"smoke test passed; {playback}")
    return 0


def _after_jobs(status: int) -> int:
    """``status``, once the background jobs still running have ended.

    Closing the window cancels separations, but a report or an export being written
    finishes: quitting mid-way would tear Qt and Python down under a worker still
    painting into the file (a crash, and the file lost).
    """
    QThreadPool.globalInstance().waitForDone()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop application.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``sys.argv[1:]`` when ``None``.
        Options the app does not know are passed on to Qt.

    Returns
    -------
    int
        The exit status: 0 on success, non-zero when the window could not be built,
        the smoke test saw an uncaught exception, or the event loop failed.
    """
    args, qt_args = _parse_args(argv)
    try:
        app = _application(qt_args)
        if args.smoke_test:
            return _after_jobs(_smoke_test(app))
        _window = _open_window()  # kept referenced while the event loop runs
        from remixer_app.ui import heap

        heap.settle()
        heap.warm_up()
        return _after_jobs(app.exec())
    except Exception:
        # A GUI launched from a menu has nowhere else to report a start-up failure.
        traceback.print_exc()
        return 1


if __name__ == "__main__":  # run directly by PyInstaller's frozen entry point
    sys.exit(main())
