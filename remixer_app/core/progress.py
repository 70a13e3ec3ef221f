"""Progress of long work: a monotone fraction with an ETA, and cooperative cancellation.

Workers (separation, evaluation, training) report through a plain callable so the
same code drives a CLI progress line and a Qt progress bar; the callable is invoked
on the worker's thread and must be quick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from remixer_app.core.errors import Cancelled


@dataclass(frozen=True)
class ProgressReport:
    """One progress update.

    Attributes
    ----------
    fraction
        Done so far, 0..1; never decreases within one piece of work.
    eta_s
        Estimated seconds left, or None before there is anything to extrapolate from.
    message
        What is being done, for a status line.
    """

    fraction: float
    eta_s: float | None
    message: str

    @property
    def percent(self) -> float:
        """``fraction`` in percent."""
        return 100.0 * self.fraction


ProgressCallback = Callable[[ProgressReport], None]
CancelCheck = Callable[[], bool]


class ProgressTracker:
    """Counts work units and forwards monotone :class:`ProgressReport` objects.

    Parameters
    ----------
    total
        Work units expected in all (any positive scale; segments, scenes...).
    callback
        Receives each report; None to only track.
    cancelled
        Polled by :meth:`check`; when it returns True, :class:`Cancelled` is raised.
    clock
        Time source (tests inject a fake one).
    done
        Units done before this tracker started (a resumed job): they count in the
        fraction but not in the rate the time left is extrapolated from.
    """

    def __init__(self, total: float, callback: ProgressCallback | None = None,
                 cancelled: CancelCheck | None = None, *,
                 clock: Callable[[], float] = time.monotonic, done: float = 0.0) -> None:
        self._total = max(float(total), 1e-12)
        self._callback = callback
        self._cancelled = cancelled
        self._clock = clock
        self._start = clock()
        self._done = float(done)
        self._fraction = self._base = min(1.0, self._done / self._total)

    @property
    def fraction(self) -> float:
        """Fraction reported so far."""
        return self._fraction

    def check(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop."""
        check_cancelled(self._cancelled)

    def report(self, message: str = "") -> None:
        """Send the current state (e.g. a new stage message) without advancing."""
        if self._callback is None:
            return
        elapsed = self._clock() - self._start
        eta = None
        if self._base < self._fraction < 1.0 and elapsed > 0.0:
            eta = elapsed * (1.0 - self._fraction) / (self._fraction - self._base)
        elif self._fraction >= 1.0:
            eta = 0.0
        self._callback(ProgressReport(self._fraction, eta, message))

    def advance(self, units: float = 1.0, message: str = "") -> None:
        """Count ``units`` more work as done, report, and honour cancellation."""
        self._done += units
        # Estimates of the total can be slightly off; clamping keeps the bar monotone.
        self._fraction = max(self._fraction, min(1.0, self._done / self._total))
        self.report(message)
        self.check()

    def finish(self, message: str = "done") -> None:
        """Report 100 %."""
        self._fraction = 1.0
        self.report(message)


def check_cancelled(cancelled: CancelCheck | None) -> None:
    """Raise :class:`Cancelled` if ``cancelled`` (when given) says the caller asked to stop."""
    if cancelled is not None and cancelled():
        raise Cancelled("cancelled")
