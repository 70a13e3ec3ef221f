"""The members of the embedded ensemble: architecture, size and training schedule.

Each recipe is everything needed to reproduce a member from the training data: the
architecture (registered in :mod:`remixer_app.core.separation.members`) and its
constructor arguments, the batch and segment, the steps on plain stems then on
at-ear stems, the learning rates and the seed (a ``dictionary_nmf`` member is learned
by factorisation, :mod:`remixer_app.training.dictionaries`: its steps are the updates
per instrument, and the batch, segment and rates are unused). ``remixer train NAME`` runs one, and
lists it in an ensemble file with the window length it separates with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from remixer_app.core.instruments import INSTRUMENTS
from remixer_app.training.augment import Augmentation

#: Classical scenes: a stem swaps in from another scene half the time; no stem is
#: dropped (the instrument list must stay true).
CLASSICAL_AUGMENTATION = Augmentation(remix=0.5, silent=0.0)

#: The pop TFC-TDF U-Net; ``dttnet`` extends it.
TFC_TDF_CONFIG: dict[str, Any] = {
    "channels": 24, "growth": 24, "levels": 3, "convs": 2, "bottleneck": 8, "patch": 8,
    "nfft": 2048, "hop": 512, "segment": 10.0}


@dataclass(frozen=True)
class Recipe:
    """How one member is built and trained."""

    name: str
    architecture: str
    config: dict[str, Any]
    description: str
    batch: int = 4
    segment_s: float = 3.0
    steps: int = 1000             # on loudspeaker (plain) stems
    finetune_steps: int = 300     # then on at-ear stems
    lr: float = 1e-3
    finetune_lr: float = 3e-4
    angles: tuple[float, ...] = (30.0, 22.5)   # loudspeaker azimuths for at-ear data
    seed: int = 2024
    checkpoint_every: int = 50
    augmentation: Augmentation = field(default_factory=Augmentation)
    presence: bool = False        # tell the model which sources each example holds
    #: The recipe whose trained weights this one starts from (``--init``, required):
    #: its configuration with settings that add layers, such as ``dual_path``. Not in
    #: :meth:`as_dict`, like ``inference_segment``.
    extends: str | None = None
    #: Seconds per window when separating (the ensemble file's ``segment``), or None
    #: for the model's own; not a training setting, so not in :meth:`as_dict`.
    inference_segment: float | None = None

    def with_steps(self, steps: int | None, finetune_steps: int | None,
                   batch: int | None = None) -> Recipe:
        """The recipe with its step counts (and batch size) replaced where given."""
        return replace(self, steps=self.steps if steps is None else steps,
                       finetune_steps=(self.finetune_steps if finetune_steps is None
                                       else finetune_steps),
                       batch=self.batch if batch is None else batch)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready training settings, written beside the weights and into checkpoints."""
        data = asdict(self)
        # Checkpoints and cards made before they existed must still match their recipe;
        # what a run started from is in its card and checkpoint ("init") anyway.
        del data["inference_segment"], data["extends"]
        data["angles"] = list(self.angles)
        return data


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe for recipe in (
        Recipe(
            name="hdemucs_small",
            architecture="hdemucs",
            config={"sources": ["drums", "bass", "other", "vocals"], "channels": 8,
                    "depth": 6, "segment": 10},
            description="Hybrid (waveform + spectrogram) Demucs v3 from the demucs package, "
                        "configured small: 8 channels at the top, 6 levels.",
            lr=5e-4, finetune_lr=2e-4, steps=600, finetune_steps=200,
            inference_segment=4.0),  # as models/default.yaml: ~3x faster than 10 s (card)
        Recipe(
            name="tfc_tdf",
            architecture="tfc_tdf_unet",
            config=TFC_TDF_CONFIG,
            description="Our MDX-Net-style TFC-TDF U-Net on the STFT with softmax masks "
                        "(remixer_app/core/separation/tfc_tdf.py).",
            lr=1e-3, finetune_lr=3e-4, steps=700, finetune_steps=200,
            inference_segment=4.0),
        Recipe(
            name="dttnet",
            architecture="tfc_tdf_unet",
            config={**TFC_TDF_CONFIG, "dual_path": 2},
            description="Our TFC-TDF U-Net with two dual-path LSTM blocks at the bottleneck "
                        "(DTTNet-style, remixer_app/core/separation/dual_path.py), started "
                        "from trained tfc_tdf weights.",
            lr=3e-4, finetune_lr=1e-4, steps=4000, finetune_steps=800, extends="tfc_tdf",
            inference_segment=4.0),
        Recipe(
            name="classical_tfc_tdf",
            architecture="tfc_tdf_unet",
            config={"channels": 24, "growth": 24, "levels": 3, "convs": 2, "bottleneck": 8,
                    "patch": 8, "nfft": 2048, "hop": 512, "segment": 6.0,
                    "sources": list(INSTRUMENTS)},
            description="Our TFC-TDF U-Net with one softmax mask per instrument, shared out "
                        "among the instruments present only.",
            lr=1e-3, steps=360, finetune_steps=0, presence=True,
            augmentation=CLASSICAL_AUGMENTATION),
        Recipe(
            name="classical_tasnet",
            architecture="conv_tasnet",
            config={"filters": 128, "kernel": 64, "width": 64, "hidden": 96, "blocks": 6,
                    "repeats": 2, "segment": 6.0, "sources": list(INSTRUMENTS)},
            description="A small Conv-TasNet (the Cadenza 2 baseline's architecture; "
                        "remixer_app/core/separation/conv_tasnet.py) with masks over the "
                        "instruments present only.",
            lr=1e-3, steps=450, finetune_steps=0, presence=True,
            augmentation=CLASSICAL_AUGMENTATION),
        Recipe(
            name="classical_nmf",
            architecture="dictionary_nmf",
            config={"components": 64, "nfft": 16384, "hop": 4096, "iterations": 100,
                    "mask_power": 2.0, "beta": 0.5, "segment": 10.0,
                    "sources": list(INSTRUMENTS)},
            description="Supervised NMF (remixer_app/core/separation/dictionary_nmf.py): "
                        "64 spectra per instrument learned from its solo stems, the present "
                        "instruments' activations and stereo positions fitted to the "
                        "mixture (beta-divergence 0.5), Wiener masks.",
            steps=100, finetune_steps=0, presence=True),  # steps: updates per dictionary
    )
}
