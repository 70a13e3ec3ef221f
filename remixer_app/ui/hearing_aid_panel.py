"""The hearing aid, its compressor and the clip mode, bound to the :class:`MixModel`.

The hearing aid is NAL-R with an optional single-band compressor (the Cadenza 1
recipe) or the Cadenza 2 multiband compressor; the single-band controls are disabled
while the multiband one is chosen. Choosing another one refits the hearing aid (the
track controller builds a new engine), as choosing another listener does.
"""

from __future__ import annotations

from dataclasses import fields, replace

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from remixer_app.core.dsp.clip import CLIP_MODES
from remixer_app.core.dsp.compressor import CompressorParams
from remixer_app.core.instruments import HEARING_AIDS
from remixer_app.core.mix_model import MixModel
from remixer_app.core.mix_state import MixChange, MixState
from remixer_app.ui.eliding_combo import ElidingComboBox

# (label, minimum, maximum, step, decimals, unit) per CompressorParams field.
PARAMETERS = {
    "threshold": ("Threshold", 0.01, 1.0, 0.01, 2, "RMS"),
    "attenuation": ("Attenuation", 0.01, 1.0, 0.01, 2, ""),
    "attack": ("Attack", 1.0, 500.0, 5.0, 0, "ms"),
    "release": ("Release", 10.0, 5000.0, 50.0, 0, "ms"),
    "rms_buffer_size": ("RMS window", 0.005, 0.5, 0.008, 3, "s"),
    "makeup_gain": ("Make-up gain", 0.1, 4.0, 0.1, 2, "x"),
}
CLIP_LABELS = {"hard": "Hard clip (the challenge's)", "soft": "Soft clip (tanh)",
               "none": "No clipping"}
HEARING_AID_LABELS = {"nalr": "NAL-R + compressor (Cadenza 1)",
                      "multiband": "Multiband compressor (Cadenza 2)"}
HEARING_AID_TIP = ("NAL-R fitting with an optional compressor (the Cadenza 1 recipe), or the "
                   "Cadenza 2 multiband compressor, the default for classical ensembles")


class HearingAidPanel(QGroupBox):
    """Hearing-aid options: which hearing aid, its compressor, how the output is clipped."""

    def __init__(self, model: MixModel, parent: QWidget | None = None) -> None:
        super().__init__("Hearing aid", parent)
        self.setAccessibleName("Hearing aid options")
        self.model = model
        self.kind = ElidingComboBox()
        # As wide as its longest item where there is room, down to 14 characters where not.
        self.kind.setSizeAdjustPolicy(
            ElidingComboBox.SizeAdjustPolicy.AdjustToContents)
        self.kind.setMinimumContentsLength(14)
        self.kind.setAccessibleName("Hearing aid")
        for kind in HEARING_AIDS:
            self.kind.addItem(HEARING_AID_LABELS[kind], kind)
        self.kind.currentIndexChanged.connect(
            lambda index: model.set_hearing_aid(self.kind.itemData(index)))
        self.enabled = QCheckBox("Compressor")
        self.enabled.setAccessibleName("Compressor on")
        self.enabled.setToolTip("The recipe's compressor after NAL-R (off in the baseline)")
        self.enabled.toggled.connect(model.set_compressor_enabled)
        form = QFormLayout()
        # A field goes below its caption rather than widen the window past a small screen.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.spins: dict[str, QDoubleSpinBox] = {}
        for name, (label, low, high, step, decimals, unit) in PARAMETERS.items():
            spin = QDoubleSpinBox()
            spin.setRange(low, high)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setSuffix(f" {unit}" if unit else "")
            spin.setAccessibleName(f"Compressor {label.lower()}")
            # Typed values count once finished (Enter, Tab): "2500" is one change, not
            # four heard and undone one by one.
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda value, n=name: self._set_parameter(n, value))
            form.addRow(label, spin)
            self.spins[name] = spin
        self.clip = ElidingComboBox()
        self.clip.setSizeAdjustPolicy(
            ElidingComboBox.SizeAdjustPolicy.AdjustToContents)
        self.clip.setMinimumContentsLength(14)
        self.clip.setAccessibleName("Clip mode")
        for mode in CLIP_MODES:
            self.clip.addItem(CLIP_LABELS[mode], mode)
        self.clip.currentIndexChanged.connect(
            lambda index: model.set_clip(self.clip.itemData(index)))
        # Below its caption: beside it the longest mode would not fit a small screen.
        output = QLabel("Output")
        output.setBuddy(self.clip)
        form.addRow(output)
        form.addRow(self.clip)
        layout = QVBoxLayout(self)
        layout.addWidget(self.kind)
        layout.addWidget(self.enabled)
        layout.addLayout(form)
        unsubscribe = model.subscribe(self._on_change)
        self.destroyed.connect(lambda *_: unsubscribe())
        self._show(model.state)

    def _set_parameter(self, name: str, value: float) -> None:
        params = self.model.state.compressor
        try:
            self.model.set_compressor(replace(params, **{name: value}))
        except ValueError:  # e.g. a combination CompressorParams rejects: keep the old one
            self._show(self.model.state)

    def _on_change(self, change: MixChange) -> None:
        if change.fields & {"compressor", "hearing_aid", "clip"}:
            self._show(change.state)

    def _show(self, state: MixState) -> None:
        widgets = [self.kind, self.enabled, self.clip, *self.spins.values()]
        for widget in widgets:
            widget.blockSignals(True)
        self.kind.setCurrentIndex(self.kind.findData(state.hearing_aid))
        single_band = state.hearing_aid == "nalr"
        self.enabled.setChecked(state.compressor_on)
        self.enabled.setEnabled(single_band)
        for field in fields(CompressorParams):
            self.spins[field.name].setValue(getattr(state.compressor, field.name))
            self.spins[field.name].setEnabled(state.single_band_compressor)
        self.clip.setCurrentIndex(self.clip.findData(state.clip))
        # In full: a narrow box shows it shortened.
        self.kind.setToolTip(f"{self.kind.currentText()}: {HEARING_AID_TIP}")
        self.clip.setToolTip(self.clip.currentText())
        for widget in widgets:
            widget.blockSignals(False)
