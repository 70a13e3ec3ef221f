"""Block-by-block rendering for playback, with live setting changes and seeking.

The audio callback calls :meth:`StreamRenderer.render_into`; the GUI thread calls
:meth:`~StreamRenderer.apply` and :meth:`~StreamRenderer.seek`. They share nothing
mutable: the GUI thread builds a new immutable render plan (or a new cursor,
for a seek) and swaps it in with one reference assignment, which the callback picks
up at its next block. The callback only reads preallocated arrays and writes into
the output buffer, so it never allocates, locks or waits.

With constant settings from frame 0 the blocks are the offline render sample for
sample. A gain change takes effect in the very next block, ramped across it so
the step cannot click; the compressor state carries on through it.
"""

from __future__ import annotations

import numpy as np

from remixer_app.core.chain_settings import ChainSettings, RenderPlan
from remixer_app.core.engine import EngineState, HearingAidEngine

WARMUP_SECONDS = 10.0  # compressor history replayed after a seek (release decays ~e^-10)
# The multiband aid forgets faster (filters in milliseconds, releases of 100 ms): it
# replays this many of its slowest release time constants (e^-20 of the error is left).
MULTIBAND_WARMUP_RELEASES = 20.0


def warmup_seconds(engine: HearingAidEngine) -> float:
    """How much history :meth:`StreamRenderer.seek` replays to rebuild the state."""
    if engine.hearing_aid != "multiband":
        return WARMUP_SECONDS
    slowest = max(max(params.release) for params in engine.multiband) / 1000.0
    return min(WARMUP_SECONDS, MULTIBAND_WARMUP_RELEASES * slowest)


class _Cursor:
    """Read position plus the compressor state that belongs to it."""

    def __init__(self, position: int, state: EngineState) -> None:
        self.position = position
        self.state = state


class StreamRenderer:
    """Renders an engine's output in blocks while settings change.

    Parameters
    ----------
    engine
        The prepared engine (stems already NAL-R filtered, or the multiband aid's).
    settings
        Initial settings.
    max_block
        Largest block the callback will ask for.
    """

    def __init__(self, engine: HearingAidEngine, settings: ChainSettings,
                 max_block: int = 4096) -> None:
        self.engine = engine
        self.max_block = max_block
        self._scratch = np.empty(max_block)
        self._plan: RenderPlan = engine.plan(settings)
        self._weights_now = self._plan.weights.copy()  # what the last block ended on
        self._fresh = True  # nothing rendered since the last seek: no ramp to continue
        self._cursor = _Cursor(0, engine.new_state(settings))
        self._warmup_frames = int(warmup_seconds(engine) * engine.rate)

    @property
    def settings(self) -> ChainSettings:
        """The settings the next block will use."""
        return self._plan.settings

    @property
    def position(self) -> int:
        """Next output frame to be rendered."""
        return self._cursor.position

    @property
    def frames(self) -> int:
        """Length of the output in frames."""
        return self.engine.output_frames

    def apply(self, settings: ChainSettings) -> None:
        """Use ``settings`` from the next block on (GUI thread)."""
        self.apply_plan(self.engine.plan(settings))

    def apply_plan(self, plan: RenderPlan) -> None:
        """:meth:`apply` for a plan already resolved by ``engine.plan`` (shared by callers
        that drive several renderers, so a slider move resolves its settings once)."""
        old = self._plan
        self._plan = plan
        if self._fresh:  # e.g. a loop's spare cursor: it starts on these weights, no ramp
            self._weights_now[:] = plan.weights
        if old.window_length != self._plan.window_length:
            self.seek(self._cursor.position, catch_up=True)  # a new window, its own history

    def seek(self, frame: int, *, catch_up: bool = False) -> None:
        """Continue from ``frame`` (GUI thread).

        The compressor state at ``frame`` depends on the past, so it is rebuilt by
        replaying up to :func:`warmup_seconds` before it with the current settings.
        With ``catch_up`` (``frame`` being where the renderer is while it plays), the
        frames the audio thread rendered meanwhile are replayed too, so the new state
        takes over where the old one is, not blocks behind it.
        """
        frame = int(np.clip(frame, 0, self.frames))
        plan = self._plan
        state = self.engine.new_state(plan.settings)
        start = max(0, frame - self._warmup_frames)
        scratch = np.empty(self.max_block)
        sink = np.empty((self.max_block, 2))
        while True:
            while start < frame:
                count = min(self.max_block, frame - start)
                self.engine.render_span(plan, plan.weights, start, count, state, scratch, sink)
                start += count
            if not catch_up or self._cursor.position <= frame:
                break
            frame = self._cursor.position  # played on meanwhile: replay those frames too
        self._fresh = True
        self._cursor = _Cursor(frame, state)

    def render_into(self, out: np.ndarray) -> int:
        """Fill ``out`` ((frames, 2), float) with the next frames (audio thread).

        Buffers longer than ``max_block`` are rendered in pieces. Frames past the end
        of the track are zero. Returns the number of frames of audio written before
        the end.
        """
        cursor = self._cursor
        plan = self._plan
        wanted = min(out.shape[0], self.frames - cursor.position)
        done = 0
        while done < wanted:
            count = min(self.max_block, wanted - done)
            self.engine.render_span(plan, self._weights_now, cursor.position, count,
                                    cursor.state, self._scratch, out[done:done + count])
            self._weights_now[:] = plan.weights
            self._fresh = False
            cursor.position += count
            done += count
        out[done:] = 0.0
        return done
