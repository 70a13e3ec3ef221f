"""ITU-R BS.1770-4 integrated loudness, and the loudness of any remix from cached statistics.

The Cadenza recipe measures loudness with pyloudnorm: K-weighting (an RBJ high
shelf then an RBJ high pass), 400 ms blocks every 100 ms, an absolute gate at
-70 LUFS and a relative gate 10 LU below the absolute-gated level. This module
reproduces that measurement (tested against pyloudnorm) and adds what the recipe
lacks: K-weighting is linear, so the K-weighted remix is ``sum_k a_k K(s_k)`` and
each block's mean square is the quadratic form ``a^T P_j a`` over the per-block
cross-powers ``P_j`` of the stems. Those are computed once per track; the loudness
of a remix with new gains then costs microseconds instead of a pass over the audio.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import numpy as np
import scipy.signal

BLOCK_SECONDS = 0.4
OVERLAP = 0.75
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
SILENCE_LUFS = -80.0  # the recipe's stand-in for a loudness of -inf
CHUNK_FRAMES = 1 << 17  #: samples of each signal K-weighted at once
#: (samples, channels) signals: a sequence of them, or a (signals, samples, channels) array
Signals: TypeAlias = Sequence[np.ndarray] | np.ndarray


def _rbj_section(kind: str, gain_db: float, q: float, fc: float, rate: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Biquad coefficients from the RBJ Audio EQ Cookbook, normalised so a[0] = 1."""
    big_a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * fc / rate
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / (2.0 * q)
    if kind == "high_shelf":
        root = 2.0 * np.sqrt(big_a) * alpha
        b = np.array([
            big_a * ((big_a + 1) + (big_a - 1) * cos_w0 + root),
            -2.0 * big_a * ((big_a - 1) + (big_a + 1) * cos_w0),
            big_a * ((big_a + 1) + (big_a - 1) * cos_w0 - root),
        ])
        a = np.array([
            (big_a + 1) - (big_a - 1) * cos_w0 + root,
            2.0 * ((big_a - 1) - (big_a + 1) * cos_w0),
            (big_a + 1) - (big_a - 1) * cos_w0 - root,
        ])
    elif kind == "high_pass":
        b = np.array([(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2])
        a = np.array([1 + alpha, -2 * cos_w0, 1 - alpha])
    else:
        raise ValueError(f"unknown filter kind {kind!r}")
    return b / a[0], a / a[0]


def k_weighting(rate: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting stages (shelf: +4 dB above 1.5 kHz; high pass at 38 Hz)."""
    return [
        _rbj_section("high_shelf", 4.0, 1.0 / np.sqrt(2.0), 1500.0, rate),
        _rbj_section("high_pass", 0.0, 0.5, 38.0, rate),
    ]


def _time_chunks(edges: np.ndarray) -> Iterator[tuple[int, int]]:
    """Split the block edges into runs ``edges[i:j + 1]`` about :data:`CHUNK_FRAMES` long
    (at least one piece each), so a piece never straddles two chunks."""
    i = 0
    while i < len(edges) - 1:
        j = max(i + 1, int(np.searchsorted(edges, edges[i] + CHUNK_FRAMES, "right")) - 1)
        yield i, j
        i = j


def _piece_cross_sums(signals: Signals, rate: float,
                      edges: np.ndarray) -> np.ndarray:
    """(pieces, channels, n, n): the sum over each ``[edges[i], edges[i + 1])`` of
    ``K(s_k)[:, c] * K(s_m)[:, c]`` for the n (samples, channels) ``signals``.

    K-weighting runs a chunk of time at a time, its filter state carried over (the same
    samples as one pass), so only a chunk of each K-weighted signal is held, never a
    full-length float64 copy: a long track's stems would not fit twice.
    """
    stages = k_weighting(rate)
    count, channels = len(signals), signals[0].shape[1]
    states = [[np.zeros((2, channels)) for _ in stages] for _ in range(count)]
    pieces = np.empty((len(edges) - 1, channels, count, count))
    for i, j in _time_chunks(edges):
        weighted = []
        for k in range(count):
            out = np.asarray(signals[k][edges[i]:edges[j]], dtype=np.float64)
            for stage, (b, a) in enumerate(stages):
                out, states[k][stage] = scipy.signal.lfilter(b, a, out, axis=0,
                                                             zi=states[k][stage])
            weighted.append(out)
        local = edges[i:j] - edges[i]
        for k in range(count):
            for m in range(k, count):
                power = np.add.reduceat(weighted[k] * weighted[m], local, axis=0)
                pieces[i:j, :, k, m] = power
                pieces[i:j, :, m, k] = power
    return pieces


def block_bounds(num_samples: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last sample of each gating block, as pyloudnorm places them."""
    if num_samples < BLOCK_SECONDS * rate:
        # In samples too: 0.39998 s printed as "0.400 s" would contradict "0.4 s".
        raise ValueError(
            f"audio of {num_samples} samples ({num_samples / rate:.3f} s) is too short: "
            f"loudness needs at least {BLOCK_SECONDS} s ({math.ceil(BLOCK_SECONDS * rate)} "
            "samples)")
    step = 1.0 - OVERLAP
    duration = num_samples / rate
    count = int(np.round((duration - BLOCK_SECONDS) / (BLOCK_SECONDS * step))) + 1
    j = np.arange(count)
    # int() truncation of these float products is part of the definition we match.
    lower = np.array([int(BLOCK_SECONDS * (i * step) * rate) for i in j], dtype=np.int64)
    upper = np.array([int(BLOCK_SECONDS * (i * step + 1) * rate) for i in j], dtype=np.int64)
    return lower, np.minimum(upper, num_samples)


def _block_cross_sums(signals: Signals, rate: float) -> np.ndarray:
    """(blocks, channels, n, n) sum over each gating block of ``K(s_k) * K(s_m)``.

    Blocks overlap, so the time axis is cut at every block edge, each piece is summed
    once (:func:`_piece_cross_sums`), and each block adds up its few pieces.
    """
    lower, upper = block_bounds(signals[0].shape[0], rate)
    # Samples after the last block belong to no block: the last edge ends the pieces.
    edges = np.unique(np.concatenate([lower, upper]))
    pieces = _piece_cross_sums(signals, rate, edges)
    first = np.searchsorted(edges, lower)
    last = np.searchsorted(edges, upper)
    out = np.zeros((len(lower),) + pieces.shape[1:], dtype=np.float64)
    for offset in range(int((last - first).max())):
        take = first + offset < last
        out[take] += pieces[first[take] + offset]
    return out


def gated_loudness(block_power: np.ndarray) -> float:
    """Integrated loudness from per-block mean squares.

    Parameters
    ----------
    block_power
        (blocks, channels) mean square of the K-weighted signal in each block;
        channel weights are 1 (mono or stereo).

    Returns
    -------
    float
        Loudness in LUFS; ``-inf`` when no block passes the gates.
    """
    total = block_power.sum(axis=1)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(total)
    above_abs = block_lufs >= ABSOLUTE_GATE_LUFS
    if not above_abs.any():
        return float("-inf")
    relative_gate = (-0.691 + 10.0 * np.log10(block_power[above_abs].mean(axis=0).sum())
                     + RELATIVE_GATE_LU)
    gated = (block_lufs > relative_gate) & (block_lufs > ABSOLUTE_GATE_LUFS)
    if not gated.any():
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(-0.691 + 10.0 * np.log10(block_power[gated].mean(axis=0).sum()))


def integrated_loudness(signal: np.ndarray, rate: float) -> float:
    """Integrated loudness of a (samples,) or (samples, channels) signal in LUFS."""
    x = np.asarray(signal)
    sums = _block_cross_sums([x[:, None] if x.ndim == 1 else x], rate)[:, :, 0, 0]
    return gated_loudness(sums / (BLOCK_SECONDS * rate))


def finite_loudness(lufs: float) -> float:
    """The recipe's rule: a loudness of -inf counts as -80 LUFS."""
    return SILENCE_LUFS if lufs == float("-inf") else lufs


class RemixLoudness:
    """Loudness of ``sum_k a_k * stem_k`` for any weights ``a``, from cached statistics.

    Parameters
    ----------
    stems
        The stems to be mixed, each (samples, channels) (a (stems, samples, channels)
        array will do).
    rate
        Sample rate in Hz.
    """

    def __init__(self, stems: Signals, rate: float) -> None:
        # _cross[j, c, k, m]: mean over block j of K(s_k)[:, c] * K(s_m)[:, c]
        self._cross = _block_cross_sums(stems, rate) * (1.0 / (BLOCK_SECONDS * rate))

    def block_power(self, weights: np.ndarray) -> np.ndarray:
        """(blocks, channels) mean square of the K-weighted remix with these weights."""
        return np.einsum("jckm,k,m->jc", self._cross, weights, weights)

    def loudness(self, weights: np.ndarray) -> float:
        """Integrated loudness (LUFS) of the remix ``sum_k weights[k] * stem_k``."""
        return gated_loudness(self.block_power(np.asarray(weights, dtype=np.float64)))
