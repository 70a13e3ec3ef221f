"""Compressor and clip controls bound to the model."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.mix_model import MixModel  # noqa: E402
from remixer_app.ui.hearing_aid_panel import HearingAidPanel  # noqa: E402


def test_compressor_and_clip_follow_both_ways(qtbot: QtBot) -> None:
    model = MixModel()
    panel = HearingAidPanel(model)
    qtbot.addWidget(panel)
    assert not panel.enabled.isChecked() and not panel.spins["threshold"].isEnabled()
    panel.enabled.click()
    assert model.state.compressor_on and model.chain_settings().compressor is not None
    panel.spins["release"].setValue(500.0)
    assert model.state.compressor.release == 500.0
    panel.clip.setCurrentIndex(panel.clip.findData("soft"))
    assert model.chain_settings().clip == "soft"
    model.undo()  # the clip change
    assert panel.clip.currentData() == "hard"
    model.set_compressor_enabled(False)
    assert not panel.enabled.isChecked() and not panel.spins["release"].isEnabled()
    assert all(s.accessibleName() for s in panel.spins.values())


def test_a_typed_value_is_one_change(qtbot: QtBot) -> None:
    model = MixModel()
    panel = HearingAidPanel(model)
    qtbot.addWidget(panel)
    panel.enabled.click()
    spin = panel.spins["release"]
    heard: list[float] = []
    model.subscribe(lambda change: heard.append(change.state.compressor.release))
    spin.selectAll()
    qtbot.keyClicks(spin, "2500")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert model.state.compressor.release == 2500.0
    assert heard == [2500.0]  # not 2, 25, 250 on the way
    model.undo()
    assert model.state.compressor.release == 1000.0 and spin.value() == 1000.0


def test_hearing_aid_choice_follows_both_ways_and_disables_the_single_band(
        qtbot: QtBot) -> None:
    model = MixModel()
    panel = HearingAidPanel(model)
    qtbot.addWidget(panel)
    assert [panel.kind.itemText(i) for i in range(panel.kind.count())] == [
        "NAL-R + compressor (Cadenza 1)", "Multiband compressor (Cadenza 2)"]
    assert panel.kind.currentData() == "nalr" and panel.enabled.isEnabled()
    panel.enabled.click()
    assert panel.spins["threshold"].isEnabled()
    panel.kind.setCurrentIndex(panel.kind.findData("multiband"))
    assert model.state.hearing_aid == "multiband" and model.chain_settings().compressor is None
    assert not panel.enabled.isEnabled() and not panel.spins["threshold"].isEnabled()
    assert panel.enabled.isChecked()  # kept for when NAL-R comes back
    model.undo()
    assert panel.kind.currentData() == "nalr" and panel.spins["threshold"].isEnabled()
    model.set_stems(("cello", "violin"))  # a classical track: multiband by default
    assert panel.kind.currentData() == "multiband" and not panel.enabled.isEnabled()
