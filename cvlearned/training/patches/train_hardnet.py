"""Train a HardNet patch descriptor on patch pairs mined from photos.

    cvlearned train hardnet --config cvlearned/training/configs/hardnet-lite.yaml \\
        --images PHOTOS --out runs/hardnet-lite --export weights/hardnet-lite-v1.pt

* Photos are split by name: every 10th file (sorted) is held out for validation.
* Patch pairs (:mod:`cvlearned.training.patches.patch_pairs`) are cached in ``--out``; the config's
  ``sfm.scenes`` add patch pairs from the tracks of real reconstructions
  (:mod:`cvlearned.training.patches.sfm_patch_pairs`; scene folders of ``cvlearned data reconstruct``
  under ``--reconstructions``).
* Seeded: the batch of step ``s`` is drawn with ``default_rng([seed, s])`` and dropout is
  seeded per step, so a resumed run follows the same trajectory.
* ``--out/checkpoint.pt`` (model, optimiser, step) is written every ``checkpoint_every``
  steps and at the end; a rerun with the same ``--out`` resumes from it.
* Logs go to ``--out/train.log`` (and a tqdm bar on stderr).
* ``--export PATH`` writes the final state dict (fp16 when ``export_fp16``) for shipping.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.common.run_state import StepSchedule, export_weights, run_steps
from cvlearned.training.patches.patch_pairs import MiningConfig
from cvlearned.training.patches.patch_trainer_cli import PatchRun, finish_patch_run, start_patch_run
from cvlearned.training.patches.sfm_patch_pairs import SfmPatchConfig, load_or_mine_sfm

__all__ = ["TrainConfig", "load_config", "train", "export_weights", "main"]


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (YAML keys of the same names; ``mining`` and ``sfm`` are mappings)."""

    preset: str = "hardnet-lite"
    steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    dropout: float = 0.1
    margin: float = 1.0
    sos_weight: float = 0.0
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 50
    val_every: int = 500
    val_pairs: int = 1000
    photo_max_side: int = 640
    max_minutes: float | None = None
    bf16_autocast: bool = False
    channels_last: bool = False
    export_fp16: bool = False
    mining: MiningConfig = field(default_factory=MiningConfig)
    sfm: SfmPatchConfig = field(default_factory=SfmPatchConfig)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every", "val_every", "val_pairs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "steps" else 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be >= 2")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def load_config(path: str | os.PathLike | None, **overrides: Any) -> TrainConfig:
    """Read a YAML config (None = defaults) and apply keyword overrides that are not None."""
    return load_yaml_config(TrainConfig(), path, **overrides)


def _batch(a: np.ndarray, b: np.ndarray, idx: np.ndarray):
    import torch

    xa = torch.from_numpy(a[idx]).float().unsqueeze(1)
    xb = torch.from_numpy(b[idx]).float().unsqueeze(1)
    return xa, xb


def evaluate(net, a: np.ndarray, b: np.ndarray, batch: int = 512) -> dict[str, float]:
    """Patch-level validation: nearest-neighbour accuracy (a→b) and FPR at 95% recall."""
    import torch

    net.eval()
    with torch.inference_mode():
        da = torch.cat([net(_batch(a, b, np.arange(s, min(s + batch, len(a))))[0]) for s in range(0, len(a), batch)])
        db = torch.cat([net(_batch(a, b, np.arange(s, min(s + batch, len(a))))[1]) for s in range(0, len(a), batch)])
    dist = torch.cdist(da, db)
    nn_acc = float((dist.argmin(dim=1) == torch.arange(len(a))).float().mean())
    pos = torch.diagonal(dist).numpy()
    neg = dist[torch.arange(len(a)), torch.roll(torch.arange(len(a)), 1)].numpy()
    thr = np.quantile(pos, 0.95)
    fpr95 = float(np.mean(neg <= thr))
    net.train()
    return {"nn_acc": nn_acc, "fpr95": fpr95}


def train(
    cfg: TrainConfig,
    train_a: np.ndarray,
    train_b: np.ndarray,
    out_dir: str | os.PathLike,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    logger: logging.Logger | None = None,
    progress: bool = True,
    max_steps_this_run: int | None = None,
):
    """Train (or resume from ``out_dir/checkpoint.pt``); returns (net, history list of dicts).

    ``max_steps_this_run`` stops early (after checkpointing), e.g. to simulate an
    interrupted run; the learning-rate schedule always follows ``cfg.steps``.
    """
    import torch

    from cvlearned.models.hardnet import build_net
    from cvlearned.training.patches.losses import descriptor_loss

    log = logger or logging.getLogger("cvlearned.train_hardnet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    torch.manual_seed(cfg.seed)
    net = build_net(cfg.preset, dropout=cfg.dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it
    n = len(train_a)
    if n < cfg.batch_size:
        raise ValueError(f"only {n} training pairs for a batch of {cfg.batch_size}")

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.seed, step])
        idx = rng.choice(n, cfg.batch_size, replace=False)
        xa, xb = _batch(train_a, train_b, idx)
        if rng.random() < 0.5:
            xa, xb = xb, xa
        torch.manual_seed(cfg.seed * 1_000_003 + step)
        x = torch.cat([xa, xb])
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16_autocast):
            desc = net(x)
        desc = desc.float()
        loss = descriptor_loss(desc[: cfg.batch_size], desc[cfg.batch_size :], cfg.margin, cfg.sos_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    def validate(entry: dict[str, float], done: int) -> None:
        if val is not None and (done % cfg.val_every == 0 or done == cfg.steps):
            entry.update(evaluate(net, *val))

    schedule = StepSchedule(cfg.steps, cfg.lr, cfg.warmup_steps, cfg.log_every, cfg.checkpoint_every, cfg.max_minutes)
    history = run_steps(net, opt, ckpt_path, cfg, schedule, step_fn, log, desc=f"train {cfg.preset}",
                        progress=progress, max_steps_this_run=max_steps_this_run, log_lr=True, on_log=validate)
    net.eval()
    return net, history


def _add_reconstructions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reconstructions", default="runs/reconstructions",
                        help="folder holding the config's sfm.scenes (default: runs/reconstructions)")


def with_sfm_pairs(run: PatchRun, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with the SfM patch pairs of ``run.cfg.sfm`` appended (cached in the run folder)."""
    sfm = run.cfg.sfm
    if not sfm.scenes:
        return a, b
    mining = run.cfg.mining
    sa, sb, ids = load_or_mine_sfm(sfm, run.out, run.args.reconstructions, mining.patch_size, mining.patch_scale,
                                   progress=True)
    run.log.info("SfM patch pairs: %d pairs of %d 3-D points from %s", len(sa), len(np.unique(ids)),
                 ", ".join(sfm.scenes))
    return np.concatenate([a, sa]), np.concatenate([b, sb])


def main(argv: list[str] | None = None) -> int:
    run = start_patch_run(argv, "hardnet", __doc__, "weights/hardnet-lite-v1.pt", load_config, _add_reconstructions)
    a, b, va, vb = run.pairs
    a, b = with_sfm_pairs(run, a, b)
    net, _ = train(run.cfg, a, b, run.out, val=(va, vb), logger=run.log,
                   max_steps_this_run=run.args.max_steps_this_run)
    return finish_patch_run(run, net, evaluate(net, va, vb), fp16=run.cfg.export_fp16)


if __name__ == "__main__":
    raise SystemExit(main())
