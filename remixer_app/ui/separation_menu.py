"""The Separation menu: which ensemble separates the tracks the user opens.

The ensembles are the files :func:`~remixer_app.core.separation.available_ensembles`
finds (the bundled ``models/`` and the user's own folder); the list is read again
each time the menu opens, so an ensemble trained or copied in meanwhile shows up
without a restart. The choice is remembered in the settings and handed to the
:class:`~remixer_app.ui.track_controller.TrackController`; a remembered ensemble that
has since disappeared falls back to the default one.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QMenuBar

from remixer_app.core.errors import RemixerError
from remixer_app.core.separation import (
    DEFAULT_ENSEMBLE,
    available_ensembles,
    default_ensemble_help,
)
from remixer_app.core.separation.ensemble import load_ensemble
from remixer_app.ui.track_controller import TrackController

ENSEMBLE_KEY = "separation/ensemble"


def ensemble_names() -> list[str]:
    """The ensembles to offer: the default first (even when it is not installed, so the
    menu can say why), then the others by name."""
    return [DEFAULT_ENSEMBLE] + sorted(n for n in available_ensembles() if n != DEFAULT_ENSEMBLE)


def describe_ensemble(name: str) -> str:
    """The ensemble file's description, or what is wrong with it; never raises."""
    if name == DEFAULT_ENSEMBLE and name not in available_ensembles():
        return f"Not installed: {default_ensemble_help()}"
    try:
        description = load_ensemble(name).description.strip()
    except RemixerError as exc:  # a broken file must not break the menu
        return f"Cannot be used: {exc}"
    return description or f"Ensemble {name!r} (no description)"


class SeparationMenu(QObject):
    """Adds the Separation menu to ``menu_bar`` and keeps ``controller`` on the choice.

    Parameters
    ----------
    menu_bar
        Where the menu goes.
    controller
        Gets :meth:`~TrackController.set_ensemble` for the remembered and each new choice.
    settings
        Where the choice persists (:data:`ENSEMBLE_KEY`).
    """

    chosen_changed = Signal(str)  # the ensemble the user just chose

    def __init__(self, menu_bar: QMenuBar, controller: TrackController,
                 settings: QSettings) -> None:
        super().__init__(menu_bar)
        self.controller = controller
        self.settings = settings
        self.menu = QMenu("Se&paration", menu_bar)
        self.menu.setAccessibleName("Separation menu")
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.refresh)
        menu_bar.addMenu(self.menu)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        remembered = str(self.settings.value(ENSEMBLE_KEY, DEFAULT_ENSEMBLE) or "")
        self.chosen = remembered if remembered in ensemble_names() else DEFAULT_ENSEMBLE
        self.controller.set_ensemble(self.chosen)
        self.refresh()

    def refresh(self) -> None:
        """List the ensembles installed now, with the chosen one checked."""
        self.menu.clear()  # deletes the actions it owns, which leaves the group too
        self.actions = {}
        for name in ensemble_names():
            description = describe_ensemble(name)
            action = QAction(name, self.menu)
            action.setCheckable(True)
            action.setChecked(name == self.chosen)
            action.setStatusTip(description)
            action.setToolTip(description)
            # Assistive technology reads this as the item's help text.
            action.setWhatsThis(f"Separate new tracks with the {name} ensemble: {description}")
            action.triggered.connect(lambda _=False, n=name: self.choose(n))
            self.group.addAction(action)
            self.menu.addAction(action)
            self.actions[name] = action

    def choose(self, name: str) -> None:
        """Separate the next tracks with ``name`` and remember it."""
        self.chosen = name
        if name in self.actions:
            self.actions[name].setChecked(True)
        self.settings.setValue(ENSEMBLE_KEY, name)
        self.controller.set_ensemble(name)
        self.chosen_changed.emit(name)
