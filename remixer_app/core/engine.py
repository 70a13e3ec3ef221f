"""The hearing-aid engine: stems + listener + per-stem gains -> hearing-aid output.

It computes exactly the Cadenza ICASSP 2024 chain (per-stem gain, sum, loudness
match to the mixture, NAL-R per ear, optional compressor, clip, resample) but
re-renders a gain change without touching the audio twice:

* NAL-R and the gains are linear, so each stem is NAL-R-filtered once per ear and
  cached; a remix is then a weighted sum of cached signals.
* The loudness of any remix comes from cached per-block cross-powers of the stems
  (:mod:`remixer_app.core.loudness_match`), not from a pass over the audio.
* Only the compressor depends non-linearly on the remix; it runs compiled.

The same compiled kernels (:mod:`remixer_app.core.render_kernels`) render a whole track
offline and one block at a time for playback (:mod:`remixer_app.core.stream`), so both
give the same samples.

With ``hearing_aid="multiband"`` the engine is the Cadenza 2 (classical music) hearing
aid instead: no NAL-R and no loudness match; the gained stems are summed with the
Cadenza 2 level rule (:func:`~remixer_app.core.dsp.multiband_fitting.level_adjustment_db`)
and each ear goes through a six-band compressor fitted to that ear
(:mod:`remixer_app.core.dsp.multiband`), run statefully in the compiled render path
like the single-band one.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from remixer_app.core.audiogram import Listener
from remixer_app.core.chain_settings import CLIP_CODES, ENGINE_RATE, ChainSettings, RenderPlan
from remixer_app.core.dsp.clip import clip_signal, count_clipped
from remixer_app.core.dsp.compressor import CompressorParams, CompressorState
from remixer_app.core.dsp.loudness import finite_loudness, integrated_loudness
from remixer_app.core.dsp.multiband_fitting import (
    input_gain,
    level_adjustment_db,
    multiband_params,
)
from remixer_app.core.dsp.multiband_params import MultibandParams, MultibandState
from remixer_app.core.dsp.nalr import NALR_TAPS, apply_fir_into, nalr_fir
from remixer_app.core.dsp.resample import resample
from remixer_app.core.engine_inputs import checked_inputs
from remixer_app.core.errors import AudioError
from remixer_app.core.instruments import HEARING_AIDS, HearingAid
from remixer_app.core.loudness_match import LoudnessMatch
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker
from remixer_app.core.render_kernels import render_block, render_block_multiband

EXCERPT_S = 30.0  #: seconds from the middle of a track :meth:`HearingAidEngine.excerpt` takes
RENDER_BLOCK = 1 << 16  #: frames :meth:`HearingAidEngine.render` mixes at a time
#: A renderer's running state: the single-band compressor's or the multiband one's.
EngineState = CompressorState | MultibandState


class HearingAidEngine:
    """Renders the hearing-aid output of any remix of one track for one listener.

    Parameters
    ----------
    stems
        Stem name -> (frames, 2) audio at
        :data:`~remixer_app.core.chain_settings.ENGINE_RATE`, all the same length.
    listener
        The listener whose audiograms fit the hearing aid to each ear.
    mixture
        The input mixture whose loudness the remix is matched to; the sum of the
        stems when ``None``. The multiband aid has no loudness match and ignores it
        (beyond checking its shape): it brings the stems' sum to its input level.
    hearing_aid
        ``"nalr"``: NAL-R and the optional single-band compressor (Cadenza ICASSP 2024);
        ``"multiband"``: the Cadenza 2 aid (level rule, six-band compressor per ear).
    players
        How many players a stem holds where more than one (two violins in one stem):
        the Cadenza 2 level rule counts players.
    progress, cancelled
        Report how far fitting has gone; raise
        :class:`~remixer_app.core.errors.Cancelled` between its stages once
        ``cancelled()`` turns true.

    Attributes
    ----------
    multiband
        Each ear's multiband compressor settings (left, right), fitted by
        :func:`~remixer_app.core.dsp.multiband_fitting.multiband_params`; kept in
        both modes, used by the multiband one.
    aided
        (stems, ears, frames): the NAL-R-filtered stems, or for the multiband aid the
        stems times :attr:`input_gain`, whose weighted sum is the input of the
        compressor; float64.
    input_gain
        What the aid multiplies the remix by before anything else: 1 for NAL-R; for
        the multiband aid the gain that brings the mixture to the level its fitting
        assumes (:func:`~remixer_app.core.dsp.multiband_fitting.input_gain`).
    delay
        Frames by which the output lags the input: NAL-R's linear-phase group delay
        (110), or 0 for the multiband aid.
    """

    def __init__(self, stems: Mapping[str, np.ndarray], listener: Listener, *,
                 mixture: np.ndarray | None = None, hearing_aid: HearingAid = "nalr",
                 players: Mapping[str, int] | None = None,
                 progress: ProgressCallback | None = None,
                 cancelled: CancelCheck | None = None) -> None:
        if hearing_aid not in HEARING_AIDS:
            raise ValueError(f"hearing_aid must be one of {', '.join(HEARING_AIDS)}, "
                             f"not {hearing_aid!r}")
        if not stems:
            raise AudioError("no stems to remix")
        self.hearing_aid: HearingAid = hearing_aid
        self.stem_names = tuple(stems)
        if set(players or {}) - set(stems):
            raise ValueError(f"players given for stems not in the track: {players}")
        self.players = {name: int((players or {}).get(name, 1)) for name in self.stem_names}
        checked, mix = checked_inputs(stems, mixture, hearing_aid)
        frames = checked[0].shape[0]
        # Seconds for a long track: each stage reports and honours a cancel (a replaced
        # fitting must not hold up the next one).
        tracker = ProgressTracker(3 + len(checked), progress, cancelled)
        tracker.check()
        self.listener = listener
        self.rate = ENGINE_RATE
        self.input_frames = frames
        self.multiband: tuple[MultibandParams, MultibandParams] = (
            multiband_params(listener.left, ENGINE_RATE),
            multiband_params(listener.right, ENGINE_RATE))
        coefficients = [params.coefficients(ENGINE_RATE) for params in self.multiband]
        self._multiband_left = coefficients[0]  # sizes every state (designing takes ms)
        self._program, self._taps = coefficients[0].program, coefficients[0].taps
        self._band_compressors = np.stack([c.compressor for c in coefficients])
        if hearing_aid == "multiband":
            self.firs = (np.ones(1), np.ones(1))  # no NAL-R: a unit impulse per ear
            self.output_frames = self.input_frames
            self.delay = 0
            # float64 as for NAL-R: the render kernels are compiled for float64 (while the
            # excerpt is scored), never for a new type at the first block of playback
            self.aided = np.empty((len(self.stem_names), 2, frames))
            for k, stem in enumerate(checked):
                self.aided[k] = stem.T
            tracker.advance(len(checked), "measuring the loudness of the stems")
            # From the stems' sum, not a given mixture: `remixer render` and the reference
            # chain have only the stems, and a silent or stray mixture file must not set it.
            self.input_gain = input_gain(integrated_loudness(self.aided.sum(axis=0).T,
                                                             ENGINE_RATE))
            self.aided *= self.input_gain
            tracker.finish("fitted")
            return
        self.input_gain = 1.0
        # Stem by stem, never a stacked copy: a long track's stems would not fit twice.
        if mix is None:
            mix = checked[0].astype(np.float64)
            for stem in checked[1:]:
                mix += stem
        target_lufs = finite_loudness(integrated_loudness(mix, ENGINE_RATE))
        del mix
        tracker.advance(1.0, "measuring the loudness of the stems")
        self._loudness_match = LoudnessMatch(checked, target_lufs, ENGINE_RATE)
        tracker.advance(2.0, "filtering the stems for each ear")
        self.firs = (nalr_fir(listener.left, ENGINE_RATE), nalr_fir(listener.right, ENGINE_RATE))
        self.output_frames = self.input_frames + NALR_TAPS
        self.delay = NALR_TAPS // 2
        # (stems, ears, frames), each row contiguous for the render kernel
        # float64: float32 would round the filtered stems beyond the recipe's tolerance
        self.aided = np.empty((len(self.stem_names), 2, self.output_frames))
        for k, stem in enumerate(checked):
            for ear in range(2):
                apply_fir_into(self.firs[ear], stem[:, ear], self.aided[k, ear])
            tracker.advance(1.0, "filtering the stems for each ear")
        tracker.finish("fitted")

    def fits(self, listener: Listener | None, hearing_aid: str) -> bool:
        """Whether this engine was fitted for ``listener`` (that very object, as a model
        holds it) and ``hearing_aid``."""
        return self.listener is listener and self.hearing_aid == hearing_aid

    def stem_weights(self, gains_db: Mapping[str, float]) -> np.ndarray:
        """Linear weight of each stem in the remix.

        NAL-R: the loudness-matched remix, as the recipe computes it
        (:meth:`~remixer_app.core.loudness_match.LoudnessMatch.weights`). Multiband:
        ``10 ** (g / 20)`` times the Cadenza 2 level rule's gain for these gains.
        """
        unknown = set(gains_db) - set(self.stem_names)
        if unknown:
            raise ValueError(f"unknown stem(s) {', '.join(sorted(unknown))}; "
                             f"stems are {', '.join(self.stem_names)}")
        gains = np.array([float(gains_db.get(name, 0.0)) for name in self.stem_names])
        if self.hearing_aid == "multiband":
            level = np.power(10.0, level_adjustment_db(gains, list(self.players.values()))
                             / 20.0)
            return np.power(10.0, gains / 20.0) * level
        return self._loudness_match.weights(gains)

    def window_length(self, settings: ChainSettings) -> int:
        """Compressor RMS window in samples for ``settings`` (0 for the multiband aid)."""
        if self.hearing_aid == "multiband":
            return 0
        return (settings.compressor or CompressorParams()).window_length(self.rate)

    def new_state(self, settings: ChainSettings) -> EngineState:
        """A fresh two-ear compressor state sized for ``settings``."""
        if self.hearing_aid == "multiband":
            return MultibandState(self._multiband_left, channels=2)
        return CompressorState(self.window_length(settings), channels=2)

    def plan(self, settings: ChainSettings) -> RenderPlan:
        """Resolve ``settings`` for rendering (stem weights, compressor constants)."""
        params = settings.compressor or CompressorParams()
        return RenderPlan(settings, self.stem_weights(settings.gains_db),
                          params.coefficients(self.rate), self.window_length(settings),
                          CLIP_CODES[settings.clip])

    def render_span(self, plan: RenderPlan, weights_from: np.ndarray, start: int, count: int,
                    state: EngineState, scratch: np.ndarray, out: np.ndarray, *,
                    clip: bool = True, track_state: bool = True,
                    ears: slice = slice(None)) -> None:
        """Render frames ``start .. start+count`` into ``out[:count]`` (no allocation).

        The stem weights ramp from ``weights_from`` to ``plan.weights`` across the
        span; ``ears`` restricts the work to some ears (columns of ``out``). ``state``
        comes from :meth:`new_state` (the multiband one ignores ``track_state``: its
        compressor is always on).
        """
        clip_code = plan.clip_code if clip else CLIP_CODES["none"]
        if isinstance(state, MultibandState) != (self.hearing_aid == "multiband"):
            raise TypeError(f"state {type(state).__name__} is not for the "
                            f"{self.hearing_aid} hearing aid: use new_state()")
        if isinstance(state, MultibandState):
            render_block_multiband(self.aided[:, ears], weights_from, plan.weights, start, count,
                                   self._program, self._taps, self._band_compressors[ears],
                                   state.filters[ears], state.gains[ears], state.work[ears],
                                   state.position[ears], clip_code, scratch, out[:, ears])
            return
        render_block(self.aided[:, ears], weights_from, plan.weights, start, count, plan.coeffs,
                     plan.settings.compressor is not None, track_state, clip_code,
                     state.window[ears], state.values[ears], state.position[ears], scratch,
                     out[:, ears])

    def render(self, settings: ChainSettings) -> np.ndarray:
        """The whole hearing-aid output at 44.1 kHz, before clipping and resampling.

        Returns
        -------
        numpy.ndarray
            (:attr:`output_frames`, 2) float64: the recipe's enhanced signal, which
            :meth:`finalize` turns into the exported one. NAL-R adds 220 frames to the
            input; the multiband aid adds none.
        """
        plan = self.plan(settings)
        state = self.new_state(settings)
        out = np.empty((self.output_frames, 2))

        def one_ear(ear: int) -> None:
            # The ears are independent and the kernel releases the GIL: one thread each.
            # Block by block (the same samples as one span): a block's scratch stays in
            # cache, where a whole track's would cost 8 more bytes a frame and ear.
            scratch = np.empty(RENDER_BLOCK)
            for start in range(0, self.output_frames, RENDER_BLOCK):
                count = min(RENDER_BLOCK, self.output_frames - start)
                self.render_span(plan, plan.weights, start, count, state, scratch,
                                 out[start:start + count], clip=False, track_state=False,
                                 ears=slice(ear, ear + 1))

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(one_ear, range(2)))
        return out

    def excerpt(self, settings: ChainSettings, seconds: float = EXCERPT_S
                ) -> tuple[np.ndarray, np.ndarray]:
        """The aid's input (the weighted stems, NAL-R filtered for that aid) and its
        output, before clipping, on up to ``seconds`` from the middle of the track:
        (frames, 2) each, for measuring what the aid does at ``settings``."""
        count = min(self.input_frames, int(seconds * self.rate))
        start = (self.input_frames - count) // 2
        plan = self.plan(settings)
        out = np.empty((count, 2))
        self.render_span(plan, plan.weights, start, count, self.new_state(settings),
                         np.empty(count), out, clip=False)
        remix = np.tensordot(plan.weights, self.aided[:, :, start:start + count], axes=1).T
        return remix, out

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
