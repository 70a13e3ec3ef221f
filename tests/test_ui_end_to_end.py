"""A real track through the whole window: separate, remix, listen, change listener, export.

The track is a MUSDB18 preview from ``../shared/data`` (skipped when absent), decoded
and written as a plain WAV so that the window has to separate it (a ``.stem.mp4``
would bring its own stems). The separator is a tiny random-weight model; what is
checked is the app's plumbing, not the separation quality. The exported file must be
the engine's offline render of the settings on screen, to 16-bit precision.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from remixer_app.core.audio_io import TARGET_RATE, load_audio  # noqa: E402
from remixer_app.core.engine import HearingAidEngine  # noqa: E402
from remixer_app.core.export import DEFAULT_EXPORT_RATE  # noqa: E402
from remixer_app.core.paths import user_data_dir  # noqa: E402
from remixer_app.core.player_controls import SOURCES  # noqa: E402
from remixer_app.ui.main_window import MainWindow  # noqa: E402
from remixer_app.ui.source_chooser import SOURCE_BUTTONS  # noqa: E402

from tiny_models import write_tiny_ensemble  # noqa: E402

SECONDS = 4
LSB = 1.0 / 32768  # one step of the exported 16-bit samples


@pytest.fixture
def song(shared_data: Path, tmp_path: Path) -> Path:
    """The first seconds of the first test preview's mixture, as a plain WAV."""
    previews = sorted((shared_data / "musdb18_7s" / "test").glob("*.stem.mp4"))
    if not previews:
        pytest.skip("no MUSDB18 test previews in ../shared/data/musdb18_7s/test")
    mixture = load_audio(previews[0]).samples[:SECONDS * TARGET_RATE]
    path = tmp_path / "song.wav"
    sf.write(path, mixture, TARGET_RATE, subtype="FLOAT")
    return path


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    """A main window separating with a tiny model, recording errors instead of showing them."""
    write_tiny_ensemble(user_data_dir() / "models", "tiny-e2e")
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"),
                                        QSettings.Format.IniFormat))
    win.errors = []  # type: ignore[attr-defined]
    win.show_error = lambda parent, title, text: win.errors.append((title, text))  # type: ignore
    qtbot.addWidget(win)
    win.show()
    win.separation_menu.actions["tiny-e2e"].trigger()
    return win


def test_a_real_track_from_open_to_export(qtbot: QtBot, window: MainWindow, song: Path,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    controller = window.controller
    with qtbot.waitSignal(controller.engine_ready, timeout=180_000):
        window.open_path(song)
    track = window.track
    assert track is not None and track.source == "tiny-e2e (separated)"
    assert track.frames == SECONDS * TARGET_RATE
    np.testing.assert_array_equal(track.mixture, sf.read(song, dtype="float32")[0])
    assert window.track_label.text().startswith("song.wav (0:04)")
    first_player = window.transport.player
    assert first_player is not None and window.transport.play_button.isEnabled()

    window.stem_panel.sliders["vocals"].setValue(12)   # +6 dB
    window.stem_panel.sliders["drums"].setValue(-8)    # -4 dB
    gains = window.model.chain_settings().gains_db
    assert (gains["vocals"], gains["drums"]) == (6.0, -4.0)
    assert first_player.settings.gains_db["vocals"] == 6.0

    for source in SOURCES:  # A/B/C: original, remix, hearing aid
        window.transport.source_buttons[source].click()
        assert first_player.source == source
        assert window.transport.source_label.text() == \
            f"Listening to: {SOURCE_BUTTONS[source][0]}"

    with qtbot.waitSignal(controller.engine_ready, timeout=180_000):
        assert window.listener_panel.select_listener("S2")
    engine = controller.engine
    assert engine is not None and engine.listener.id == "S2"
    player = window.transport.player
    assert player is not None and player is not first_player
    assert player.settings.gains_db["vocals"] == 6.0  # the new listener keeps the mix

    target = tmp_path / "aided.flac"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "FLAC (*.flac)")))
    window.menus.export_aided_action.trigger()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Exported"),
                    timeout=120_000)
    assert window.errors == []  # type: ignore[attr-defined]

    info = sf.info(target)
    assert (info.samplerate, info.subtype, info.channels) == (DEFAULT_EXPORT_RATE, "PCM_16", 2)
    exported, _ = sf.read(target, dtype="float64")
    settings = window.model.chain_settings()
    expected, _ = HearingAidEngine.finalize(engine.render(settings), settings,
                                            DEFAULT_EXPORT_RATE)
    assert exported.shape == expected.shape
    assert np.sqrt(np.mean(expected ** 2)) > 100 * LSB  # music, not near-silence
    assert np.abs(exported - expected).max() < 2 * LSB
    # The sliders reached the file: the same listener at 0 dB everywhere differs.
    flat = dataclasses.replace(settings, gains_db={})
    unmixed, _ = HearingAidEngine.finalize(engine.render(flat), flat, DEFAULT_EXPORT_RATE)
    assert np.abs(exported - unmixed).max() > 100 * LSB
