"""Spectra of a track's stems for display, before and after the hearing aid, for any gains.

Levels are on the dB FS scale of :mod:`remixer_app.core.band_levels`. A remix is a
weighted sum, and the power spectrum of a sum is not the sum of the powers: the stems
are correlated (bleed between separated stems, shared rhythm). So
:class:`TrackSpectra` keeps, per channel and frequency, the matrix of cross-powers
``S_jk = mean over Welch segments of Re(X_j conj(X_k))``. The spectrum of any
``sum_k w_k x_k`` is then the quadratic form ``w^T S w``: exact (it is what a Welch
estimate of the summed signal gives, to rounding) and instant for any gains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from remixer_app.core.band_levels import (
    LONG_TERM_NFFT,
    Reader,
    segment_chunks,
    stereo_rows,
    to_db,
    welch_power,
    welch_segments,
)
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressTracker

if TYPE_CHECKING:
    from remixer_app.core.aid_effect import AidEffect
    from remixer_app.core.engine import HearingAidEngine

MIXTURE_KEY, OUTPUT_KEY = "mixture", "output"


def _cross_powers(read: Reader, signals: int, frames: int, nfft: int,
                  tick: Callable[[], None]) -> np.ndarray:
    """(channels, bins, signals, signals) mean of Re(X_j conj X_k) over Welch segments."""
    total = np.zeros(0)
    segments = 0
    for chunk in welch_segments(read, frames, nfft, tick):
        real, imag = chunk.real, chunk.imag
        if segments == 0:
            total = np.zeros((chunk.shape[1], chunk.shape[3], signals, signals))
        # Re(X_j conj X_k) = Xr_j Xr_k + Xi_j Xi_k; each pair once, the matrix is symmetric.
        # (A batched Gram matmul needs a transposed copy and measured slower.)
        for j in range(signals):
            for k in range(j, signals):
                pair = np.sum(real[j] * real[k] + imag[j] * imag[k], axis=1)
                total[:, :, j, k] += pair
                if k != j:
                    total[:, :, k, j] += pair
        segments += chunk.shape[2]
    return total / segments


@dataclass(frozen=True, eq=False)
class TrackSpectra:
    """Cross-spectra of one track's stems, before and after the hearing aid.

    Attributes
    ----------
    freqs
        Bin frequencies in Hz, (bins,).
    stem_names
        The engine's stem order, which weights follow.
    inputs
        (channels, bins, stems, stems) cross-powers of the stems as they enter the
        hearing aid (per stereo channel).
    aided
        (ears, bins, stems, stems) cross-powers of the stems through the aid's linear
        part (``engine.aided``: NAL-R-filtered, or plain for the multiband aid); what the
        rest of the aid does is an :class:`~remixer_app.core.aid_effect.AidEffect`.
    mixture
        (channels, bins) power of the mixture given to :meth:`compute`, or ``None``
        when the mixture is the plain sum of the stems (then it is ``w = 1``).
    """

    freqs: np.ndarray
    stem_names: tuple[str, ...]
    inputs: np.ndarray
    aided: np.ndarray
    mixture: np.ndarray | None = None

    @classmethod
    def compute(cls, engine: HearingAidEngine, stems: Mapping[str, np.ndarray], *,
                mixture: np.ndarray | None = None, nfft: int = LONG_TERM_NFFT,
                progress: ProgressCallback | None = None,
                cancelled: CancelCheck | None = None) -> TrackSpectra:
        """One pass over the stems and one over ``engine.aided`` (seconds for a song).

        Raises
        ------
        Cancelled
            ``cancelled()`` turned true; it is checked after each chunk of segments.
        """
        names = engine.stem_names
        missing = set(names) - set(stems)
        if missing:
            raise ValueError(f"stems lack {', '.join(sorted(missing))}")
        frames = engine.input_frames
        total = segment_chunks(frames, nfft) + segment_chunks(engine.output_frames, nfft)
        tracker = ProgressTracker(total, progress, cancelled)

        def tick() -> None:
            tracker.advance(1.0, "Measuring spectra")  # also raises Cancelled when asked

        def read_inputs(a: int, b: int) -> np.ndarray:
            return np.stack([stereo_rows(stems[name][a:b]) for name in names])

        inputs = _cross_powers(read_inputs, len(names), frames, nfft, tick)
        aided = _cross_powers(lambda a, b: engine.aided[:, :, a:b], len(names),
                              engine.output_frames, nfft, tick)
        mix = None if mixture is None else welch_power(stereo_rows(mixture).T, nfft)[0]
        tracker.finish("Spectra measured")
        return cls(np.fft.rfftfreq(nfft, 1.0 / engine.rate), tuple(names), inputs, aided, mix)

    @staticmethod
    def _form(cross: np.ndarray, weights: np.ndarray) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        # w^T S w per channel and bin; S is symmetric, so this is the exact Welch power.
        return np.einsum("j,cbjk,k->cb", w, cross, w)

    def remix_power(self, weights: np.ndarray) -> np.ndarray:
        """(channels, bins) power of ``sum_k weights[k] * stem_k`` (no hearing aid)."""
        return self._form(self.inputs, weights)

    def output_power(self, weights: np.ndarray, effect: AidEffect | None = None
                     ) -> np.ndarray:
        """(ears, bins) power of the hearing-aid output: its linear part's, times what
        ``effect`` measured the rest does (``None``: the linear part alone)."""
        power = self._form(self.aided, weights)
        return power if effect is None else power * effect.power_gain_at(self.freqs)

    def stem_power(self, weights: np.ndarray) -> np.ndarray:
        """(stems, channels, bins) power of each weighted stem."""
        diagonal = np.diagonal(self.inputs, axis1=2, axis2=3)  # (channels, bins, stems)
        return np.asarray(weights, dtype=float)[:, None, None] ** 2 * diagonal.transpose(2, 0, 1)

    def mixture_power(self) -> np.ndarray:
        """(channels, bins) power of the mixture."""
        if self.mixture is not None:
            return self.mixture
        return self.remix_power(np.ones(len(self.stem_names)))

    def levels(self, weights: np.ndarray, ear: int | None = None,
               effect: AidEffect | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Name -> (freqs, dB FS) of each weighted stem, the mixture and the output.

        ``ear`` picks a channel (0 left, 1 right); ``None`` averages the two powers.
        ``effect`` is what the aid's compressor and clipper do (see :meth:`output_power`).
        Keys: the stem names, :data:`MIXTURE_KEY` and :data:`OUTPUT_KEY`.
        """
        def pick(power: np.ndarray) -> np.ndarray:
            return to_db(power.mean(axis=-2) if ear is None else power[..., ear, :])

        out = {name: (self.freqs, pick(p))
               for name, p in zip(self.stem_names, self.stem_power(weights), strict=True)}
        out[MIXTURE_KEY] = (self.freqs, pick(self.mixture_power()))
        out[OUTPUT_KEY] = (self.freqs, pick(self.output_power(weights, effect)))
        return out

