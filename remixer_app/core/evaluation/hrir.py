"""Head-related impulse responses of a behind-the-ear (BTE) hearing-aid microphone.

The Cadenza ICASSP 2024 challenge played each track over two loudspeakers at
``+-angle`` and recorded it at the hearing-aid microphones. The OlHeaD sets used
here (``VP_N6-BTE_fr.mat``: MATLAB v5, ``M_data`` of 256 taps x 91 directions x 2
ears at 48 kHz) describe their own layout, which is read rather than assumed:

* ``c_data_dims`` names the axes of ``M_data`` (values, source direction, ear side);
* ``c_channel_names`` names the ears (``...-l`` and ``...-r``);
* ``M_directions`` holds azimuth and elevation in degrees per direction.

Which way a positive azimuth points is not stated in the file (``c_legend_headpos``
only labels the head-position columns X/Y/Z/yaw/pitch/roll), so it is taken from
the responses themselves: at +90 degrees the right-ear response arrives about
0.7 ms earlier and is about 13 dB stronger than the left one, so positive azimuths
lie to the listener's right. The Cadenza data generator agrees (the left speaker's
responses are its ``n<angle>`` files). ``tests/test_evaluation_hrir.py`` pins this
against the real file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.dsp.resample import resample
from remixer_app.core.errors import RemixerError

POSITIVE_AZIMUTH_IS_RIGHT = True  # see the module docstring for the evidence
_REQUIRED = ("M_data", "M_directions", "srate", "c_channel_names", "c_data_dims")
_AXES = ("values", "sourcedirection", "earside")


@dataclass(frozen=True, eq=False)
class SpeakerHrirs:
    """Responses from the two loudspeakers to the two ears.

    Attributes
    ----------
    left_speaker, right_speaker
        (taps, 2) impulse responses to the (left, right) ear.
    rate
        Sample rate of the responses in Hz.
    """

    left_speaker: np.ndarray
    right_speaker: np.ndarray
    rate: int


@dataclass(frozen=True, eq=False)
class HrirSet:
    """A set of two-ear impulse responses over many source directions.

    Attributes
    ----------
    data
        (taps, directions, 2) responses; the last axis is (left ear, right ear).
    azimuths, elevations
        Direction of each response in degrees; positive azimuths to the right.
    rate
        Sample rate in Hz.
    """

    data: np.ndarray
    azimuths: np.ndarray
    elevations: np.ndarray
    rate: int

    def direction(self, azimuth: float, elevation: float = 0.0) -> np.ndarray:
        """The (taps, 2) response from one direction, which must be in the set.

        Raises
        ------
        RemixerError
            No response was measured from that direction; the message lists the
            azimuths available at that elevation.
        """
        wrapped = (self.azimuths - azimuth + 180.0) % 360.0 - 180.0  # -180 and 180 coincide
        found = np.flatnonzero((np.abs(wrapped) < 1e-6) & (np.abs(self.elevations - elevation)
                                                           < 1e-6))
        if found.size == 0:
            level = np.abs(self.elevations - elevation) < 1e-6
            options = ", ".join(f"{a:g}" for a in np.unique(self.azimuths[level]))
            raise RemixerError(f"no HRIR measured at azimuth {azimuth:g}, elevation "
                               f"{elevation:g} degrees; available azimuths: {options or 'none'}")
        return self.data[:, found[0], :]

    def speakers(self, angle: float, rate: int) -> SpeakerHrirs:
        """Responses of a stereo pair at ``+-angle`` degrees, resampled to ``rate``.

        Resampling changes the responses' gain by about ``rate / self.rate``; the
        at-ear simulation matches loudness afterwards, so that is left as is.
        """
        left_az, right_az = (-angle, angle) if POSITIVE_AZIMUTH_IS_RIGHT else (angle, -angle)
        left, right = (np.asarray(resample(self.direction(az), self.rate, rate), dtype=np.float64)
                       for az in (left_az, right_az))
        return SpeakerHrirs(left_speaker=left, right_speaker=right, rate=rate)


def _text(cell: object) -> str:
    """A MATLAB cell entry (nested object arrays of strings) as plain text."""
    while isinstance(cell, np.ndarray):
        if cell.size == 0:
            return ""
        cell = cell.flat[0]
    return str(cell)


def load_hrir_set(path: str | os.PathLike[str]) -> HrirSet:
    """Read an OlHeaD-style HRIR ``.mat`` file.

    Raises
    ------
    RemixerError
        The file is missing, not a MATLAB v5 file, or lacks or contradicts the
        documented layout (axis names, ear names, direction table).
    """
    import scipy.io

    p = Path(path)
    if not p.is_file():
        raise RemixerError(f"HRIR file {p} does not exist")
    try:
        mat = scipy.io.loadmat(p)
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError...
        raise RemixerError(f"HRIR file {p} is not a readable MATLAB file: {exc}") from exc
    missing = [k for k in _REQUIRED if k not in mat]
    if missing:
        raise RemixerError(f"HRIR file {p} lacks {', '.join(missing)}")

    dims = [_text(c).lower().replace(" ", "") for c in np.ravel(mat["c_data_dims"])]
    if len(dims) != 3 or not all(d.startswith(a) for d, a in zip(dims, _AXES, strict=True)):
        raise RemixerError(f"HRIR file {p}: unexpected M_data axes {dims}; expected values, "
                           "source direction, ear side")
    names = [_text(c).lower() for c in np.ravel(mat["c_channel_names"])]
    try:
        order = [names.index(next(n for n in names if n.endswith(suffix)))
                 for suffix in ("-l", "-r")]
    except StopIteration:
        raise RemixerError(f"HRIR file {p}: cannot tell the ears apart in channel names "
                           f"{names}") from None

    data = np.asarray(mat["M_data"], dtype=np.float64)
    directions = np.asarray(mat["M_directions"], dtype=np.float64)
    if data.ndim != 3 or data.shape[2] != 2 or directions.shape != (2, data.shape[1]):
        raise RemixerError(f"HRIR file {p}: M_data {data.shape} and M_directions "
                           f"{directions.shape} do not fit together")
    return HrirSet(data=data[:, :, order], azimuths=directions[0], elevations=directions[1],
                   rate=int(np.ravel(mat["srate"])[0]))


def load_speaker_hrirs(path: str | os.PathLike[str], angle: float, rate: int) -> SpeakerHrirs:
    """Responses of loudspeakers at ``+-angle`` degrees (elevation 0) at ``rate`` Hz."""
    return load_hrir_set(path).speakers(angle, rate)
