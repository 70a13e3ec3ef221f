"""``remixer train MEMBER --data DIR``: train (or resume) one member of an ensemble."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from remixer_app.cli.arguments import output_folder
from remixer_app.cli.messages import end_progress, show_progress
from remixer_app.core.atomic import can_write_in
from remixer_app.core.errors import Cancelled, RemixerError
from remixer_app.core.evaluation.hrir import load_hrir_set
from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation.device import DEVICES, resolve_device
from remixer_app.core.separation.ensemble import available_ensembles, ensemble_folders
from remixer_app.training.recipes import RECIPES, Recipe

EXIT_INTERRUPTED = 130

DEFAULT_HRIR = Path("hrir") / "VP_N6-BTE_fr.mat"
ENSEMBLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: The default --ensemble-name, by kind: an ensemble is of one kind, so a classical
#: member trained beside pop ones must not take their file.
DEFAULT_NAMES = {False: "custom", True: "custom_classical"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``train`` subcommand."""
    p = sub.add_parser(
        "train", help="train one member of a separation ensemble on stems",
        description="Train a member (recipes: " + ", ".join(sorted(RECIPES)) + ") on a folder "
                    "of *.stem.mp4 files or of track folders with vocals/drums/bass/other "
                    "files (the classical_* recipes: folders of instrument files, as "
                    "`remixer data classical` makes): first on the stems as mixed, then, "
                    "for the pop recipes, fine-tuned on the stems as heard at hearing-aid "
                    "microphones. Checkpoints are saved as it goes; "
                    "running the same command again resumes. The weights and NAME.json "
                    "(settings, loss curve, time) go into --out, with an ensemble file "
                    "listing every member trained there.")
    p.add_argument("member", choices=sorted(RECIPES), help="which recipe to train")
    p.add_argument("--data", required=True, metavar="DIR", help="folder of training tracks")
    p.add_argument("--hrir", metavar="FILE",
                   help="head-related responses for the at-ear stage (default: "
                        f"DATA/../../{DEFAULT_HRIR})")
    p.add_argument("--out", type=output_folder, metavar="DIR", default=None,
                   help=f"where the weights go (default: {ensemble_folders()[-1]})")
    p.add_argument("--ensemble-name", metavar="NAME",
                   help=f"ensemble file written in --out (default: {DEFAULT_NAMES[False]}, "
                        f"{DEFAULT_NAMES[True]} for the classical_* recipes); other "
                        "ensemble files there that list this member get its new checksum")
    p.add_argument("--steps", type=int, metavar="N", help="steps on plain stems "
                   "(default: the recipe's; for classical_nmf, the updates of each "
                   "instrument's dictionary)")
    p.add_argument("--finetune-steps", type=int, metavar="N",
                   help="steps on at-ear stems (default: the recipe's; 0 skips the stage)")
    p.add_argument("--init", metavar="WEIGHTS",
                   help="start from these member weights (e.g. models/tfc_tdf.safetensors) "
                        "to fine-tune on your own stems, instead of from random weights")
    p.add_argument("--batch", type=int, metavar="N",
                   help="examples per step (default: the recipe's; a GPU takes more)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--device", default="auto", metavar="DEVICE",
                   help="where the model learns: auto (default: a GPU if there is one), "
                        f"{', '.join(DEVICES[1:])}, or cuda:N for one of several GPUs")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="processes drawing batches ahead (default 0: drawn between steps); "
                        "with a GPU, a few keep it busy. The batches are the same either way")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace this member's weights already in --out when there is no "
                        "checkpoint to resume, and the ensemble file NAME.yaml there where "
                        "rewriting it drops members it lists (of the other kind, say)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, write weights, card and ensemble file; returns the exit code."""
    import torch

    from remixer_app.training.checkpoint import checkpoint_path
    from remixer_app.training.ensemble_file import update_checksums, write_ensemble
    from remixer_app.training.trainer import train_member

    recipe, data, hrir, out, init = _checked(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    stop = _Interrupts()
    try:
        with stop:
            result = train_member(recipe, data, out, hrir=hrir, init=init,
                                  resume=not args.fresh, device=args.device,
                                  workers=args.workers, progress=_show,
                                  cancelled=stop.asked, log=_log)
    except Cancelled:
        end_progress()
        saved = checkpoint_path(out, recipe.name)
        print(f"remixer: interrupted; the finished steps are saved in {saved}: run the same "
              "command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    end_progress()
    ensemble = write_ensemble(out, args.ensemble_name, trained=recipe.name)
    loss = ("no training step ran" if result.final_loss is None
            else f"final loss {result.final_loss:.4f}")
    print(f"{result.weights} ({result.weights.stat().st_size / 1e6:.1f} MB, sha256 "
          f"{result.sha256[:12]}...) after {result.seconds / 60:.1f} min, {loss}; "
          f"ensemble file {ensemble}")
    for other in update_checksums(out, recipe.name, result.sha256):
        print(f"{other}: updated {recipe.name}'s checksum to the new weights (its member "
              "weights were tuned for the old ones: run `remixer tune-ensemble` on it again)")
    shipped = available_ensembles().get(args.ensemble_name)
    if shipped is not None and shipped.resolve() != ensemble.resolve():
        # Names are looked up in the bundled models first: NAME means the shipped file.
        print(f"remixer: note: --ensemble {args.ensemble_name} means {shipped}; use this "
              f"one as --ensemble {ensemble}", file=sys.stderr)
    return 0


def _checked(args: argparse.Namespace) -> tuple[Recipe, Path, Path | None, Path, Path | None]:
    """The run's recipe, data, HRIR file, output folder and starting weights, every one
    checked before any work, so that a mistake costs seconds rather than the plain stage."""
    from remixer_app.training.checkpoint import checkpoint_path
    from remixer_app.training.ensemble_file import check_nothing_dropped

    for option, least in (("steps", 0), ("finetune_steps", 0), ("threads", 1),
                          ("batch", 1), ("workers", 0)):
        value = getattr(args, option)
        if value is not None and value < least:
            raise ValueError(f"--{option.replace('_', '-')} must be at least {least}")
    args.device = _training_device(args.device)
    recipe = RECIPES[args.member].with_steps(args.steps, args.finetune_steps, args.batch)
    if recipe.steps + recipe.finetune_steps == 0:
        raise ValueError("--steps 0 and --finetune-steps 0 leave nothing to train")
    if args.ensemble_name is None:
        args.ensemble_name = DEFAULT_NAMES[recipe.presence]
    if not ENSEMBLE_NAME.fullmatch(args.ensemble_name):
        raise ValueError(f"--ensemble-name must be a plain name (letters, digits, . _ -), "
                         f"not {args.ensemble_name!r}")
    data = Path(args.data)
    if data.is_file():
        raise RemixerError(f"{data} is a file; --data must be a folder of *.stem.mp4 files "
                           "or of track folders")
    if not data.is_dir():
        raise RemixerError(f"training data folder {data} does not exist")
    hrir = None
    if recipe.finetune_steps > 0:
        hrir = Path(args.hrir) if args.hrir else data.resolve().parent.parent / DEFAULT_HRIR
        if not hrir.is_file():
            raise RemixerError(f"HRIR file {hrir} does not exist; pass --hrir FILE or "
                               "--finetune-steps 0")
        load_hrir_set(hrir)  # unreadable: say so now, not after the plain stage
    out: Path = args.out or ensemble_folders()[-1]
    weights = out / f"{recipe.name}.safetensors"
    resuming = not args.fresh and checkpoint_path(out, recipe.name).is_file()
    if weights.exists() and not resuming and not args.overwrite:
        raise RemixerError(f"{weights} already exists (and there is no checkpoint to resume): "
                           "pass --overwrite to replace it and the ensemble file there, or "
                           "choose another --out")
    if not args.overwrite:
        check_nothing_dropped(out, args.ensemble_name, recipe.name)
    init = Path(args.init) if args.init else None
    if init is not None and not init.is_file():
        raise RemixerError(f"starting weights {init} do not exist")
    folder = checkpoint_path(out, recipe.name).parent  # written from the first minutes on
    if not can_write_in(folder):
        raise RemixerError(f"cannot write checkpoints in {folder}: choose another --out")
    return recipe, data, hrir, out, init


def _training_device(requested: str) -> str:
    """The torch device to train on. ``auto`` takes a GPU if there is one; a GPU asked
    for by name that this machine lacks is refused before any work, not replaced by
    the CPU as a separation's is (training there would take hours instead of minutes)."""
    import torch

    device, missing = resolve_device(requested)
    if missing is not None:
        raise RemixerError(f"--device {requested} is not available on this machine (no GPU "
                           "that this torch can use); train with --device cpu")
    index = device.partition(":")[2]
    if index and not index.isdigit():
        raise ValueError(f"--device {requested}: the GPU number must be a whole number")
    if index and int(index) >= torch.cuda.device_count():
        raise RemixerError(f"--device {requested}: this machine has "
                           f"{torch.cuda.device_count()} GPU(s), numbered from 0")
    return device


class _Interrupts:
    """Ctrl-C and SIGTERM ask the trainer to stop after the current step (it saves a
    checkpoint first); a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self._asked = False
        self._previous: dict[int, Any] = {}

    def asked(self) -> bool:
        return self._asked

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True
        end_progress()
        print("remixer: stopping after this step to save a checkpoint (Ctrl-C again to stop "
              "at once)", file=sys.stderr)

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _show(report: ProgressReport) -> None:
    eta = f", {report.eta_s / 60:.0f} min left" if report.eta_s is not None else ""
    show_progress(f"{report.percent:5.1f}% {report.message}{eta}")


def _log(message: str) -> None:
    end_progress()
    print(message, file=sys.stderr)
