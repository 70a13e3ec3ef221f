"""Pieces from music21's bundled corpus, split into training and held-out pieces.

The corpus holds Bach's four-part chorales (some with five or more parts) and string
quartets by Haydn and Mozart. A piece goes wholly to one split, decided by a hash of
its name and the seed, so a held-out piece is never heard in training. Some chorales
come in several versions (``bach/bwv248.35-3`` and ``bach/bwv248.35-3c``); a held-out
version of a piece that also has a training version is left out of both splits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from remixer_app.core.errors import RemixerError

COMPOSERS = ("bach", "haydn", "mozart")
HELD_OUT_SHARE = 0.2
# After a file name's number: a version's letters ("bwv145a"), then anything from a dash
# (music21's "-a", "-w", "-lz", "-inst", "-s", or BWV 248's part number "-3", "-3c").
_VERSION = re.compile(r"(?<=\d)[a-z]*(?:-.*)?$")


@dataclass(frozen=True)
class Part:
    """One voice of an excerpt: its notes as (onset s, duration s, MIDI pitch, velocity)."""

    name: str
    notes: tuple[tuple[float, float, int, int], ...]

    def pitch_range(self) -> tuple[int, int]:
        pitches = [n[2] for n in self.notes]
        return min(pitches), max(pitches)


def _music21() -> Any:
    try:
        import music21
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise RemixerError("making classical data needs the music21 package "
                           "(pip install music21)") from exc
    return music21


def corpus_pieces() -> list[str]:
    """Corpus paths of every usable piece (MusicXML), relative to the corpus, sorted."""
    corpus = _music21().corpus
    pieces = []
    for composer in COMPOSERS:
        for path in corpus.getComposer(composer):
            text = str(path).replace("\\", "/")
            if text.endswith(".mxl"):
                pieces.append(text.split("/corpus/")[-1])
    if not pieces:
        raise RemixerError("music21's corpus has no pieces here; reinstall music21")
    return sorted(set(pieces))


def is_held_out(piece: str, seed: int) -> bool:
    """Whether ``piece`` belongs to the held-out split for ``seed``."""
    digest = hashlib.sha256(f"{seed}:{piece}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE


def base_piece(piece: str) -> str:
    """The work a corpus file is a version of: its path without the version suffix.

    ``bach/bwv248.35-3c.mxl`` and ``bach/bwv248.35-3.mxl`` are both
    ``bach/bwv248.35``; ``bach/bwv18.5-lz.mxl`` is ``bach/bwv18.5``. The movements of a
    quartet (``haydn/opus1no1/movement2.mxl``) are works of their own.
    """
    folder, _, name = piece.rpartition("/")
    return f"{folder}/{_VERSION.sub('', name.removesuffix('.mxl'))}"


def split_pieces(seed: int) -> dict[str, list[str]]:
    """``{"train": [...], "test": [...]}``: every corpus piece in at most one split.

    A piece is held out by :func:`is_held_out`; a held-out piece whose
    :func:`base_piece` is also a training piece's is dropped (in neither split), so
    that the training split stays what it was before versions were recognised.
    """
    pieces = corpus_pieces()
    held_out = {p for p in pieces if is_held_out(p, seed)}
    train = [p for p in pieces if p not in held_out]
    trained = {base_piece(p) for p in train}
    test = [p for p in pieces if p in held_out and base_piece(p) not in trained]
    return {"train": train, "test": test}


def excerpt_parts(piece: str, start_fraction: float, seconds: float, bpm: float
                  ) -> list[Part]:
    """The parts of ``piece`` from ``start_fraction`` of its length, ``seconds`` long.

    Times come from quarter-note offsets at ``bpm`` quarters per minute. Parts with no
    note in the excerpt are left out; velocities are the score's (or 80).
    """
    m21 = _music21()
    score = m21.corpus.parse(piece)
    total = float(score.highestTime)
    span = seconds * bpm / 60.0
    start = max(0.0, min(total - span, start_fraction * total))
    parts = []
    for index, part in enumerate(score.parts):
        notes = []
        for element in part.flatten().notes:
            onset = float(element.offset) - start
            length = float(element.quarterLength)
            if onset + length <= 0 or onset >= span or length <= 0:
                continue
            velocity = element.volume.velocity or 80
            pitches = [p.midi for p in getattr(element, "pitches", ())]
            for pitch in pitches[-1:]:  # chords in one voice: keep the top note
                begin = max(onset, 0.0)
                notes.append((begin * 60.0 / bpm, (min(onset + length, span) - begin) * 60.0
                              / bpm, int(pitch), int(velocity)))
        if notes:
            parts.append(Part(part.partName or f"part {index + 1}", tuple(notes)))
    return parts
