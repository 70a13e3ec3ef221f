"""The hearing-aid engine: stems + listener + per-stem gains -> hearing-aid output.

It computes exactly the Cadenza ICASSP 2024 chain (per-stem gain, sum, loudness
match to the mixture, NAL-R per ear, optional compressor, clip, resample) but
re-renders a gain change without touching the audio twice:

* NAL-R and the gains are linear, so each stem is NAL-R-filtered once per ear and
  cached; a remix is then a weighted sum of cached signals.
* The loudness of any remix comes from cached per-block cross-powers of the stems
  (:class:`~remixer_app.core.dsp.loudness.RemixLoudness`), not from a pass over
  the audio.
* Only the compressor depends non-linearly on the remix; it runs compiled.

The same compiled kernel renders a whole track offline and one block at a time for
playback (:mod:`remixer_app.core.stream`), so both give the same samples.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from remixer_app.core.audiogram import Listener
from remixer_app.core.dsp.clip import CLIP_MODES, ClipMode, clip_signal, count_clipped
from remixer_app.core.dsp.compressor import CompressorParams, CompressorState, compress_block
from remixer_app.core.dsp.jit import kernel
from remixer_app.core.dsp.loudness import (
    BLOCK_SECONDS,
    RemixLoudness,
    finite_loudness,
    integrated_loudness,
)
from remixer_app.core.dsp.nalr import NALR_TAPS, apply_fir, nalr_fir
from remixer_app.core.dsp.resample import resample
from remixer_app.core.errors import AudioError

ENGINE_RATE = 44100
CLIP_CODES = {mode: code for code, mode in enumerate(CLIP_MODES)}  # hard 0, soft 1, none 2


@dataclass(frozen=True)
class ChainSettings:
    """Everything the user can change without re-filtering the stems.

    Attributes
    ----------
    gains_db
        Per-stem gain in dB; ``-inf`` mutes a stem; stems not named get 0 dB.
    compressor
        Compressor settings, or ``None`` for no compressor (the challenge baseline).
    clip
        ``"hard"``, ``"soft"`` (tanh) or ``"none"``.
    """

    gains_db: Mapping[str, float] = field(default_factory=dict)
    compressor: CompressorParams | None = None
    clip: ClipMode = "hard"

    def __post_init__(self) -> None:
        if self.clip not in CLIP_MODES:
            raise ValueError(f"clip must be one of {', '.join(CLIP_MODES)}, not {self.clip!r}")
        for name, gain in self.gains_db.items():
            if np.isnan(gain) or gain == float("inf"):
                raise ValueError(f"gain of {name} must be a finite number of dB or -inf (mute)")


@dataclass(frozen=True, eq=False)
class RenderPlan:
    """:class:`ChainSettings` resolved into what the render kernel takes.

    Built once per settings change, off the audio thread (:meth:`HearingAidEngine.plan`),
    so rendering a block converts nothing and allocates nothing.
    """

    settings: ChainSettings
    weights: np.ndarray        # linear, loudness-matched stem weights
    coeffs: np.ndarray         # compressor constants for the kernel
    window_length: int         # compressor RMS window in samples
    clip_code: int


@kernel
def render_block(aided: np.ndarray, weights_from: np.ndarray, weights_to: np.ndarray,
                 start: int, count: int, coeffs: np.ndarray, compressor_on: bool,
                 track_state: bool, clip_code: int, window: np.ndarray, values: np.ndarray,
                 position: np.ndarray, scratch: np.ndarray,
                 out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Mix, compress and clip ``count`` frames from ``start`` into ``out[:count]``.

    ``aided`` is (stems, ears, frames) of NAL-R-filtered stems. The stem weights
    move linearly from ``weights_from`` to ``weights_to`` across the block (equal
    arrays: constant gains). With the compressor off, ``track_state`` still advances
    its state so it can be switched on mid-stream without a jump. ``scratch`` is a
    preallocated (frames,) buffer; nothing is allocated here, so the audio callback
    may call it.
    """
    num_stems = aided.shape[0]
    ramping = False
    for k in range(num_stems):
        if weights_from[k] != weights_to[k]:
            ramping = True
    for ear in range(aided.shape[1]):
        buf = scratch[:count]
        buf[:] = 0.0
        for k in range(num_stems):
            row = aided[k, ear, start:start + count]
            w0 = weights_from[k]
            if ramping:
                step = (weights_to[k] - w0) / count
                for i in range(count):
                    buf[i] += (w0 + step * (i + 1)) * row[i]
            else:
                for i in range(count):
                    buf[i] += w0 * row[i]
        if compressor_on or track_state:
            compress_block(buf, buf, coeffs, window[ear], values[ear], position[ear:ear + 1],
                           compressor_on)
        for i in range(count):
            x = buf[i]
            if clip_code == 1:
                x = np.tanh(x)
            if clip_code != 2:
                x = min(1.0, max(-1.0, x))
            out[i, ear] = x


class HearingAidEngine:
    """Renders the hearing-aid output of any remix of one track for one listener.

    Parameters
    ----------
    stems
        Stem name -> (frames, 2) audio at :data:`ENGINE_RATE`, all the same length.
    listener
        The listener whose audiograms set the NAL-R prescription per ear.
    mixture
        The input mixture whose loudness the remix is matched to; the sum of the
        stems when ``None``.
    """

    def __init__(self, stems: Mapping[str, np.ndarray], listener: Listener, *,
                 mixture: np.ndarray | None = None) -> None:
        if not stems:
            raise AudioError("no stems to remix")
        self.stem_names = tuple(stems)
        checked = [_stereo(stems[name], name) for name in self.stem_names]
        lengths = {name: len(x) for name, x in zip(self.stem_names, checked, strict=True)}
        if len(set(lengths.values())) != 1:
            raise AudioError(f"stems differ in length: {lengths}")
        if checked[0].shape[0] < BLOCK_SECONDS * ENGINE_RATE:
            raise AudioError(f"the stems are too short: loudness matching needs at least "
                             f"{BLOCK_SECONDS} s of audio")
        stack = np.stack(checked)
        del checked
        if mixture is None:
            mixture_loudness = integrated_loudness(stack.sum(axis=0), ENGINE_RATE)
        else:
            mix = _stereo(mixture, "mixture")
            if mix.shape != stack.shape[1:]:
                raise AudioError(
                    f"the mixture has {mix.shape[0]} frames but the stems have {stack.shape[1]}")
            mixture_loudness = integrated_loudness(mix, ENGINE_RATE)
        self.listener = listener
        self.rate = ENGINE_RATE
        self.input_frames = stack.shape[1]
        self._target_lufs = finite_loudness(mixture_loudness)
        self._remix_loudness = RemixLoudness(stack, ENGINE_RATE)
        eye = np.eye(len(self.stem_names))
        self._stem_lufs = np.array([finite_loudness(self._remix_loudness.loudness(row))
                                    for row in eye])
        self.firs = (nalr_fir(listener.left, ENGINE_RATE), nalr_fir(listener.right, ENGINE_RATE))
        self.output_frames = self.input_frames + NALR_TAPS
        # (stems, ears, frames), each row contiguous for the render kernel
        self.aided = np.empty((len(self.stem_names), 2, self.output_frames))
        self._render_scratch: np.ndarray | None = None
        self._render_lock = threading.Lock()
        for k in range(len(self.stem_names)):
            for ear in range(2):
                self.aided[k, ear] = apply_fir(self.firs[ear], stack[k, :, ear])

    def stem_weights(self, gains_db: Mapping[str, float]) -> np.ndarray:
        """Linear weight of each stem in the loudness-matched remix.

        The arithmetic follows the recipe's (pyloudnorm's ``normalize.loudness`` from a
        stem's loudness to that loudness plus the gain, then from the remix loudness to
        the mixture loudness), so the result matches it to rounding error.
        """
        unknown = set(gains_db) - set(self.stem_names)
        if unknown:
            raise ValueError(f"unknown stem(s) {', '.join(sorted(unknown))}; "
                             f"stems are {', '.join(self.stem_names)}")
        gains = np.array([float(gains_db.get(name, 0.0)) for name in self.stem_names])
        with np.errstate(invalid="ignore"):
            delta = (self._stem_lufs + gains) - self._stem_lufs
        stem_gain = np.where(np.isneginf(gains), 0.0, np.power(10.0, delta / 20.0))
        remix_lufs = finite_loudness(self._remix_loudness.loudness(stem_gain))
        shift = self._target_lufs - remix_lufs
        norm = np.power(10.0, ((remix_lufs + shift) - remix_lufs) / 20.0)
        return stem_gain * norm

    def window_length(self, settings: ChainSettings) -> int:
        """Compressor RMS window in samples for ``settings``."""
        return (settings.compressor or CompressorParams()).window_length(self.rate)

    def new_state(self, settings: ChainSettings) -> CompressorState:
        """A fresh two-ear compressor state sized for ``settings``."""
        return CompressorState(self.window_length(settings), channels=2)

    def plan(self, settings: ChainSettings) -> RenderPlan:
        """Resolve ``settings`` for rendering (stem weights, compressor constants)."""
        params = settings.compressor or CompressorParams()
        return RenderPlan(settings, self.stem_weights(settings.gains_db),
                          params.coefficients(self.rate), self.window_length(settings),
                          CLIP_CODES[settings.clip])

    def render_span(self, plan: RenderPlan, weights_from: np.ndarray, start: int, count: int,
                    state: CompressorState, scratch: np.ndarray, out: np.ndarray, *,
                    clip: bool = True, track_state: bool = True,
                    ears: slice = slice(None)) -> None:
        """Render frames ``start .. start+count`` into ``out[:count]`` (no allocation).

        The stem weights ramp from ``weights_from`` to ``plan.weights`` across the
        span; ``ears`` restricts the work to some ears (columns of ``out``).
        """
        render_block(self.aided[:, ears], weights_from, plan.weights, start, count, plan.coeffs,
                     plan.settings.compressor is not None, track_state,
                     plan.clip_code if clip else CLIP_CODES["none"], state.window[ears],
                     state.values[ears], state.position[ears], scratch, out[:, ears])

    def render(self, settings: ChainSettings) -> np.ndarray:
        """The whole hearing-aid output at 44.1 kHz, before clipping and resampling.

        Returns
        -------
        numpy.ndarray
            (input frames + 220, 2) float64: the recipe's enhanced signal, which
            :meth:`finalize` turns into the exported one.
        """
        plan = self.plan(settings)
        state = self.new_state(settings)
        out = np.empty((self.output_frames, 2))

        def one_ear(ear: int) -> None:
            # The ears are independent and the kernel releases the GIL: one thread each.
            self.render_span(plan, plan.weights, 0, self.output_frames, state, scratch[ear], out,
                             clip=False, track_state=False, ears=slice(ear, ear + 1))

        with self._render_lock:
            if self._render_scratch is None:  # kept: fresh pages cost as much as the mixing
                self._render_scratch = np.empty((2, self.output_frames))
            scratch = self._render_scratch
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(one_ear, range(2)))
        return out

    @staticmethod
    def finalize(output: np.ndarray, settings: ChainSettings, rate: int
                 ) -> tuple[np.ndarray, int]:
        """Resample a :meth:`render` result to ``rate``, then clip, in the recipe's order.

        Returns
        -------
        tuple[numpy.ndarray, int]
            The signal to export, and how many of its samples lay beyond full scale
            before clipping (what the recipe logs).
        """
        resampled = resample(output, ENGINE_RATE, rate)
        over = count_clipped(resampled)
        # resample() hands back its input at equal rates: never clip the caller's array.
        return clip_signal(resampled, settings.clip, out=None if resampled is output else
                           resampled), over


def _stereo(audio: np.ndarray, name: str) -> np.ndarray:
    """(frames, 2) float64 copy of ``audio``; mono is duplicated to both channels."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = np.stack([x, x], axis=1)
    if x.ndim != 2 or x.shape[1] != 2:
        raise AudioError(f"{name} must be mono or stereo (frames, 2), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise AudioError(f"{name} contains NaN or infinite samples")
    return x
