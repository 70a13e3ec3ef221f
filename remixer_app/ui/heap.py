"""Keep the GIL free for the GUI thread: garbage-collector passes and the torch import.

A full garbage collection walks every container object the process holds, with the GIL
held. Once the window is built that is about 150 000 objects (105-130 ms per full pass on the
2-core development machine), and 300 000 once torch is imported (210-230 ms;
``bench/bench_gc_pause.py``): a hitch in a slider drag, and a gap in the audio callback.
Nearly all of them are modules, classes and functions that live as long as the process.
:func:`settle` collects once and hands everything still alive to the collector's
permanent generation, so later passes walk only what was made since.

Importing torch holds the GIL for about half a second while its shared libraries load;
:func:`warm_up` does that on a worker at start-up, then settles again, instead of letting
the first separation freeze the window.
"""

from __future__ import annotations

import gc

from remixer_app.core.progress import CancelCheck, ProgressCallback
from remixer_app.core.separation import import_libraries
from remixer_app.ui.workers import Worker, start


def settle() -> None:
    """Collect the garbage there is now, then stop scanning what is left.

    Call it where a burst of long-lived objects has just been made (the window built,
    torch imported), not in a loop: the full pass it starts with is the pause it saves
    later. Frozen objects are still freed as soon as nothing refers to them; only
    reference cycles among them are kept until :func:`gc.unfreeze`.
    """
    gc.collect()
    gc.freeze()


def warm_up() -> Worker:
    """Import the separators' libraries on a pool thread; settle once they are in."""

    def job(progress: ProgressCallback, cancelled: CancelCheck) -> None:
        import_libraries()

    worker = Worker(job)
    worker.signals.finished.connect(lambda _request, _result: settle())
    return start(worker)
