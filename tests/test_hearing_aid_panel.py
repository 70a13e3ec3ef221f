"""Compressor and clip controls bound to the model."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
