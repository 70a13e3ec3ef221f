"""Writing what the user made: the hearing-aid output, the plain remix, the stems.

Shared by the ``remixer`` commands and the app's export actions, so both give the
same files: the Cadenza output format by default (32 kHz, 16-bit FLAC, the recipe's
order of resampling then clipping), always written atomically.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import TARGET_RATE
from remixer_app.core.chain_settings import ChainSettings
from remixer_app.core.dsp.clip import ClipMode
from remixer_app.core.engine import HearingAidEngine
from remixer_app.core.export import (
    DEFAULT_EXPORT_RATE,
    DEFAULT_SUBTYPE,
    check_export_target,
    write_audio,
)


@dataclass(frozen=True)
class Exported:
    """A written file and what happened on the way.

    Attributes
    ----------
    path
        The file.
    seconds
        Its duration.
    clipped
        Samples beyond full scale before clipping (0 when none).
    """

    path: Path
    seconds: float
    clipped: int

    def clip_note(self, mode: ClipMode, subtype: str = DEFAULT_SUBTYPE) -> str:
        """What to tell about the samples beyond full scale, which ``mode`` clipped
        before the file's ``subtype`` took them; "" when there were none."""
        if not self.clipped:
            return ""
        treated = ("kept as they are" if mode == "none" and subtype == "FLOAT" else
                   "clipped by the file format" if mode == "none" else f"{mode} clip applied")
        return f"{self.clipped:,} samples exceeded full scale ({treated})"


def remix_signal(engine: HearingAidEngine, stems: Mapping[str, np.ndarray],
                 settings: ChainSettings, *, aid_input: bool = False) -> np.ndarray:
    """The loudness-matched remix without the hearing aid, (frames, 2) float64 at 44.1 kHz.

    Uses the engine's stem weights, so it is exactly the remix the hearing aid hears;
    ``aid_input`` takes the aid's input level in too
    (:attr:`~remixer_app.core.engine.HearingAidEngine.input_gain`: the multiband aid's
    -40 LUFS; NAL-R's is 1), as the recipes' remix that HAAQI's level comes from.
    """
    weights = engine.stem_weights(settings.gains_db)
    if aid_input:
        weights = weights * engine.input_gain
    out = np.zeros(np.shape(stems[engine.stem_names[0]]), np.float64)
    for weight, name in zip(weights, engine.stem_names, strict=True):
        if weight != 0.0:
            out += weight * np.asarray(stems[name], np.float64)
    return out


def export_aided(engine: HearingAidEngine, settings: ChainSettings, path: str | Path, *,
                 rate: int = DEFAULT_EXPORT_RATE, subtype: str = DEFAULT_SUBTYPE,
                 overwrite: bool = False) -> Exported:
    """Render the hearing-aid output with ``settings`` and write it to ``path``."""
    check_export_target(path, subtype, overwrite=overwrite)  # before the render, not after
    final, over = HearingAidEngine.finalize(engine.render(settings), settings, rate)
    written = write_audio(path, final, rate, subtype=subtype, overwrite=overwrite)
    return Exported(written, final.shape[0] / rate, over)


def export_remix(engine: HearingAidEngine, stems: Mapping[str, np.ndarray],
                 settings: ChainSettings, path: str | Path, *, rate: int = DEFAULT_EXPORT_RATE,
                 subtype: str = DEFAULT_SUBTYPE, overwrite: bool = False,
                 aid_input: bool = False) -> Exported:
    """Write the remix without the hearing aid, resampled, then hard-clipped as the
    player's remix is heard (the clip mode is the hearing aid's).

    ``aid_input`` writes it as the aid takes it in (see :func:`remix_signal`).
    """
    check_export_target(path, subtype, overwrite=overwrite)
    remix = remix_signal(engine, stems, settings, aid_input=aid_input)
    final, over = HearingAidEngine.finalize(remix, replace(settings, clip="hard"), rate)
    written = write_audio(path, final, rate, subtype=subtype, overwrite=overwrite)
    return Exported(written, final.shape[0] / rate, over)


def export_stems(stems: Mapping[str, np.ndarray], folder: str | Path, *, suffix: str = ".wav",
                 subtype: str = "FLOAT", overwrite: bool = False) -> list[Path]:
    """Write each stem as ``<folder>/<stem><suffix>`` at 44.1 kHz.

    Every target is checked before the first file is written, so a clash found late
    never leaves a half-exported set; and if a write fails (a full disk, Ctrl-C), the
    files this call created are removed again, so that the folder is as it was and a
    second try does not stumble over them. Files it replaced stay replaced.
    """
    targets = {name: Path(folder) / f"{name}{suffix}" for name in stems}
    for target in targets.values():
        check_export_target(target, subtype, overwrite=overwrite)
    written: list[Path] = []
    created: list[Path] = []
    try:
        for name, target in targets.items():
            new = not target.exists()
            written.append(write_audio(target, stems[name], TARGET_RATE, subtype=subtype,
                                       overwrite=overwrite))
            if new:
                created.append(target)
    except BaseException:
        for path in created:
            with contextlib.suppress(OSError):  # the first error is the one to report
                path.unlink(missing_ok=True)
        raise
    return written
