"""Run bookkeeping shared by the trainers: checkpoints, resume, schedule, logs, export."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "cached_arrays", "save_checkpoint", "resume", "warmup_linear_decay", "setup_logging", "export_weights",
    "StepSchedule", "run_steps",
]


def save_checkpoint(path: Path, net: Any, opt: Any, step: int, cfg: Any, elapsed: float) -> None:
    """Atomically write model, optimiser, step, config and elapsed seconds to ``path``."""
    import torch

    tmp = path.with_suffix(".tmp")
    is_instance = dataclasses.is_dataclass(cfg) and not isinstance(cfg, type)
    config = json.dumps(dataclasses.asdict(cfg), default=str) if is_instance else str(cfg)
    torch.save(
        {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step, "config": config,
         "elapsed_s": elapsed},
        tmp,
    )
    tmp.replace(path)


def resume(path: Path, net: Any, opt: Any, log: logging.Logger | None = None) -> tuple[int, float]:
    """Load ``path`` into ``net``/``opt`` if it exists → (step, elapsed seconds); else (0, 0)."""
    import torch

    if not path.is_file():
        return 0, 0.0
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    if log is not None:
        log.info("resumed from %s at step %d", path, int(ckpt["step"]))
    return int(ckpt["step"]), float(ckpt.get("elapsed_s", 0.0))


def warmup_linear_decay(lr: float, step: int, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then linear decay to 0 at ``total``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * max(0.0, 1.0 - (step - warmup) / max(total - warmup, 1))


def setup_logging(out: Path, name: str) -> logging.Logger:
    """A logger writing to ``out/train.log`` (one handler per file, even when called twice)."""
    log = logging.getLogger(name)
    log.setLevel(logging.INFO)
    target = str((out / "train.log").resolve())
    if not any(getattr(h, "baseFilename", None) == target for h in log.handlers):
        handler = logging.FileHandler(target)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    return log


def export_weights(net: Any, path: str | os.PathLike, fp16: bool = False) -> Path:
    """Write the network's state dict (float tensors as fp16 when ``fp16``) to ``path``."""
    import torch

    state = {
        k: (v.detach().cpu().half() if fp16 and v.is_floating_point() else v.detach().cpu().clone())
        for k, v in net.state_dict().items()
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


@dataclasses.dataclass(frozen=True)
class StepSchedule:
    """How many steps, the learning-rate schedule, and how often to log and checkpoint."""

    steps: int
    lr: float
    warmup_steps: int
    log_every: int
    checkpoint_every: int
    max_minutes: float | None = None


def run_steps(
    net: Any, opt: Any, ckpt: Path, cfg: Any, schedule: StepSchedule,
    step_fn: Callable[[int], dict[str, float]], log: logging.Logger, *, desc: str, progress: bool = True,
    max_steps_this_run: int | None = None, log_lr: bool = False,
    on_log: Callable[[dict[str, float], int], None] | None = None,
) -> list[dict[str, float]]:
    """The resumable optimisation loop shared by the trainers → history of logged entries.

    Resumes ``net``/``opt`` from ``ckpt``; for each step sets the warm-up/linear-decay
    learning rate and calls ``step_fn(step)``, which runs one optimisation step and returns
    its losses (floats, ``"loss"`` first). Every ``log_every`` steps the means are logged
    (with the step's learning rate when ``log_lr``; ``on_log(entry, step)`` may add to it);
    ``ckpt`` (saved with ``cfg``) is written every ``checkpoint_every`` steps and at the
    end. Stops early after ``max_minutes`` of wall time or ``max_steps_this_run`` steps.
    """
    start, elapsed_before = resume(ckpt, net, opt, log)
    net.train()
    stop = schedule.steps if max_steps_this_run is None else min(schedule.steps, start + max_steps_this_run)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=schedule.steps, initial=start, desc=desc, mininterval=10.0)
    t0, running, history, done = time.time(), [], [], start
    for step in range(start, stop):
        if schedule.max_minutes is not None and (time.time() - t0) / 60.0 > schedule.max_minutes:
            log.info("time budget of %.1f min reached at step %d", schedule.max_minutes, step)
            break
        lr = warmup_linear_decay(schedule.lr, step, schedule.warmup_steps, schedule.steps)
        for group in opt.param_groups:
            group["lr"] = lr
        running.append(step_fn(step))
        done = step + 1
        if bar is not None:
            bar.update(1)
        if done % schedule.log_every == 0:
            entry = {"step": done, **{k: float(sum(r[k] for r in running) / len(running)) for k in running[0]}}
            if log_lr:
                entry["lr"] = lr
            entry["elapsed_s"] = elapsed_before + time.time() - t0
            running = []
            if on_log is not None:
                on_log(entry, done)
            history.append(entry)
            log.info(json.dumps(entry))
        if done % schedule.checkpoint_every == 0:
            save_checkpoint(ckpt, net, opt, done, cfg, elapsed_before + time.time() - t0)
    if done > start:
        save_checkpoint(ckpt, net, opt, done, cfg, elapsed_before + time.time() - t0)
    if bar is not None:
        bar.close()
    return history


def cached_arrays(
    path: Path, names: Sequence[str], compute: Callable[[], Sequence[np.ndarray]]
) -> tuple[np.ndarray, ...]:
    """The arrays ``names`` of the ``.npz`` cache file ``path``; when it is absent, ``compute()``
    (one array per name) written there first, through a temporary file renamed into place so
    an interrupted run leaves no partial cache."""
    if path.is_file():
        with np.load(path) as data:
            return tuple(data[name] for name in names)
    arrays = tuple(compute())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    named: dict[str, Any] = dict(zip(names, arrays))
    np.savez(tmp, **named)
    tmp.replace(path)
    return arrays
