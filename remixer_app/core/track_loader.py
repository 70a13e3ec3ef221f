"""Opening a track for remixing: decode, then stems from a folder, the file, or separation.

This is the app's "open" job, Qt-free so it runs in a worker and in tests alike:

* a folder of stems: those stems, and their sum as the mixture (nothing to separate);
* a ``.stem.mp4``: separated by the ensemble, with the file's true stems kept as the
  reference for a real HAAQI; without any separator installed, its true stems are used
  (and the user is told);
* any other audio file: separated by the ensemble, through the stem cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import STEM_NAMES, load_audio, load_stems_dir
from remixer_app.core.errors import SeparationError
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressReport
from remixer_app.core.separation.cache import StemCache
from remixer_app.core.separation.cached import separate_cached
from remixer_app.core.separation.separator import Separator


@dataclass(frozen=True)
class OpenedTrack:
    """A track ready for the engine.

    Attributes
    ----------
    path
        The file or stems folder opened.
    mixture
        ``(frames, 2)`` float32 at 44.1 kHz.
    stems
        The stems the app remixes, same shape as ``mixture``.
    true_stems
        The track's real stems when it came with them (stem file, stems folder).
    source
        Where ``stems`` came from, for the user.
    warnings
        Things the user should know (clipping input, a fallback taken).
    """

    path: Path
    mixture: np.ndarray
    stems: Mapping[str, np.ndarray]
    true_stems: Mapping[str, np.ndarray] | None
    source: str
    warnings: tuple[str, ...]

    @property
    def frames(self) -> int:
        """Length in frames."""
        return len(self.mixture)


def open_track(path: str | Path, separator: Callable[[], Separator] | None, *,
               cache: StemCache | None = None, progress: ProgressCallback | None = None,
               cancelled: CancelCheck | None = None) -> OpenedTrack:
    """Open ``path`` (audio file or stems folder) and get its stems.

    Parameters
    ----------
    separator
        Returns the separator to use; called here (on the worker's thread), so the
        models load only when a plain audio file needs them. None, or a factory that
        raises :class:`SeparationError`, means none can be had: stem files then fall
        back to their own stems.

    Raises
    ------
    AudioError
        The file or folder cannot be read.
    SeparationError
        The track needs separating and no separator can be loaded (the message says
        which models are needed).
    Cancelled
        ``cancelled()`` became true.
    """
    p = Path(path)
    if p.is_dir():
        stems = load_stems_dir(p)
        mixture = np.sum([stems[s] for s in STEM_NAMES], axis=0, dtype=np.float32)
        _done(progress, "stems folder opened")
        return OpenedTrack(p, mixture, stems, stems, "stems folder", ())
    audio = load_audio(p)
    warnings = list(audio.warnings)
    chosen = None
    if separator is not None:
        try:
            chosen = separator()  # loads the models: here, in the caller's worker
        except SeparationError:
            if audio.stems is None:
                raise
    if chosen is None:
        if audio.stems is None:
            raise SeparationError("no separator is installed, so only stems folders and "
                                  ".stem.mp4 files can be opened (see models/README.md)")
        warnings.append("no separator is installed: using the stems stored in the file")
        _done(progress, "stems read from the file")
        return OpenedTrack(p, audio.samples, audio.stems, audio.stems, "stems in the file",
                           tuple(warnings))
    warnings.extend(chosen.warnings)
    stems, from_cache = separate_cached(chosen, audio.samples, cache=cache, progress=progress,
                                        cancelled=cancelled)
    source = f"{chosen.spec.name} ({'from the cache' if from_cache else 'separated'})"
    return OpenedTrack(p, audio.samples, stems, audio.stems, source, tuple(warnings))


def _done(progress: ProgressCallback | None, message: str) -> None:
    if progress is not None:
        progress(ProgressReport(1.0, 0.0, message))
