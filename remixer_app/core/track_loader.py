"""Opening a track for remixing: decode, then stems from a folder, the file, or separation.

This is the app's "open" job, Qt-free so it runs in a worker and in tests alike:

* a folder of stems (pop stems or a classical ensemble's instruments): those stems, and
  the folder's ``mixture.*`` file or else their sum as the mixture (nothing to separate);
* a ``.stem.mp4``: separated by the ensemble, with the file's true stems kept as the
  reference for a real HAAQI; without any separator installed, its true stems are used
  (and the user is told);
* any other audio file: separated by the ensemble, through the stem cache.

A plain file the user has said is a classical ensemble is separated into its
instruments by the :data:`CLASSICAL_ENSEMBLE`; the caller loads that separator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from remixer_app.core.audio_io import TARGET_RATE, load_audio, mixture_of
from remixer_app.core.errors import SeparationError
from remixer_app.core.instruments import instrument_list
from remixer_app.core.memory_check import check_fits
from remixer_app.core.mix_state import track_stems
from remixer_app.core.progress import CancelCheck, ProgressCallback, ProgressReport, check_cancelled
from remixer_app.core.separation.cache import StemCache
from remixer_app.core.separation.cached import separate_cached
from remixer_app.core.separation.preview import PREVIEW_SECONDS
from remixer_app.core.separation.separator import Separator
from remixer_app.core.stems_folder import (
    MIXTURE_NAME,
    align_lengths,
    ignored_files_note,
    load_stems_dir,
    stem_files,
    stem_players,
)


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
    players
        How many players a stem holds where a stems folder says so (its numbered
        files); 1 for every other stem.
    complete
        False for the first seconds of a track handed over while the rest is being
        separated (``open_track``'s ``preview``): playable, not to be exported.
    """

    path: Path
    mixture: np.ndarray
    stems: Mapping[str, np.ndarray]
    true_stems: Mapping[str, np.ndarray] | None
    source: str
    warnings: tuple[str, ...]
    players: Mapping[str, int] = field(default_factory=dict)
    complete: bool = True

    @property
    def frames(self) -> int:
        """Length in frames."""
        return len(self.mixture)

    @property
    def stem_names(self) -> tuple[str, ...]:
        """The track's stem set as the mix settings name it (see
        :func:`~remixer_app.core.mix_state.track_stems`)."""
        return track_stems(self.stems)


def load_stems_folder(folder: Path, warnings: list[str] | None = None
                      ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The stems of a stems folder and its mixture: its ``mixture.*`` file, else their sum;
    what reading them noticed goes to ``warnings`` (see
    :func:`~remixer_app.core.stems_folder.load_stems_dir`).

    Raises
    ------
    AudioError
        See :func:`~remixer_app.core.stems_folder.load_stems_dir`; also a mixture file that
        cannot be read or is not as long as the stems.
    """
    _, mixture_file = stem_files(folder)
    stems = load_stems_dir(folder, warnings)
    if mixture_file is None:
        return stems, mixture_of(stems.values())
    mixture = load_audio(mixture_file)
    if warnings is not None:
        warnings.extend(mixture.warnings)
    tracks = align_lengths({**stems, MIXTURE_NAME: mixture.samples},
                           f"the stems and the mixture in {folder}")
    return tracks, tracks.pop(MIXTURE_NAME)


def open_track(path: str | Path, separator: Callable[[], Separator] | None, *,
               instruments: Sequence[str] | None = None, cache: StemCache | None = None,
               progress: ProgressCallback | None = None,
               cancelled: CancelCheck | None = None,
               preview: Callable[[OpenedTrack], None] | None = None) -> OpenedTrack:
    """Open ``path`` (audio file or stems folder) and get its stems.

    Parameters
    ----------
    separator
        Returns the separator to use; called here (on the worker's thread), so the
        models load only when a plain audio file needs them. None, or a factory that
        raises :class:`SeparationError`, means none can be had: stem files then fall
        back to their own stems.
    instruments
        For an audio file: the instruments of the classical ensemble it holds, which
        ``separator`` must separate it into (it is the :data:`CLASSICAL_ENSEMBLE`
        loaded for them); ``None`` for a pop track. A stems folder's files decide
        its stems, so it ignores this.
    preview
        For a file being separated afresh in more than one window (about 40 s and
        longer): called, on the separating thread, with its first
        :data:`~remixer_app.core.separation.preview.PREVIEW_SECONDS` as an incomplete
        track as soon as they are separated.

    Raises
    ------
    AudioError
        The file or folder cannot be read, or a file to separate is too long for the
        hearing aid to fit in memory (refused before it is separated: see
        :func:`~remixer_app.core.memory_check.check_fits`).
    SeparationError
        The track needs separating and no separator can be loaded (the message says
        which models are needed), or the separator's stems are not ``instruments``.
    RemixerError
        ``instruments`` are not 2 to 5 known instruments.
    Cancelled
        ``cancelled()`` became true.
    """
    p = Path(path)
    if p.is_dir():
        noticed: list[str] = []
        stems, mixture = load_stems_folder(p, noticed)
        _done(progress, "stems folder opened")
        note = ignored_files_note(p)
        return OpenedTrack(p, mixture, stems, stems, "stems folder",
                           (*noticed, note) if note else tuple(noticed), stem_players(p))
    wanted = None if instruments is None else instrument_list(instruments)
    audio = load_audio(p, cancelled)
    check_cancelled(cancelled)  # between the stages: loading the models takes seconds
    warnings = list(audio.warnings)
    # A stem file's own stems are pop stems: no reference for a track heard as an ensemble.
    true_stems = audio.stems if wanted is None else None
    chosen = None
    if separator is not None:
        try:
            chosen = separator()  # loads the models: here, in the caller's worker
        except SeparationError:
            if audio.stems is None or wanted is not None:
                raise
        check_cancelled(cancelled)
    if chosen is None:
        if audio.stems is None or wanted is not None:
            raise SeparationError("no separator is installed, so only stems folders and "
                                  ".stem.mp4 files can be opened (see models/README.md)")
        warnings.append("no separator is installed: using the stems stored in the file")
        _done(progress, "stems read from the file")
        return OpenedTrack(p, audio.samples, audio.stems, audio.stems, "stems in the file",
                           tuple(warnings))
    if wanted is not None and set(chosen.stems) != set(wanted):
        raise SeparationError(f"the {chosen.spec.name} separator gives "
                              f"{', '.join(chosen.stems)}, not the instruments chosen for "
                              f"this track ({', '.join(wanted)})")
    # The engine would refuse it only after minutes of separation: refuse it now.
    check_fits(len(audio.samples), len(chosen.stems), TARGET_RATE)
    warnings.extend(chosen.warnings)
    head = int(PREVIEW_SECONDS * TARGET_RATE)
    early = None
    # Only where the separator writes a first window before the rest (about 40 s and
    # longer): in one window, the first seconds would come with the whole.
    if preview is not None and len(chosen.windows(len(audio.samples))) > 1:
        told = tuple(warnings)

        def ready(stems: dict[str, np.ndarray]) -> None:
            # (true also once the rest is cancelled or fails: the progress bar says more)
            preview(OpenedTrack(p, audio.samples[:head], stems, None,
                                f"{chosen.spec.name} (its first {PREVIEW_SECONDS:g} s "
                                "only)", told, complete=False))

        early = (head, ready)
    result = separate_cached(chosen, audio.samples, cache=cache, progress=progress,
                             cancelled=cancelled, preview=early)
    if result.warning:
        warnings.append(result.warning)
    source = f"{chosen.spec.name} ({'from the cache' if result.from_cache else 'separated'})"
    return OpenedTrack(p, audio.samples, result.stems, true_stems, source, tuple(warnings))


def _done(progress: ProgressCallback | None, message: str) -> None:
    if progress is not None:
        progress(ProgressReport(1.0, 0.0, message))
