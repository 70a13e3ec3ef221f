"""Running an ensemble over a whole track with bounded memory, progress and cancel.

The track is cut into output windows (a short first one, so playback can start
early); each window's stems are handed to a sink in order, so a one-hour track never
has all its stems in memory. Within a window, ``demucs.apply.apply_model`` does the
segment chunking and triangular overlap blending. Each model's input window is
aligned to that model's segment stride and extends at least one segment beyond the
output window on both sides, with one more segment of real audio around it for
padding; every output frame therefore sees exactly the segments, weights and padding
that a single whole-track ``apply_model`` call would give it, so windowing changes
nothing in the result (the tests check this).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, TARGET_RATE
from remixer_app.core.dsp.resample import resample
from remixer_app.core.errors import Cancelled, SeparationError
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker
from remixer_app.core.separation.ensemble import EnsembleSpec
from remixer_app.core.separation.postprocess import PostProcess
from remixer_app.core.separation.remask import LATENCY as REMASK_LATENCY

log = logging.getLogger(__name__)

FIRST_WINDOW_S = 10.0
WINDOW_S = 60.0


class StemSink(Protocol):
    """Receives consecutive chunks of separated stems (``(frames, 2)`` float32 each)."""

    def write(self, start: int, chunk: Mapping[str, np.ndarray]) -> None:
        """Store ``chunk`` at frame ``start`` (chunks arrive in order, without gaps)."""


class ArraySink:
    """Collects stems in memory."""

    def __init__(self, frames: int, stems: tuple[str, ...] = STEM_NAMES) -> None:
        self.stems = {s: np.zeros((frames, 2), np.float32) for s in stems}

    def write(self, start: int, chunk: Mapping[str, np.ndarray]) -> None:
        """Copy ``chunk`` into place."""
        for name, data in chunk.items():
            self.stems[name][start:start + len(data)] = data


@dataclass
class Leaf:
    """One model run by the ensemble (bags are expanded into their models).

    ``weights`` holds this model's share of each ensemble stem (member weight times
    its weight inside its bag, normalised within the bag as demucs does).
    """

    member_id: str
    model: Any
    weights: dict[str, float]

    @property
    def segment_length(self) -> int:
        """Frames per ``apply_model`` segment (as ``apply_model`` computes it)."""
        return int(self.model.samplerate * self.model.segment)


class Separator:
    """An ensemble of loaded models: ``separate(audio, sr) -> {stem: (n, 2) float32}``.

    Parameters
    ----------
    spec
        The ensemble definition.
    leaves
        Its models, expanded (see :func:`remixer_app.core.separation.load_separator`).
    identity
        Names the ensemble and its exact weights; part of the stem-cache key.
    device
        Torch device to run on; ``cpu`` is the fallback when it fails.
    """

    def __init__(self, spec: EnsembleSpec, leaves: list[Leaf], identity: str,
                 device: str = "cpu", stems: tuple[str, ...] = STEM_NAMES) -> None:
        self.spec = spec
        self.leaves = leaves
        self.identity = identity if stems == STEM_NAMES else f"{identity}:{'+'.join(stems)}"
        self.device = device
        self.stems = stems
        self.warnings: list[str] = []
        self.first_window_s = FIRST_WINDOW_S
        self.window_s = WINDOW_S

    def separate(self, audio: np.ndarray, sr: int, *, progress: ProgressCallback | None = None,
                 cancelled: CancelCheck | None = None) -> dict[str, np.ndarray]:
        """Split ``audio`` ((n, 2) or mono, any rate) into stems at rate ``sr``.

        Raises
        ------
        Cancelled
            ``cancelled()`` returned True; checked inside the models, so within a
            fraction of a second.
        """
        mix = _as_stereo(audio)
        if sr != TARGET_RATE:
            mix = resample(mix, sr, TARGET_RATE).astype(np.float32)
        sink = ArraySink(len(mix), self.stems)
        self.separate_into(mix, sink, progress=progress, cancelled=cancelled)
        if sr == TARGET_RATE:
            return sink.stems
        return {k: resample(v, TARGET_RATE, sr).astype(np.float32)[:len(audio)]
                for k, v in sink.stems.items()}

    def separate_into(self, mix: np.ndarray, sink: StemSink, *,
                      progress: ProgressCallback | None = None,
                      cancelled: CancelCheck | None = None) -> None:
        """Separate a 44.1 kHz stereo float32 ``mix`` window by window into ``sink``."""
        frames = len(mix)
        windows = self.windows(frames)
        tracker = ProgressTracker(self._work(windows, frames), progress, cancelled)
        tracker.report("separating")
        tracker.check()
        mean, std = _mix_stats(mix)
        if std < 1e-8:  # digital silence: every stem is silence, no model needed
            for a, b in windows:
                sink.write(a, {s: np.zeros((b - a, 2), np.float32) for s in self.stems})
            tracker.finish()
            return
        post = PostProcess(self.spec, self.stems, mix, tracker.check)

        def emit(start: int, stems: dict[str, np.ndarray]) -> None:
            if len(stems[self.stems[0]]):
                sink.write(start, stems)

        with _cancel_hooks(self.leaves, tracker):
            for a, b in windows:
                estimates = {s: np.zeros((b - a, 2), np.float32) for s in self.stems}
                for leaf in self.leaves:
                    out = self._run_leaf(leaf, mix, a, b, mean, std, tracker)
                    for index, source in enumerate(leaf.model.sources):
                        weight = leaf.weights.get(source, 0.0)
                        if weight > 0.0 and source in estimates:
                            estimates[source] += np.float32(weight) * out[index]
                    del out
                self._means(estimates)
                emit(*post.push(estimates))
            emit(*post.finish())
        tracker.finish()

    def without_postprocessing(self) -> Separator:
        """This separator giving its models' weighted means, before the ensemble's
        residual, remask and blend (:func:`.postprocess.postprocess_track` applies
        those), to mix its stems with another's as the ensemble would."""
        spec = replace(self.spec, residual_other=False, wiener_remask=False,
                       mixture_blend=0.0)
        raw = Separator(spec, self.leaves, f"{self.identity}:raw", self.device)
        raw.stems = self.stems  # already named in the identity
        return raw

    def windows(self, frames: int) -> list[tuple[int, int]]:
        """Output windows ``[a, b)``: a short first one, then regular ones.

        With the remask, the first window is longer by the remask's latency, so its
        output still covers the first ``first_window_s`` seconds."""
        bounds = [0]
        first = int(self.first_window_s * TARGET_RATE)
        if self.spec.wiener_remask:
            first += REMASK_LATENCY
        step = int(self.window_s * TARGET_RATE)
        if frames > first + step // 2:
            bounds.append(first)
        while frames - bounds[-1] > step * 3 // 2:
            bounds.append(bounds[-1] + step)
        bounds.append(frames)
        return list(zip(bounds[:-1], bounds[1:], strict=True))

    def _work(self, windows: list[tuple[int, int]], frames: int) -> float:
        total = 0.0
        for leaf in self.leaves:
            stride = self._stride(leaf)
            for a, b in windows:
                w, e = self._input_span(leaf, a, b, frames)
                total += math.ceil((e - w) / stride) * max(1, self.spec.shifts)
        return total

    def _stride(self, leaf: Leaf) -> int:
        return max(1, int((1.0 - self.spec.overlap) * leaf.segment_length))

    def _input_span(self, leaf: Leaf, a: int, b: int, frames: int) -> tuple[int, int]:
        seg, stride = leaf.segment_length, self._stride(leaf)
        start = max(0, (a - seg) // stride * stride)
        return start, min(frames, b + seg)

    def _run_leaf(self, leaf: Leaf, mix: np.ndarray, a: int, b: int, mean: float, std: float,
                  tracker: ProgressTracker) -> np.ndarray:
        """The leaf's normalised-back estimates for output window [a, b): (sources, b-a, 2)."""
        import torch
        from demucs.apply import TensorChunk, apply_model

        frames = len(mix)
        w, e = self._input_span(leaf, a, b, frames)
        pad = leaf.segment_length
        s0, s1 = max(0, w - pad), min(frames, e + pad)
        window = torch.from_numpy(((mix[s0:s1].T - mean) / std).astype(np.float32))[None]

        def on_segment(info: dict[str, Any]) -> None:
            if info.get("state") == "end":
                tracker.advance(1.0, f"separating ({leaf.member_id})")
            else:
                tracker.check()

        def run(device: str) -> Any:
            chunk = TensorChunk(window, w - s0, e - w)  # type: ignore[no-untyped-call]
            return apply_model(leaf.model, chunk,
                               shifts=self.spec.shifts, split=True, overlap=self.spec.overlap,
                               device=device, callback=on_segment)

        try:
            out = run(self.device)
        except Cancelled:
            raise
        except (RuntimeError, AssertionError) as exc:  # torch raises both for absent devices
            if self.device == "cpu":
                raise SeparationError(f"model {leaf.member_id!r} failed: {exc}") from exc
            message = f"separation on {self.device} failed ({exc}); continuing on the CPU"
            log.warning(message)
            self.warnings.append(message)
            self.device = "cpu"
            out = run("cpu")
        out = out[0, :, :, a - w:b - w].to("cpu", torch.float32).numpy().transpose(0, 2, 1)
        # float32 throughout: a window's stems in float64 would double the peak memory.
        return out * np.float32(std) + np.float32(mean)

    def _means(self, estimates: dict[str, np.ndarray]) -> None:
        """Weighted sums to weighted means, in place on ``estimates``."""
        for stem, estimate in estimates.items():
            total = sum(leaf.weights.get(stem, 0.0) for leaf in self.leaves)
            if total > 0:
                estimate /= np.float32(total)


class _cancel_hooks:  # noqa: N801 - used as a context manager, like contextlib helpers
    """Check for cancellation before every submodule's forward.

    ``apply_model`` only calls back between segments, which on a CPU can be seconds
    apart; a check per layer brings cancellation well under a second.
    """

    def __init__(self, leaves: list[Leaf], tracker: ProgressTracker) -> None:
        self._leaves = leaves
        self._tracker = tracker
        self._handles: list[Any] = []

    def __enter__(self) -> None:
        def hook(_module: Any, _inputs: Any) -> None:
            self._tracker.check()

        for leaf in self._leaves:
            for module in leaf.model.modules():
                self._handles.append(module.register_forward_pre_hook(hook))

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _as_stereo(audio: np.ndarray) -> np.ndarray:
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] not in (1, 2):
        raise SeparationError(f"expected audio shaped (frames, 2), got {data.shape}")
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    return np.ascontiguousarray(data)


def _mix_stats(mix: np.ndarray, block: int = 1 << 20) -> tuple[float, float]:
    """Mean and standard deviation of the mono mix, as demucs normalises its input.

    Computed block by block so a long track needs no full-length temporary.
    """
    total = total_sq = 0.0
    for start in range(0, len(mix), block):
        mono = mix[start:start + block].mean(axis=1, dtype=np.float64)
        total += float(mono.sum())
        total_sq += float(np.dot(mono, mono))
    n = max(1, len(mix))
    mean = total / n
    var = max(0.0, total_sq / n - mean * mean)
    return mean, math.sqrt(var * n / max(1, n - 1))
