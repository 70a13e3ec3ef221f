"""The two kinds of stem set a track can have.

A pop track splits into :data:`~remixer_app.core.audio_io.STEM_NAMES` (vocals, drums,
bass, other: the Cadenza ICASSP 2024 case). A classical ensemble splits into the
instruments that play in it, 2 to 5 of :data:`INSTRUMENTS` (the Cadenza 2 case); a
track's instrument list is known (chosen by the user or read from its stems folder)
and the sliders are those instruments. Each kind has its challenge's hearing aid:
NAL-R (with an optional compressor) for pop, the multiband compressor for ensembles.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from remixer_app.core.errors import RemixerError

INSTRUMENTS = ("bassoon", "cello", "clarinet", "flute", "oboe", "saxophone", "viola", "violin")
#: Other names for instruments: the Cadenza 2 data and recipe call the saxophone "Sax".
ALIASES = {"sax": "saxophone"}
MAX_INSTRUMENTS = 5

HearingAid = Literal["nalr", "multiband"]
#: NAL-R with the optional single-band compressor (Cadenza ICASSP 2024), or the
#: Cadenza 2 multiband compressor, as :class:`~remixer_app.core.engine.HearingAidEngine`
#: and the mix settings name them.
HEARING_AIDS: tuple[HearingAid, ...] = ("nalr", "multiband")


def instrument_name(name: str) -> str:
    """``name`` as :data:`INSTRUMENTS` spell it if it is one (any case, an alias of
    :data:`ALIASES`); otherwise ``name`` in lower case."""
    key = name.strip().lower()
    return ALIASES.get(key, key)


def instrument_list(names: Iterable[str]) -> tuple[str, ...]:
    """Validate an instrument list; return it in :data:`INSTRUMENTS` order, once each.

    Raises
    ------
    RemixerError
        An unknown name, or fewer than 2 or more than 5 distinct instruments.
    """
    given = [instrument_name(str(n)) for n in names]
    unknown = sorted(set(given) - set(INSTRUMENTS))
    if unknown:
        raise RemixerError(f"unknown instrument(s) {', '.join(unknown)}; "
                           f"instruments are {', '.join(INSTRUMENTS)}")
    chosen = tuple(i for i in INSTRUMENTS if i in given)
    if not 2 <= len(chosen) <= MAX_INSTRUMENTS:
        raise RemixerError(f"an ensemble has 2 to {MAX_INSTRUMENTS} different instruments, "
                           f"not {len(chosen)}")
    return chosen


def is_instrument_set(names: Iterable[str]) -> bool:
    """Whether ``names`` are instruments (a classical track) rather than pop stems."""
    names = tuple(names)
    return bool(names) and set(names) <= set(INSTRUMENTS)


def default_hearing_aid(stems: Iterable[str]) -> HearingAid:
    """The hearing aid a track starts with: multiband for a classical ensemble."""
    return "multiband" if is_instrument_set(stems) else "nalr"
