"""The command line shared by the patch-pair trainers (``cvlearned train hardnet|orinet``):
the same options, run folder, log and photo-pair mining before training, and the same
evaluation and export after it."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvlearned.cli_args import trainer_parser
from cvlearned.training.patch_pairs import load_train_val_pairs
from cvlearned.training.run_state import export_weights, setup_logging

__all__ = ["PatchRun", "start_patch_run", "finish_patch_run"]


@dataclass
class PatchRun:
    """A started run: parsed options, config, run folder, logger, (train a, b, val a, b) patches."""

    args: argparse.Namespace
    cfg: Any
    out: Path
    log: logging.Logger
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    started: float


def start_patch_run(argv: list[str] | None, model: str, description: str, export_example: str,
                    load_config: Callable[..., Any],
                    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> PatchRun:
    """Parse ``cvlearned train MODEL`` options ``--config --images --out --steps --max-minutes
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
    parser.add_argument("--export", help=f"write the final state dict here (e.g. {export_example})")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)

    cfg = load_config(args.config, steps=args.steps, max_minutes=args.max_minutes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = setup_logging(out, f"cvlearned.train_{model}")
    log.info("config %s", json.dumps(dataclasses.asdict(cfg), default=str))
    started = time.time()
    pairs = load_train_val_pairs(args.images, cfg.mining, cfg.photo_max_side, cfg.val_pairs, out, log)
    return PatchRun(args, cfg, out, log, pairs, started)


def finish_patch_run(run: PatchRun, net: Any, final: dict[str, float], fp16: bool = False) -> int:
    """Log the final validation, write ``out/final.pt`` and ``--export`` (fp16 if asked); exit code 0."""
    run.log.info("final val %s", json.dumps(final))
    export_weights(net, run.out / "final.pt")
    if run.args.export:
        path = export_weights(net, run.args.export, fp16=fp16)
        run.log.info("exported %s (%d bytes)", path, path.stat().st_size)
    run.log.info("done in %.1f s", time.time() - run.started)
    return 0
