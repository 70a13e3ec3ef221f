"""Folders of stems: one audio file per pop stem or per instrument of an ensemble.

A folder holds either ``vocals``, ``drums``, ``bass`` and ``other``, or 2 to 5
instruments of :data:`~remixer_app.core.instruments.INSTRUMENTS`, each as one audio
file named after it (any suffix :func:`~remixer_app.core.audio_io.load_audio` reads),
plus optionally the mixture as ``mixture.*``. Two players of one instrument may come as
numbered files (``violin_1.wav``, ``violin 2.wav``, ``violin3.flac``): they are one
stem, their sum, as the Cadenza 2 challenge counts them; a folder whose files are
those sums says how many players each holds in its ``scene.json`` (see
:func:`write_players`).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from remixer_app.core.atomic import atomic_write
from remixer_app.core.audio_io import AUDIO_SUFFIXES, STEM_NAMES, TARGET_RATE, load_audio
from remixer_app.core.errors import AudioError, ExportError, RemixerError
from remixer_app.core.instruments import (
    INSTRUMENTS,
    MAX_INSTRUMENTS,
    instrument_list,
    instrument_name,
)

MIXTURE_NAME = "mixture"  # a stems folder's optional mixture file is mixture.<suffix>
SCENE_FILE = "scene.json"  # how a scene of `remixer data classical` was made
STEM_LENGTH_TOLERANCE_S = 0.1
_KNOWN = {*STEM_NAMES, *INSTRUMENTS, MIXTURE_NAME}  # the file names a stems folder reads
_NUMBERED = re.compile(r"(?P<name>.+?)[ _-]?\d+")  # violin_2: the second violin


def load_stems_dir(folder: str | os.PathLike[str], warnings: list[str] | None = None
                   ) -> dict[str, np.ndarray]:
    """Load separated stems from a folder: pop stems or the instruments of an ensemble.

    Parameters
    ----------
    folder
        Folder holding one audio file (any supported suffix) per stem, named after it:
        either ``vocals``, ``drums``, ``bass`` and ``other``, or 2 to 5 instruments of
        :data:`~remixer_app.core.instruments.INSTRUMENTS` (``violin.flac``,
        ``cello.wav``, ...). Other files, and a ``mixture.*`` file, are ignored.
    warnings
        Gets what reading the files noticed (channels dropped, clipping), if given.

    Returns
    -------
    dict[str, numpy.ndarray]
        Stem name -> ``(n, 2)`` float32 array at 44.1 kHz, in :data:`STEM_NAMES` or
        :data:`~remixer_app.core.instruments.INSTRUMENTS` order, trimmed to a common
        length.

    Raises
    ------
    AudioError
        The folder is missing, a pop stem is missing, pop stems and instruments are
        mixed, there are fewer than 2 or more than 5 instruments, a stem has several
        candidate files, a file cannot be loaded, or the lengths differ by more than
        0.1 s.
    """
    d = Path(folder)
    files, _ = stem_files(d)
    stems: dict[str, np.ndarray] = {}
    for name, paths in files.items():
        loaded = [load_audio(path) for path in paths]
        if warnings is not None:
            warnings.extend(w for audio in loaded for w in audio.warnings)
        parts = align_lengths({path.name: audio.samples for path, audio in zip(paths, loaded,
                                                                              strict=True)},
                              f"the {name} files in {d}")
        first, *others = parts.values()
        for other in others:  # players of one instrument: one stem
            first = first + other
        stems[name] = first
    return align_lengths(stems, f"the stems in {d}")


def ignored_files_note(folder: str | os.PathLike[str]) -> str | None:
    """What a stems folder's reader leaves out: its audio files that are no stem,
    instrument or mixture (e.g. ``piano.wav``), which the user should hear of."""
    d = Path(folder)
    ignored = [f.name for f in audio_files(d) if stem_name(f) not in _KNOWN]
    if not ignored:
        return None
    return (f"{d.resolve().name}: ignored {', '.join(ignored)} (not one of {', '.join(STEM_NAMES)} "
            f"or the instruments {', '.join(INSTRUMENTS)})")


def stem_files(folder: str | os.PathLike[str]
               ) -> tuple[dict[str, tuple[Path, ...]], Path | None]:
    """The audio files of a stems folder, without loading them.

    Returns
    -------
    files, mixture
        Stem name -> its file (or an instrument's numbered files), in
        :data:`STEM_NAMES` or instrument order (see :func:`load_stems_dir`); and the
        folder's ``mixture.*`` file, or ``None``.

    Raises
    ------
    AudioError
        As :func:`load_stems_dir`, for everything but loading the files.
    """
    d = Path(folder)
    if d.is_file():
        raise AudioError(f"{d} is a file; stems are read from a folder of stem files (make "
                         "one with `remixer separate TRACK --out DIR`)")
    if not d.is_dir():
        raise AudioError(f"stem folder {d} does not exist or is not a folder")
    candidates: dict[str, list[Path]] = {}
    by_base: dict[str, list[str]] = {}
    for f in audio_files(d):
        if stem_name(f) in _KNOWN:
            candidates.setdefault(stem_name(f), []).append(f)
            by_base.setdefault(_base(f), []).append(f.name)
    for base, same in by_base.items():
        if len(same) > 1:  # violin.wav beside violin.flac: which one?
            raise AudioError(f"stem folder {d} has several files for {base} "
                             f"({', '.join(same)}); keep only one")
    mixture = candidates.pop(MIXTURE_NAME, [None])[0]
    for name in STEM_NAMES:  # numbered parts are for players of an instrument
        if len(candidates.get(name, ())) > 1:
            listed = ", ".join(f.name for f in candidates[name])
            raise AudioError(f"stem folder {d} has several files for {name} ({listed}); "
                             "keep only one")
    pop = [name for name in STEM_NAMES if name in candidates]
    instruments = [name for name in INSTRUMENTS if name in candidates]
    if pop and instruments:
        raise AudioError(f"stem folder {d} mixes pop stems ({', '.join(pop)}) with "
                         f"instruments ({', '.join(instruments)}); a folder holds either "
                         f"{', '.join(STEM_NAMES)}, or the 2 to {MAX_INSTRUMENTS} "
                         "instruments of an ensemble")
    if instruments:
        try:
            names = instrument_list(instruments)
        except RemixerError as exc:
            raise AudioError(f"stem folder {d}: {exc}") from None
    else:
        missing = [name for name in STEM_NAMES if name not in candidates]
        if missing:
            hint = "" if pop else (f" (nor for 2 to {MAX_INSTRUMENTS} instruments: "
                                   f"{', '.join(INSTRUMENTS)})")
            raise AudioError(f"stem folder {d} has no audio file for: {', '.join(missing)}"
                             + hint)
        names = STEM_NAMES
    return {name: tuple(candidates[name]) for name in names}, mixture


def audio_files(folder: Path) -> list[Path]:
    """The files of ``folder`` a stems folder may read (audio by suffix), sorted."""
    return [f for f in sorted(folder.iterdir())
            if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES]


def _base(file: Path) -> str:
    """``vocals`` for ``Vocals.stem.wav``, ``violin_2`` for ``Violin_2.flac``,
    ``saxophone`` for ``Sax.wav``."""
    return instrument_name(file.name.partition(".")[0])


def stem_name(file: Path) -> str:
    """The stem a file of a stems folder is part of: ``vocals`` for ``Vocals.stem.wav``,
    ``violin`` for ``violin.flac`` and ``Violin_2.flac`` (a second violin),
    ``saxophone`` for ``Sax.wav`` and ``Sax_2.wav`` (the Cadenza 2 data's name)."""
    base = _base(file)
    numbered = _NUMBERED.fullmatch(base)
    if numbered and instrument_name(numbered["name"]) in INSTRUMENTS:
        return instrument_name(numbered["name"])
    return base


def stem_players(folder: str | os.PathLike[str]) -> dict[str, int]:
    """How many players each stem of a stems folder holds, for the Cadenza 2 level rule.

    As the folder's ``scene.json`` lists its parts (``remixer data classical`` writes one
    file per instrument, two parts of one instrument in it), else as its numbered files
    say (``violin_1.wav``, ``violin_2.wav``: 2), else 1.

    Raises
    ------
    AudioError
        As :func:`stem_files`; or ``scene.json`` cannot be read, or lists a part for an
        instrument the folder has no file of.
    """
    d = Path(folder)
    files, _ = stem_files(d)
    counts = {name: len(paths) for name, paths in files.items()}
    described = d / SCENE_FILE
    if not described.is_file():
        return counts
    try:
        parts = json.loads(described.read_text(encoding="utf-8")).get("parts") or []
        named = Counter(instrument_name(str(part["instrument"])) for part in parts)
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, KeyError,
            TypeError) as exc:
        raise AudioError(f"cannot read the parts of {described}: {exc}") from None
    strangers = sorted(set(named) - set(counts))
    if strangers:
        raise AudioError(f"{described} lists parts for {', '.join(strangers)}, which "
                         f"{d} has no file of")
    return {name: named.get(name, count) for name, count in counts.items()}


def players_file(folder: Path, players: Mapping[str, int]) -> Path | None:
    """The ``scene.json`` that :func:`write_players` writes into ``folder`` for stems of
    ``players`` (stem -> players it holds), or ``None`` when it writes nothing.

    It is written when a stem holds several players (one file per stem loses their
    count), and when ``folder`` has one already: that one describes other stems.
    """
    target = folder / SCENE_FILE
    return target if any(n > 1 for n in players.values()) or target.is_file() else None


def write_players(folder: Path, players: Mapping[str, int], *, overwrite: bool = False
                  ) -> Path | None:
    """Record beside stems written into ``folder`` how many players each holds, atomically,
    as :func:`stem_players` reads them back: ``scene.json`` listing one part per player.

    Returns
    -------
    Path or None
        The file written, or ``None`` when there is nothing to record (see
        :func:`players_file`).

    Raises
    ------
    ExportError
        The file exists (and ``overwrite`` is false) or cannot be written.
    """
    target = players_file(folder, players)
    if target is None:
        return None
    parts = [{"instrument": name} for name, count in players.items() for _ in range(count)]
    text = json.dumps({"parts": parts}, indent=1)
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                        overwrite=overwrite)


def align_lengths(tracks: Mapping[str, np.ndarray], what: str) -> dict[str, np.ndarray]:
    """Trim tracks that should be equally long to their common length.

    Decoders disagree by a few samples (codec priming, padding), so lengths that
    differ by at most :data:`STEM_LENGTH_TOLERANCE_S` are trimmed to the shortest;
    a larger difference means the files do not belong together.

    Raises
    ------
    AudioError
        The lengths differ by more than the tolerance; ``what`` names the tracks.
    """
    lengths = [t.shape[0] for t in tracks.values()]
    if max(lengths) - min(lengths) > STEM_LENGTH_TOLERANCE_S * TARGET_RATE:
        desc = ", ".join(f"{name} {t.shape[0] / TARGET_RATE:.2f} s" for name, t in tracks.items())
        raise AudioError(f"{what} have different lengths ({desc})")
    n = min(lengths)
    return {name: t[:n] for name, t in tracks.items()}


def check_stems_target(folder: Path, stems: Iterable[str], suffix: str) -> list[str]:
    """Check, before any work, that writing ``stems`` into ``folder`` as
    ``<stem><suffix>`` files leaves a folder that opens as those stems: that no other
    file there would be read as a stem too (``vocals.flac`` or ``Vocals.wav`` beside a
    new ``vocals.wav``, ``violin_2.wav`` beside a new ``violin.wav``, an instrument
    beside new pop stems).

    Returns
    -------
    list of str
        The names about to be written that ``folder`` already has (writing replaces them),
        its ``scene.json`` among them (see :func:`players_file`).

    Raises
    ------
    ExportError
        ``folder`` has an audio file a stems folder reads as a stem or an instrument and
        that is not one of the names about to be written.
    """
    if not folder.is_dir():
        return []
    names = [f"{stem}{suffix}" for stem in stems]
    read_as_stems = _KNOWN - {MIXTURE_NAME}
    found = [f.name for f in audio_files(folder) if stem_name(f) in read_as_stems]
    others = [name for name in found if name not in names]
    if others:
        raise ExportError(f"{folder} already has {', '.join(others)}; a stems folder holds "
                          "one file per stem (pop stems or instruments, not both), so beside "
                          "them the new stems would not open. Choose another folder, or "
                          "remove those files.")
    replaced = [name for name in names if name in found]
    return [*replaced, SCENE_FILE] if (folder / SCENE_FILE).is_file() else replaced
