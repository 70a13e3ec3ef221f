"""Which separator separates a track: the ensemble chosen, and the instruments it holds.

The stem set is the track's: a plain file is separated into the pop stems by the
chosen ensemble, unless the user has said it holds a classical ensemble
(:meth:`SeparatorChoice.remember`): it is then separated into those instruments by the
:data:`~remixer_app.core.separation.ensemble.CLASSICAL_ENSEMBLE` (or another ensemble for
instruments, :attr:`SeparatorChoice.classical_ensemble`). The separator chosen is
loaded once, in the open worker, and kept for the next track separated the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from remixer_app.core.audio_io import STEM_NAMES
from remixer_app.core.instruments import instrument_list
from remixer_app.core.separation import DEFAULT_ENSEMBLE, load_separator
from remixer_app.core.separation.ensemble import CLASSICAL_ENSEMBLE
from remixer_app.core.separation.separator import Separator
from remixer_app.core.track_loader import OpenedTrack

#: Loads a separator as :func:`~remixer_app.core.separation.load_separator` does:
#: ``loader(ensemble)``, or ``loader(ensemble, instruments=(...))`` for an ensemble's
#: instruments.
SeparatorLoader = Callable[..., Separator]


def track_key(path: str | Path) -> str:
    """What the per-track choices (instruments) are remembered under: the full path."""
    return str(Path(path).absolute())


class SeparatorChoice:
    """The ensembles chosen, the instruments remembered per file, and the separator loaded.

    Parameters
    ----------
    ensemble
        Ensemble used to separate plain audio files of pop music.
    factory
        Returns the separator for every track, whatever its instruments (tests).
    loader
        Loads the separators instead of ``load_separator`` (tests).
    instruments
        Track key (:func:`track_key`) -> the instruments the user said it holds.
    """

    def __init__(self, *, ensemble: str = DEFAULT_ENSEMBLE,
                 factory: Callable[[], Separator] | None = None,
                 loader: SeparatorLoader | None = None,
                 instruments: Mapping[str, Sequence[str]] | None = None) -> None:
        self.ensemble = ensemble
        #: The ensemble that separates files the user said hold instruments.
        self.classical_ensemble = CLASSICAL_ENSEMBLE
        self.instruments: dict[str, tuple[str, ...]] = {
            key: instrument_list(names) for key, names in (instruments or {}).items()}
        # (ensemble name, instruments or None), and its separator
        self._loaded: tuple[tuple[str, tuple[str, ...] | None], Separator] | None = None
        self._factory = factory
        self._loader = loader

    def instruments_for(self, path: str | Path) -> tuple[str, ...] | None:
        """The instruments remembered for the file ``path``; ``None``: a pop track (and
        for a stems folder, whose files name its stems)."""
        return None if Path(path).is_dir() else self.instruments.get(track_key(path))

    def remember(self, path: str | Path, instruments: Sequence[str] | None
                 ) -> tuple[str, ...] | None:
        """Remember which instruments the file ``path`` holds (``None`` or none: pop),
        as the most recent choice; returns them as remembered.

        Raises
        ------
        RemixerError
            Not 2 to 5 known instruments.
        """
        key = track_key(path)
        chosen = instrument_list(instruments) if instruments else None
        if chosen != self.instruments.get(key):
            self.instruments.pop(key, None)
            if chosen is not None:
                self.instruments[key] = chosen  # last: the most recent choice
        return chosen

    def separated_as_chosen(self, track: OpenedTrack) -> bool:
        """Whether ``track``'s stems are the instruments remembered for it (the pop
        stems when none are)."""
        return set(track.stem_names) == set(self.instruments_for(track.path) or STEM_NAMES)

    def set_ensemble(self, name: str) -> None:
        """Separate the tracks opened from now on with ensemble ``name``.

        The track already open keeps its stems; the new ensemble's models load in the
        next open worker, not here.
        """
        if name != self.ensemble:
            self.ensemble = name
            self._loaded = None  # frees the previous ensemble's models

    def separation(self, instruments: tuple[str, ...] | None
                   ) -> tuple[str, tuple[str, ...] | None]:
        """The ensemble that separates a file into ``instruments`` (``None``: pop), and
        those instruments."""
        return (self.ensemble if instruments is None else self.classical_ensemble,
                instruments)

    def factory(self, instruments: tuple[str, ...] | None) -> Callable[[], Separator]:
        """Loads (once) and returns the separator; called in the open worker, because
        loading model weights takes seconds the GUI thread must not wait for."""
        if self._factory is not None:
            return self._factory
        wanted = self.separation(instruments)  # now: another ensemble may be chosen meanwhile
        loader = self._loader or load_separator

        def load() -> Separator:
            loaded = self._loaded
            if loaded is None or loaded[0] != wanted:
                ensemble, chosen = wanted
                separator = (loader(ensemble) if chosen is None
                             else loader(ensemble, instruments=chosen))
                loaded = self._loaded = (wanted, separator)
            return loaded[1]

        return load
