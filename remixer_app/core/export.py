"""Writing remixed audio to FLAC or WAV.

Resampling and clipping are the caller's job, done in the Cadenza recipe's order;
this module only converts to the file's sample format, with the recipe's exact
16-bit rule so exported files match the reference sample for sample, and writes
atomically so a failure never leaves a half-written or damaged file behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from remixer_app.core.atomic import atomic_write, check_target
from remixer_app.core.errors import ExportError

DEFAULT_EXPORT_RATE = 32000
DEFAULT_SUBTYPE = "PCM_16"
_SAMPLE_BYTES = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}
SUBTYPES = tuple(_SAMPLE_BYTES)
EXPORT_RATES = (8000, 384000)  #: the lowest and highest sample rate written, in Hz
#: The most sample data a plain WAV holds: its sizes are 32-bit, less room for the header.
#: Longer output is written as RF64, the 64-bit WAV that FFmpeg and audio editors read.
WAV_MAX_DATA_BYTES = 2**32 - 2**12

_FORMATS = {".flac": "FLAC", ".wav": "WAV"}
EXPORT_SUFFIXES = frozenset(_FORMATS)  #: the audio file names written end in these


def check_export_target(path: str | os.PathLike[str], subtype: str = DEFAULT_SUBTYPE, *,
                        overwrite: bool = False) -> Path:
    """Check a file name and sample format before any work is spent producing the audio.

    Raises
    ------
    ExportError
        The suffix is not ``.flac``/``.wav``, the subtype is unknown or FLOAT with
        FLAC, the folder is missing, or the file exists and ``overwrite`` is false.
    """
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ExportError(f"cannot export {target}: the name must end in .flac or .wav")
    if subtype not in SUBTYPES:
        raise ExportError(f"cannot export {target}: unknown sample format {subtype!r} "
                          f"(use one of {', '.join(SUBTYPES)})")
    if fmt == "FLAC" and subtype == "FLOAT":
        raise ExportError(f"cannot export {target}: FLAC cannot store floating-point samples; "
                          "use PCM_16 or PCM_24, or a .wav name")
    return check_target(target, overwrite=overwrite)


def write_audio(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int, *,
                subtype: str = DEFAULT_SUBTYPE, overwrite: bool = False) -> Path:
    """Write float samples to a FLAC or WAV file, atomically.

    Parameters
    ----------
    path
        Output file; its suffix (``.flac`` or ``.wav``) picks the format. A WAV over
        :data:`WAV_MAX_DATA_BYTES` of samples is written as RF64.
    samples
        ``(n, channels)`` (or ``(n,)`` mono) float samples, nominally in [-1, 1].
        They are neither resampled nor clipped here.
    sample_rate
        Rate of ``samples`` in Hz, written to the header as is.
    subtype
        ``"PCM_16"`` (``int16(clip(x * 32768, -32768, 32767))``, truncating),
        ``"PCM_24"`` (converted by libsndfile) or ``"FLOAT"`` (WAV only).
    overwrite
        Replace an existing file; otherwise an existing file is an error.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ExportError
        Unsupported suffix or subtype, FLOAT with FLAC, non-finite or empty samples,
        an existing file without ``overwrite``, or a write failure such as a full disk.
    """
    target = check_export_target(path, subtype, overwrite=overwrite)
    fmt = _FORMATS[target.suffix.lower()]
    if not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ExportError(f"cannot export {target}: invalid sample rate {sample_rate!r}")
    low, high = EXPORT_RATES
    if not low <= sample_rate <= high:
        raise ExportError(f"cannot export {target}: the sample rate must be {low} to {high} Hz, "
                          f"not {sample_rate}")

    data = np.asarray(samples)
    if not np.issubdtype(data.dtype, np.floating):
        raise ExportError(f"cannot export {target}: samples must be floating point, "
                          f"not {data.dtype}")
    if data.ndim == 1:
        data = data[:, np.newaxis]
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
        raise ExportError(f"cannot export {target}: expected (samples, channels) audio, "
                          f"got shape {np.shape(samples)}")
    if not np.all(np.isfinite(data)):
        raise ExportError(f"cannot export {target}: the audio contains NaN or infinite values")

    if fmt == "WAV" and data.size * _SAMPLE_BYTES[subtype] > WAV_MAX_DATA_BYTES:
        fmt = "RF64"
    if subtype == "PCM_16":
        # The Cadenza rule: scale by 2**15 (exact in any float type), clip, truncate.
        data = np.clip(data * 32768.0, -32768, 32767).astype(np.int16)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as raw:
            file = _KeepsWriteErrors(raw)
            try:
                sf.write(file, data, int(sample_rate), subtype=subtype, format=fmt)
            except OSError:
                raise  # atomic_write turns these (e.g. ENOSPC) into ExportError
            except Exception as exc:
                if file.error is not None:  # libsndfile says only "System error."
                    raise file.error from exc
                # libsndfile names the file object; the user knows the target.
                reason = str(exc).replace(repr(file), "it")
                raise ExportError(f"cannot write {target}: {reason}") from exc

    return atomic_write(target, write, overwrite=overwrite)


class _KeepsWriteErrors:
    """A binary file for libsndfile that keeps the OS error of a failed write.

    libsndfile reports every failed write (a full disk, a quota, a file-size limit,
    an I/O error) as "System error."; writing through Python's file object instead,
    the first :class:`OSError` is kept so the user is told which one it was.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        if self.error is not None:
            return 0
        try:
            return self._raw.write(data)
        except OSError as exc:
            self.error = exc
            return 0  # a short write: libsndfile gives up

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()
