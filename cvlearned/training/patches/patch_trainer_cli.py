"""The command line shared by the patch-pair trainers (``cvlearned train hardnet|orinet``):
the same options, run folder, log and photo-pair mining before training, and the same
evaluation and export after it (on the shared skeleton of
:mod:`cvlearned.training.common.trainer_cli`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvlearned.cli_args import trainer_parser
from cvlearned.training.common.trainer_cli import TrainerRun, finish_run, start_run
from cvlearned.training.patches.patch_pairs import load_train_val_pairs

__all__ = ["PatchRun", "start_patch_run", "finish_patch_run"]


@dataclass
class PatchRun(TrainerRun):
    """A started run (:class:`~cvlearned.training.common.trainer_cli.TrainerRun`) and its
    (train a, b, val a, b) patches."""

    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def start_patch_run(argv: list[str] | None, model: str, description: str, export_example: str,
                    load_config: Callable[..., Any],
                    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> PatchRun:
    """Parse ``cvlearned train MODEL`` options ``--config --images --out --steps --max-minutes --max-steps-this-run
    --export`` (and those ``add_arguments`` adds), load the config (with the overrides), open
    the run folder and its log (logger ``cvlearned.train_MODEL``), and mine or load the patch
    pairs."""
    import torch

    torch.set_num_threads(1)
    parser = trainer_parser(model, description)
    parser.add_argument("--config", help="YAML config (default: built-in defaults)")
    parser.add_argument("--images", required=True, help="folder of training photos")
    parser.add_argument("--out", required=True, help="run folder (cache, checkpoints, log)")
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument("--max-minutes", type=float, help="stop (and checkpoint) after this wall time")
    parser.add_argument("--max-steps-this-run", type=int,
                        help="stop (and checkpoint) after this many steps in this run (resumable)")
    parser.add_argument("--export", help=f"write the final state dict here (e.g. {export_example})")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)

    cfg = load_config(args.config, steps=args.steps, max_minutes=args.max_minutes)
    run = start_run(args, cfg, args.out, f"cvlearned.train_{model}")
    pairs = load_train_val_pairs(args.images, cfg.mining, cfg.photo_max_side, cfg.val_pairs, run.out, run.log)
    return PatchRun(run.args, run.cfg, run.out, run.log, run.started, pairs)


def finish_patch_run(run: PatchRun, net: Any, final: dict[str, float], fp16: bool = False) -> int:
    """Log the final validation, write ``out/final.pt`` and ``--export`` (fp16 if asked); exit code 0."""
    run.log.info("final val %s", json.dumps(final))
    return finish_run(run, net, fp16)
