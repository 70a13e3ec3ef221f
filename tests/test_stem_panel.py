"""The stem sliders: two-way binding with the model, gestures as undo steps, mute/solo."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QAccessible  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.core.mix_state import MixChange  # noqa: E402
from remixer_app.ui.stem_panel import StemPanel  # noqa: E402


def _panel(qtbot: QtBot) -> tuple[StemPanel, MixModel, list[MixChange]]:
    model = MixModel()
    events: list[MixChange] = []
    model.subscribe(events.append)
    panel = StemPanel(model)
    qtbot.addWidget(panel)
    return panel, model, events


def test_a_drag_is_one_undo_step_and_updates_the_label(qtbot: QtBot) -> None:
    panel, model, events = _panel(qtbot)
    slider = panel.sliders["vocals"]
    slider.sliderPressed.emit()
    for value in (2, 6, 12):  # 1, 3, 6 dB while dragging: every move is heard
        slider.setValue(value)
    slider.sliderReleased.emit()
    assert model.state.gains_db["vocals"] == 6.0 and len(events) == 3
    assert panel.values["vocals"].text() == "+6.0 dB"
    assert panel.undo_button.isEnabled() and not panel.redo_button.isEnabled()
    panel.undo_button.click()
    assert model.state.gains_db["vocals"] == 0.0
    assert slider.value() == 0 and panel.redo_button.isEnabled()


def test_keyboard_steps_and_model_changes_show_without_echo(qtbot: QtBot) -> None:
    panel, model, events = _panel(qtbot)
    panel.sliders["bass"].setFocus()
    qtbot.keyClick(panel.sliders["bass"], Qt.Key.Key_Down)
    assert model.state.gains_db["bass"] == -0.5
    events.clear()
    model.set_gain("drums", -10.0)  # e.g. a re-applied session
    assert panel.sliders["drums"].value() == -20 and len(events) == 1


def test_mute_and_solo_buttons_follow_and_say_silent(qtbot: QtBot) -> None:
    panel, model, _ = _panel(qtbot)
    panel.solos["vocals"].click()
    assert model.state.soloed == {"vocals"}
    assert "silent" in panel.values["drums"].text()
    assert "silent" not in panel.values["vocals"].text()
    panel.mutes["vocals"].click()
    assert "vocals" in model.state.muted and "silent" in panel.values["vocals"].text()
    panel.reset_button.click()
    assert not panel.mutes["vocals"].isChecked() and not panel.solos["vocals"].isChecked()
    assert all(s.accessibleName() for s in panel.sliders.values())


def test_another_stem_set_rebuilds_the_sliders(qtbot: QtBot) -> None:
    panel, model, _ = _panel(qtbot)
    old = panel.sliders["vocals"]
    model.set_stems(("violin", "cello"))
    assert panel.stems == ("violin", "cello") and "vocals" not in panel.sliders
    assert panel.sliders["cello"].accessibleName() == "cello gain +0.0 dB"
    old.setValue(10)  # the old slider is on its way out: it moves nothing
    assert model.state.gains_db == {"violin": 0.0, "cello": 0.0}
    panel.sliders["violin"].setValue(-6)
    assert model.state.gains_db["violin"] == -3.0 and panel.values["violin"].text() == "-3.0 dB"
    panel.solos["cello"].click()
    assert "silent" in panel.values["violin"].text()
    model.set_stems(("vocals", "drums", "bass", "other"))
    assert panel.stems == ("vocals", "drums", "bass", "other")


def test_a_screen_reader_hears_the_gain_in_db(qtbot: QtBot) -> None:
    panel, model, _ = _panel(qtbot)
    slider = panel.sliders["vocals"]
    model.set_gain("vocals", -18.0)
    # The slider's own value is in half-dB steps; what is read out must say dB.
    name = QAccessible.queryAccessibleInterface(slider).text(QAccessible.Text.Name)
    assert name == "vocals gain -18.0 dB"
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Up)
    assert QAccessible.queryAccessibleInterface(slider).text(
        QAccessible.Text.Name) == "vocals gain -17.5 dB"
