"""The compiled per-block kernels of the hearing-aid engine's render path.

A block is mixed per ear from the cached stems with weights that ramp across it (so a
gain change never clicks), then compressed (single-band or the Cadenza 2 multiband
compressor) and clipped. The offline render and playback
(:mod:`remixer_app.core.stream`) run the same kernels, so both give the same samples;
nothing here allocates, so the audio callback may call them.
"""

from __future__ import annotations

import numpy as np

from remixer_app.core.dsp.compressor import compress_block
from remixer_app.core.dsp.jit import kernel
from remixer_app.core.dsp.multiband import multiband_block


@kernel
def _mix_ear(aided: np.ndarray, ear: int, weights_from: np.ndarray, weights_to: np.ndarray,
             start: int, count: int, buf: np.ndarray) -> None:  # pragma: no cover - compiled
    """Weighted sum of one ear's stems into ``buf[:count]``, the weights ramping across it."""
    num_stems = aided.shape[0]
    ramping = False
    for k in range(num_stems):
        if weights_from[k] != weights_to[k]:
            ramping = True
    buf[:count] = 0.0
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


@kernel
def _clip_ear(buf: np.ndarray, count: int, clip_code: int, out: np.ndarray,
              ear: int) -> None:  # pragma: no cover - compiled
    """Clip ``buf[:count]`` as ``clip_code`` says into column ``ear`` of ``out``."""
    for i in range(count):
        x = buf[i]
        if clip_code == 1:
            x = np.tanh(x)
        if clip_code != 2:
            x = min(1.0, max(-1.0, x))
        out[i, ear] = x


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
    for ear in range(aided.shape[1]):
        buf = scratch[:count]
        _mix_ear(aided, ear, weights_from, weights_to, start, count, buf)
        if compressor_on or track_state:
            compress_block(buf, buf, coeffs, window[ear], values[ear], position[ear:ear + 1],
                           compressor_on)
        _clip_ear(buf, count, clip_code, out, ear)


@kernel
def render_block_multiband(aided: np.ndarray, weights_from: np.ndarray,
                           weights_to: np.ndarray, start: int, count: int,
                           program: np.ndarray, taps: np.ndarray, compressors: np.ndarray,
                           filters: np.ndarray, gains: np.ndarray, work: np.ndarray,
                           position: np.ndarray, clip_code: int, scratch: np.ndarray,
                           out: np.ndarray) -> None:  # pragma: no cover - compiled
    """:func:`render_block` for the multiband hearing aid (``aided``: the plain stems).

    ``program`` and ``taps`` are the crossover's (the same for both ears),
    ``compressors`` (ears, bands, 8) each ear's band compressors, and ``filters``,
    ``gains``, ``work`` and ``position`` the ears' rows of a :class:`MultibandState`.
    """
    for ear in range(aided.shape[1]):
        buf = scratch[:count]
        _mix_ear(aided, ear, weights_from, weights_to, start, count, buf)
        multiband_block(buf, buf, program, taps, compressors[ear], filters[ear], gains[ear],
                        work[ear], position[ear:ear + 1])
        _clip_ear(buf, count, clip_code, out, ear)
