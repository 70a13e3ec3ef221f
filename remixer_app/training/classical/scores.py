"""Pieces from music21's bundled corpus, split into training and held-out pieces.

The corpus holds Bach's four-part chorales (some with five or more parts) and string
quartets by Haydn and Mozart. A piece goes wholly to one split, decided by a hash of
its name and the seed, so a held-out piece is never heard in training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from remixer_app.core.errors import RemixerError

COMPOSERS = ("bach", "haydn", "mozart")
HELD_OUT_SHARE = 0.2


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


def split_pieces(seed: int) -> dict[str, list[str]]:
    """``{"train": [...], "test": [...]}``: every corpus piece in exactly one split."""
    pieces = corpus_pieces()
    test = [p for p in pieces if is_held_out(p, seed)]
    return {"train": [p for p in pieces if p not in set(test)], "test": test}


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
