"""The Separation menu: which ensemble separates the tracks the user opens.

The ensembles are the files :func:`~remixer_app.core.separation.available_ensembles`
finds (the bundled ``models/`` and the user's own folder); the list is read again
each time the menu opens, so an ensemble trained or copied in meanwhile shows up
without a restart. The choice is remembered in the settings and handed to the track
controller's :class:`~remixer_app.core.separator_choice.SeparatorChoice`; a remembered
ensemble that has since disappeared falls back to the default one.

*Instruments...* says that the audio file last opened is a classical ensemble, and
which instruments play in it (:mod:`remixer_app.ui.instruments_dialog`): it is then
separated into them by the ensemble for instruments chosen in the menu's second section
(the bundled ``classical`` one, or one the user trained), also remembered. The
instruments are remembered per track.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QMenuBar

from remixer_app.core.errors import RemixerError
from remixer_app.core.separation import (
    DEFAULT_ENSEMBLE,
    available_ensembles,
    default_ensemble_help,
)
from remixer_app.core.separation.ensemble import CLASSICAL_ENSEMBLE, load_ensemble
from remixer_app.core.separator_choice import track_key
from remixer_app.ui.instruments_dialog import InstrumentsDialog, load_choices, save_choices
from remixer_app.ui.track_controller import TrackController

ENSEMBLE_KEY = "separation/ensemble"
CLASSICAL_KEY = "separation/classical_ensemble"


def ensemble_choices() -> tuple[dict[str, str], dict[str, str]]:
    """Name -> description (or what is wrong with it) of the installed ensembles, for pop
    tracks and for instruments (*Instruments...* uses those).

    The pop list has the default first (even when it is not installed, so the menu can
    say why), then the others by name, and the files that cannot be read (so the menu
    can say what is wrong with them); the instrument list has the bundled classical
    ensemble first. Every file is read once: this runs on the GUI thread each time the
    menu opens.
    """
    installed = available_ensembles()
    pop: dict[str, str] = {}
    instruments: dict[str, str] = {}
    if DEFAULT_ENSEMBLE not in installed:
        pop[DEFAULT_ENSEMBLE] = f"Not installed: {default_ensemble_help()}"
    first = (DEFAULT_ENSEMBLE, CLASSICAL_ENSEMBLE)
    for name in sorted(installed, key=lambda n: (n not in first, n)):
        try:
            spec = load_ensemble(installed[name])
        except RemixerError as exc:
            pop[name] = f"Cannot be used: {exc}"
            continue
        kind = instruments if spec.classical else pop
        kind[name] = spec.description.strip() or f"Ensemble {name!r} (no description)"
    return pop, instruments


class SeparationMenu(QObject):
    """Adds the Separation menu to ``menu_bar`` and keeps ``controller`` on the choice.

    Parameters
    ----------
    menu_bar
        Where the menu goes.
    controller
        Gets :meth:`~TrackController.set_ensemble` for the remembered and each new choice.
    settings
        Where the choice persists (:data:`ENSEMBLE_KEY`), and the instruments of each
        track (:data:`~remixer_app.ui.instruments_dialog.INSTRUMENTS_KEY`).
    """

    chosen_changed = Signal(str)  # the ensemble the user just chose
    instruments_chosen = Signal(str)  # what the user's instrument choice does, in words

    def __init__(self, menu_bar: QMenuBar, controller: TrackController,
                 settings: QSettings) -> None:
        super().__init__(menu_bar)
        self.controller = controller
        self.settings = settings
        self.menu = QMenu("Sepa&ration", menu_bar)
        self.menu.setAccessibleName("Separation menu")
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.refresh)
        menu_bar.addMenu(self.menu)
        self.group = QActionGroup(self)
        self.classical_group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        self.classical_actions: dict[str, QAction] = {}
        pop, instruments = ensemble_choices()
        remembered = str(self.settings.value(ENSEMBLE_KEY, DEFAULT_ENSEMBLE) or "")
        self.chosen = remembered if remembered in pop else DEFAULT_ENSEMBLE
        self.controller.choice.set_ensemble(self.chosen)
        remembered = str(self.settings.value(CLASSICAL_KEY, CLASSICAL_ENSEMBLE) or "")
        self.classical_chosen = remembered if remembered in instruments else CLASSICAL_ENSEMBLE
        self.controller.choice.classical_ensemble = self.classical_chosen
        self._stored: dict[str, tuple[str, ...]] = {}  # the choices as last read or saved
        self.load_instruments()
        # Owned here, not by the menu, so refresh() (menu.clear()) does not delete it.
        self.instruments_action = QAction("&Instruments...", self)
        self.instruments_action.setStatusTip(
            "Say which instruments play in the open track (a classical ensemble), to "
            "separate it into them")
        self.instruments_action.triggered.connect(lambda: self.choose_instruments())
        controller.track_opened.connect(lambda _: self._enable_instruments())
        self.refresh()

    def refresh(self) -> None:
        """List the ensembles installed now, with the chosen ones checked: those for pop
        tracks, then (under a heading) those for instruments, then *Instruments...*."""
        self.menu.clear()  # deletes the actions it owns, which leaves the groups too
        pop, instruments = ensemble_choices()
        self.actions = {name: self._add_choice(name, text, self.group, self.chosen,
                                               self.choose, "new tracks")
                        for name, text in pop.items()}
        self.menu.addSection("Ensembles for instruments")
        self.classical_actions = {
            name: self._add_choice(name, text, self.classical_group, self.classical_chosen,
                                   self.choose_classical, "files of instruments")
            for name, text in instruments.items()}
        self.menu.addSeparator()
        self.menu.addAction(self.instruments_action)
        self._enable_instruments()

    def _add_choice(self, name: str, description: str, group: QActionGroup, chosen: str,
                    choose: Callable[[str], None], what: str) -> QAction:
        action = QAction(name, self.menu)
        action.setCheckable(True)
        action.setChecked(name == chosen)
        action.setStatusTip(description)
        action.setToolTip(description)
        # Assistive technology reads this as the item's help text.
        action.setWhatsThis(f"Separate {what} with the {name} ensemble: {description}")
        action.triggered.connect(lambda _=False: choose(name))
        group.addAction(action)
        self.menu.addAction(action)
        return action

    def load_instruments(self) -> None:
        """Hand the controller the instruments remembered for each track, including those
        other instances of the app remembered since this one started (they share the
        settings file; :meth:`QSettings.sync` reads it again), and without those another
        removed (a track another instance turned back to pop is pop here too)."""
        self.settings.sync()
        self._take(load_choices(self.settings))

    def _remember_instruments(self, path: Path) -> None:
        """Save the choice for ``path`` alone: the other tracks' entries are read again
        first, since another instance may have saved some since this one started."""
        self.settings.sync()
        remembered = load_choices(self.settings)
        key = track_key(path)
        remembered.pop(key, None)
        chosen = self.controller.choice.instruments.get(key)
        if chosen is not None:
            remembered[key] = chosen  # last: the newest
        save_choices(self.settings, remembered)
        # Written now, not at the next event loop turn, so another instance's next
        # read-modify-write sees it rather than overwriting it.
        self.settings.sync()
        self._take(remembered)

    def _take(self, choices: dict[str, tuple[str, ...]]) -> None:
        """Merge the stored ``choices`` in; an entry stored before and gone now was
        removed by another instance (the track chosen as pop there): removed here too."""
        for key in self._stored.keys() - choices.keys():
            self.controller.choice.instruments.pop(key, None)
        self.controller.choice.instruments.update(choices)
        self._stored = dict(choices)

    def _enable_instruments(self) -> None:
        self.instruments_action.setEnabled(self.controller.last_file is not None)

    def choose(self, name: str) -> None:
        """Separate the next tracks with ``name`` and remember it."""
        self.chosen = name
        if name in self.actions:
            self.actions[name].setChecked(True)
        self.settings.setValue(ENSEMBLE_KEY, name)
        self.controller.choice.set_ensemble(name)
        self.chosen_changed.emit(name)

    def choose_classical(self, name: str) -> None:
        """Separate the files of instruments opened next with ``name`` and remember it."""
        self.classical_chosen = name
        if name in self.classical_actions:
            self.classical_actions[name].setChecked(True)
        self.settings.setValue(CLASSICAL_KEY, name)
        self.controller.choice.classical_ensemble = name
        self.chosen_changed.emit(name)

    def ask_instruments(self, track_name: str, current: tuple[str, ...]
                        ) -> tuple[str, ...] | None:
        """Ask which instruments play; ``()`` for a pop track, ``None`` when cancelled.
        Tests and embedders replace this."""
        dialog = InstrumentsDialog(track_name, current, self.menu.parentWidget())
        return dialog.chosen() if dialog.exec() == InstrumentsDialog.DialogCode.Accepted else None

    def choose_instruments(self) -> bool:
        """Ask for the instruments of the audio file last opened (or being opened, or
        whose open failed), remember them and separate it into them.

        Returns
        -------
        bool
            Whether the file is being opened for the new choice.
        """
        path = self.controller.last_file
        if path is None:  # nothing opened yet, or a stems folder: its files name its stems
            return False
        current = self.controller.choice.instruments_for(path) or ()
        chosen = self.ask_instruments(path.name, current)
        if chosen is None:
            return False
        reopening = self.controller.set_instruments(path, chosen)
        self._remember_instruments(path)
        what = (f"a classical ensemble of {', '.join(chosen)}" if chosen
                else "a pop track (vocals, drums, bass, other)")
        self.instruments_chosen.emit(f"{path.name} is {what}"
                                     + ("; separating it" if reopening else ""))
        return reopening
