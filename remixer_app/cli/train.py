"""``remixer train MEMBER --data DIR``: train (or resume) one member of an ensemble."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from remixer_app.core.errors import RemixerError
from remixer_app.core.progress import ProgressReport
from remixer_app.core.separation.ensemble import ensemble_folders
from remixer_app.training.recipes import RECIPES

DEFAULT_HRIR = Path("hrir") / "VP_N6-BTE_fr.mat"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``train`` subcommand."""
    p = sub.add_parser(
        "train", help="train one member of a separation ensemble on stems",
        description="Train a member (recipes: " + ", ".join(sorted(RECIPES)) + ") on a folder "
                    "of *.stem.mp4 files or of track folders with vocals/drums/bass/other "
                    "files: first on the stems as mixed, then fine-tuned on the stems as "
                    "heard at hearing-aid microphones. Checkpoints are saved as it goes; "
                    "running the same command again resumes. The weights and NAME.json "
                    "(settings, loss curve, time) go into --out, with an ensemble file "
                    "listing every member trained there.")
    p.add_argument("member", choices=sorted(RECIPES), help="which recipe to train")
    p.add_argument("--data", required=True, metavar="DIR", help="folder of training tracks")
    p.add_argument("--hrir", metavar="FILE",
                   help="head-related responses for the at-ear stage (default: "
                        f"DATA/../../{DEFAULT_HRIR} when it exists)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help=f"where the weights go (default: {ensemble_folders()[-1]})")
    p.add_argument("--ensemble-name", default="custom", metavar="NAME",
                   help="ensemble file written in --out (default: custom)")
    p.add_argument("--steps", type=int, metavar="N", help="steps on plain stems "
                   "(default: the recipe's)")
    p.add_argument("--finetune-steps", type=int, metavar="N",
                   help="steps on at-ear stems (default: the recipe's; 0 skips the stage)")
    p.add_argument("--init", metavar="WEIGHTS",
                   help="start from these member weights (e.g. models/tfc_tdf.safetensors) "
                        "to fine-tune on your own stems, instead of from random weights")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, write weights, card and ensemble file; returns the exit code."""
    import torch

    from remixer_app.training.ensemble_file import write_ensemble
    from remixer_app.training.trainer import train_member

    for option in ("steps", "finetune_steps", "threads"):
        value = getattr(args, option)
        if value is not None and value < (1 if option == "threads" else 0):
            raise ValueError(f"--{option.replace('_', '-')} must be at least "
                             f"{1 if option == 'threads' else 0}")
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = RECIPES[args.member].with_steps(args.steps, args.finetune_steps)
    data = Path(args.data)
    hrir = Path(args.hrir) if args.hrir else data.parent.parent / DEFAULT_HRIR
    if recipe.finetune_steps > 0 and not hrir.is_file():
        raise RemixerError(f"HRIR file {hrir} does not exist; pass --hrir FILE or "
                           "--finetune-steps 0")
    out = Path(args.out) if args.out else ensemble_folders()[-1]
    out.mkdir(parents=True, exist_ok=True)

    def show(report: ProgressReport) -> None:
        eta = f", {report.eta_s / 60:.0f} min left" if report.eta_s is not None else ""
        print(f"\r{report.percent:5.1f}% {report.message}{eta}   ", end="", file=sys.stderr,
              flush=True)

    init = Path(args.init) if args.init else None
    if init is not None and not init.is_file():
        raise RemixerError(f"starting weights {init} do not exist")
    result = train_member(recipe, data, out, hrir=hrir if recipe.finetune_steps else None,
                          init=init, resume=not args.fresh, progress=show,
                          log=lambda m: print(m, file=sys.stderr))
    print(file=sys.stderr)
    ensemble = write_ensemble(out, args.ensemble_name)
    print(f"{result.weights} ({result.weights.stat().st_size / 1e6:.1f} MB, sha256 "
          f"{result.sha256[:12]}...) after {result.seconds / 60:.1f} min, final loss "
          f"{result.final_loss:.4f}; ensemble file {ensemble}")
    return 0
