"""The Separation menu: ensembles listed, the choice remembered and handed to the controller."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.paths import user_data_dir  # noqa: E402
from remixer_app.core.separation import DEFAULT_ENSEMBLE, available_ensembles  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402
from remixer_app.ui.separation_menu import ENSEMBLE_KEY, ensemble_choices  # noqa: E402

from tiny_models import write_tiny_ensemble  # noqa: E402


@pytest.fixture
def user_models() -> Path:
    """The user's ensemble folder (inside the per-test user folders), with a tiny ensemble."""
    folder = user_data_dir() / "models"
    write_tiny_ensemble(folder, "tiny-test")
    return folder


def make_window(qtbot: QtBot, path: Path) -> MainWindow:
    window = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    return window


def test_the_menu_lists_every_ensemble_with_the_default_checked(qtbot: QtBot, tmp_path: Path,
                                                                user_models: Path) -> None:
    window = make_window(qtbot, tmp_path / "settings.ini")
    menu = window.separation_menu
    names = list(menu.actions)
    assert names[0] == DEFAULT_ENSEMBLE
    # every ensemble but those that separate instruments (Separation > Instruments...)
    assert set(names) == set(available_ensembles()) - {"classical"} | {DEFAULT_ENSEMBLE}
    assert "tiny-test" in names
    assert [n for n, a in menu.actions.items() if a.isChecked()] == [DEFAULT_ENSEMBLE]
    assert menu.group.isExclusive() and all(a.isCheckable() for a in menu.actions.values())
    assert menu.actions["tiny-test"].statusTip() == "random-weight HDemucs for tests"
    assert window.controller.choice.ensemble == DEFAULT_ENSEMBLE
    assert "Separation" in [a.text().replace("&", "") for a in window.menuBar().actions()]


def test_a_choice_is_applied_remembered_and_restored(qtbot: QtBot, tmp_path: Path,
                                                     user_models: Path) -> None:
    window = make_window(qtbot, tmp_path / "settings.ini")
    window.separation_menu.actions["tiny-test"].trigger()
    assert window.controller.choice.ensemble == "tiny-test"
    assert window.separation_menu.actions["tiny-test"].isChecked()
    assert not window.separation_menu.actions[DEFAULT_ENSEMBLE].isChecked()
    assert "tiny-test" in window.statusBar().currentMessage()
    window.settings.sync()
    again = make_window(qtbot, tmp_path / "settings.ini")
    assert again.settings.value(ENSEMBLE_KEY) == "tiny-test"
    assert again.controller.choice.ensemble == "tiny-test"
    assert again.separation_menu.actions["tiny-test"].isChecked()


def test_a_vanished_ensemble_falls_back_to_the_default(qtbot: QtBot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(ENSEMBLE_KEY, "deleted-since")
    settings.sync()
    window = make_window(qtbot, tmp_path / "settings.ini")
    assert window.controller.choice.ensemble == DEFAULT_ENSEMBLE
    assert window.separation_menu.actions[DEFAULT_ENSEMBLE].isChecked()
    assert "deleted-since" not in window.separation_menu.actions


def test_a_broken_ensemble_file_shows_its_error(qtbot: QtBot, tmp_path: Path,
                                                user_models: Path) -> None:
    (user_models / "broken.yaml").write_text("members: [", encoding="utf-8")
    (user_models / "empty.yaml").write_text("members: []", encoding="utf-8")
    window = make_window(qtbot, tmp_path / "settings.ini")
    broken = window.separation_menu.actions["broken"].statusTip()
    assert broken.startswith("Cannot be used: cannot read ensemble file")
    assert "broken.yaml" in broken
    assert "'members' must be a non-empty list" in ensemble_choices()[0]["empty"]


def test_the_list_is_read_again_when_the_menu_opens(qtbot: QtBot, tmp_path: Path,
                                                    user_models: Path) -> None:
    window = make_window(qtbot, tmp_path / "settings.ini")
    assert "late" not in window.separation_menu.actions
    write_tiny_ensemble(user_models, "late")
    window.separation_menu.menu.aboutToShow.emit()
    assert "late" in window.separation_menu.actions
    assert window.separation_menu.actions[DEFAULT_ENSEMBLE].isChecked()


def test_ensembles_for_instruments_are_listed_apart_and_their_choice_is_used(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        user_models: Path) -> None:
    from remixer_app.ui import separation_menu

    bundled = (Path(__file__).parent.parent / "models" / "classical.yaml").read_text()
    (user_models / "my-quartets.yaml").write_text(bundled)  # as `remixer train` would write
    reads: list[Path] = []
    real_load = separation_menu.load_ensemble

    def counting_load(path: Path) -> object:
        reads.append(Path(path))
        return real_load(path)

    monkeypatch.setattr(separation_menu, "load_ensemble", counting_load)
    pop, instruments = ensemble_choices()
    assert len(reads) == len(set(reads))  # each file read once, on the GUI thread
    assert list(pop)[0] == DEFAULT_ENSEMBLE and "tiny-test" in pop
    assert list(instruments) == ["classical", "my-quartets"]
    settings = tmp_path / "settings.ini"
    window = make_window(qtbot, settings)
    menu = window.separation_menu
    assert menu.classical_actions["classical"].isChecked() and "classical" not in menu.actions
    menu.classical_actions["my-quartets"].trigger()
    assert window.controller.choice.classical_ensemble == "my-quartets"
    assert menu.actions[DEFAULT_ENSEMBLE].isChecked()  # the pop choice is its own
    again = make_window(qtbot, settings)  # remembered
    assert again.controller.choice.classical_ensemble == "my-quartets"
