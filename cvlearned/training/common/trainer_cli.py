"""The skeleton every trainer's ``main()`` shares (``cvlearned train MODEL``).

A trainer parses its own options (:func:`cvlearned.cli_args.trainer_parser`), sets torch's
CPU threads and loads its config; then

- :func:`start_run` creates the run folder, opens its log ``train.log`` (one logger per
  trainer), logs the config as one JSON line and starts the clock;
- the trainer trains;
- :func:`export_final` writes ``final.pt`` into the run folder and, with ``--export PATH``,
  the state dict to PATH too (logged as ``exported PATH (N bytes)``);
- :func:`finish_run` does that and logs ``done in S s`` (exit code 0), for the trainers that
  end with a log line rather than a printed summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvlearned.training.common.run_state import export_weights, setup_logging

__all__ = ["TrainerRun", "start_run", "export_final", "finish_run"]


@dataclass
class TrainerRun:
    """A started run: parsed options (with ``export``), config, run folder, its logger, start time."""

    args: argparse.Namespace
    cfg: Any
    out: Path
    log: logging.Logger
    started: float


def start_run(args: argparse.Namespace, cfg: Any, out: str | Path, logger_name: str,
              label: str = "config") -> TrainerRun:
    """Create the run folder ``out``, log to ``out/train.log`` through logger ``logger_name``,
    log ``<label> <the config as JSON>`` and start the clock."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = setup_logging(out, logger_name)
    log.info("%s %s", label, json.dumps(dataclasses.asdict(cfg), default=str))
    return TrainerRun(args, cfg, out, log, time.time())


def export_final(run: TrainerRun, net: Any, fp16: bool = False, log_export: bool = True) -> None:
    """Write ``out/final.pt`` and, with ``--export``, the state dict there too (fp16 if asked;
    logged unless ``log_export`` is False)."""
    export_weights(net, run.out / "final.pt")
    if run.args.export:
        path = export_weights(net, run.args.export, fp16=fp16)
        if log_export:
            run.log.info("exported %s (%d bytes)", path, path.stat().st_size)


def finish_run(run: TrainerRun, net: Any, fp16: bool = False) -> int:
    """:func:`export_final`, then log the wall time; the exit code 0."""
    export_final(run, net, fp16)
    run.log.info("done in %.1f s", time.time() - run.started)
    return 0
