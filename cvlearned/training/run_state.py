"""Run bookkeeping shared by the trainers: checkpoints, resume, schedule, logs, export."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

__all__ = ["save_checkpoint", "resume", "warmup_linear_decay", "setup_logging", "export_weights"]


def save_checkpoint(path: Path, net: Any, opt: Any, step: int, cfg: Any, elapsed: float) -> None:
    """Atomically write model, optimiser, step, config and elapsed seconds to ``path``."""
    import torch

    tmp = path.with_suffix(".tmp")
    config = json.dumps(dataclasses.asdict(cfg), default=str) if dataclasses.is_dataclass(cfg) else str(cfg)
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
