"""Train OriNet (learned keypoint orientation) with LIFT's orientation loss.

    cvlearned train orinet --config cvlearned/training/configs/orinet.yaml \\
        --images PHOTOS --out runs/orinet --export weights/orinet-v1.pt

Data: patch pairs of corresponding SIFT keypoints in two views related by a random
homography with a large in-plane rotation (up to +-180 degrees), mined by
:mod:`cvlearned.training.patches.patch_pairs` with ``upright=True``: both patches are sampled
axis-aligned at a larger support (48 px at ``9 * size``, the pixel step of the
descriptor's 32 px at ``6 * size``) so that they can be rotated afterwards.

Loss (Yi et al., "Learning to Assign Orientations to Feature Points", CVPR 2016 / LIFT):
OriNet sees the central 32x32 crop (the upright descriptor patch) of each view and predicts
``(cos a, sin a)``; each 48-px patch is re-sampled rotated by its predicted angle
(:func:`cvlearned.models.orinet.rotate_patches`, differentiable ``grid_sample``) and
described by the *frozen* shipped HardNet descriptor; the loss is the mean descriptor
distance between corresponding rotated patches, plus ``triplet_weight`` times HardNet's
hardest-in-batch triplet loss (0 = pure LIFT loss).

* Photos: every 10th file (sorted by name) is held out for validation.
* Seeded: the batch of step ``s`` is drawn with ``default_rng([seed, s])``, so a resumed run
  follows the same trajectory. ``--out/checkpoint.pt`` is written every
  ``checkpoint_every`` steps and at the end; a rerun with the same ``--out`` resumes.
* ``max_minutes`` bounds the wall time of the optimisation loop (mining not included).
* Logs go to ``--out/train.log`` (and a tqdm bar on stderr).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cvlearned.synthetic.homography import HomographyDistribution
from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.common.run_state import StepSchedule, run_steps
from cvlearned.training.patches.patch_pairs import MiningConfig
from cvlearned.training.patches.patch_trainer_cli import finish_patch_run, start_patch_run

__all__ = [
    "TrainConfig",
    "default_mining",
    "load_config",
    "frozen_descriptor",
    "orientation_loss",
    "step_loss",
    "evaluate",
    "train",
    "main",
]

#: descriptor patch: 32 px covering 6 x KeyPoint.size (HardNet's default support)
DESC_PATCH, DESC_SCALE = 32, 6.0


def default_mining() -> MiningConfig:
    """Upright 48-px patches at 9 x size, homographies with rotation up to +-180 degrees."""
    return MiningConfig(
        image_side=512,
        pairs_per_photo=2,
        max_keypoints_per_image=100,
        patch_size=48,
        patch_scale=9.0,
        upright=True,
        homography=HomographyDistribution(
            scale=(0.7, 1.4), max_rotation_deg=180.0, max_perspective=0.1, max_translation=0.1, center_region=0.3
        ),
    )


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (YAML keys of the same names; ``mining`` is a mapping)."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    triplet_weight: float = 0.0
    margin: float = 1.0
    augment_rot90: bool = True
    descriptor_preset: str = "hardnet-lite"
    descriptor_weights: str | None = None
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 25
    val_every: int = 250
    val_pairs: int = 500
    photo_max_side: int = 640
    max_minutes: float | None = None
    mining: MiningConfig = field(default_factory=default_mining)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every", "val_every", "val_pairs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "steps" else 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be >= 2")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.triplet_weight < 0:
            raise ValueError(f"triplet_weight must be >= 0, got {self.triplet_weight}")
        m = self.mining
        if not m.upright:
            raise ValueError("orientation training needs upright patch pairs (mining.upright: true)")
        if abs(m.patch_scale / m.patch_size - DESC_SCALE / DESC_PATCH) > 1e-9:
            raise ValueError(
                f"mining patches must have the descriptor's pixel step: patch_scale / patch_size = "
                f"{DESC_SCALE}/{DESC_PATCH}, got {m.patch_scale}/{m.patch_size}"
            )
        if m.patch_size < DESC_PATCH * 2**0.5 + 2 or (m.patch_size - DESC_PATCH) % 2:
            raise ValueError(
                f"mining.patch_size must be even and >= {int(DESC_PATCH * 2**0.5 + 2)}, got {m.patch_size}"
            )


def load_config(path: str | os.PathLike | None, **overrides: Any) -> TrainConfig:
    """Read a YAML config (None = defaults) and apply keyword overrides that are not None."""
    return load_yaml_config(TrainConfig(), path, **overrides)


def frozen_descriptor(preset: str = "hardnet-lite", weights: str | None = None):
    """The shipped (or given) HardNet as a frozen, BN-fused eval module; gradients reach its input only."""
    from cvlearned.models.hardnet import FusedHardNet, build_net
    from cvlearned.weight_files import load_into, load_state_dict, shipped_file, shipped_weights

    net = build_net(preset)
    source = shipped_weights(shipped_file(preset)) if weights is None else weights
    load_into(net, load_state_dict(source), source)
    fused = FusedHardNet(net.eval()).eval()
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused


def orientation_loss(da, db, triplet_weight: float = 0.0, margin: float = 1.0):
    """``mean_i ||da_i - db_i||`` (LIFT) ``+ triplet_weight * hardnet_triplet_loss(da, db, margin)``."""
    import torch

    from cvlearned.training.patches.losses import hardnet_triplet_loss

    loss = torch.sqrt(((da - db) ** 2).sum(dim=1) + 1e-8).mean()
    if triplet_weight > 0:
        loss = loss + triplet_weight * hardnet_triplet_loss(da, db, margin)
    return loss


def _oriented_descriptors(orinet, descriptor, big):
    """(N, 1, Q, Q) upright patches → (descriptors of the patches rotated by the predicted angle, vectors)."""
    from cvlearned.models.orinet import centre_crop, rotate_patches

    vec = orinet(centre_crop(big, DESC_PATCH))
    return descriptor(rotate_patches(big, vec, DESC_PATCH)), vec


def step_loss(orinet, descriptor, big_a, big_b, triplet_weight: float = 0.0, margin: float = 1.0):
    """The training loss of one batch of (B, 1, Q, Q) upright patch pairs (one forward pass)."""
    import torch

    desc, _ = _oriented_descriptors(orinet, descriptor, torch.cat([big_a, big_b]))
    n = big_a.shape[0]
    return orientation_loss(desc[:n], desc[n:], triplet_weight, margin)


def _tensor(x: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).float().unsqueeze(1)


def evaluate(orinet, descriptor, va: np.ndarray, vb: np.ndarray, seed: int = 0, batch: int = 256) -> dict[str, float]:
    """Validation on held-out upright pairs (uint8 (N, Q, Q)).

    * ``dist`` / ``nn_acc``: mean descriptor distance of corresponding learned-oriented
      patches and nearest-neighbour accuracy a→b; ``*_upright``: the same without rotation
      (central crops), the baseline the learned orientation must beat;
    * ``equiv_median_deg`` / ``equiv_p90_deg``: each A patch re-sampled rotated by a random
      known angle ``phi``; error of ``pred(rotated) - (pred(original) - phi)``.
    """
    import torch

    from cvlearned.models.orinet import (
        angular_difference,
        angles_to_vectors,
        centre_crop,
        rotate_patches,
        vectors_to_angles,
    )

    was_training = orinet.training
    orinet.eval()
    rng = np.random.default_rng([seed, 12345])
    phi = rng.uniform(0.0, 360.0, len(va))
    da, db, ua, ub, pred, pred_rot = [], [], [], [], [], []
    with torch.inference_mode():
        for s in range(0, len(va), batch):
            a, b = _tensor(va[s : s + batch]), _tensor(vb[s : s + batch])
            d, v = _oriented_descriptors(orinet, descriptor, a)
            da.append(d)
            pred.append(vectors_to_angles(v))
            db.append(_oriented_descriptors(orinet, descriptor, b)[0])
            ua.append(descriptor(centre_crop(a, DESC_PATCH)))
            ub.append(descriptor(centre_crop(b, DESC_PATCH)))
            rotated = rotate_patches(a, angles_to_vectors(phi[s : s + batch]), DESC_PATCH)
            pred_rot.append(vectors_to_angles(orinet(rotated)))
    out: dict[str, float] = {}
    for name, xs, ys in (("", da, db), ("_upright", ua, ub)):
        x, y = torch.cat(xs), torch.cat(ys)
        dist = torch.cdist(x, y)
        out["dist" + name] = float(torch.diagonal(dist).mean())
        out["nn_acc" + name] = float((dist.argmin(dim=1) == torch.arange(len(x))).float().mean())
    err = np.abs(angular_difference(np.concatenate(pred_rot), np.concatenate(pred) - phi))
    out["equiv_median_deg"] = float(np.median(err))
    out["equiv_p90_deg"] = float(np.quantile(err, 0.9))
    orinet.train(was_training)
    return out


def train(
    cfg: TrainConfig,
    train_a: np.ndarray,
    train_b: np.ndarray,
    out_dir: str | os.PathLike,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    logger: logging.Logger | None = None,
    progress: bool = True,
    max_steps_this_run: int | None = None,
    descriptor=None,
):
    """Train (or resume from ``out_dir/checkpoint.pt``); returns (orinet, history list of dicts).

    ``train_a``/``train_b``: (N, Q, Q) uint8 upright patch pairs. ``max_steps_this_run``
    stops early (after checkpointing); the learning-rate schedule always follows ``cfg.steps``.
    ``descriptor``: the frozen descriptor module (default: :func:`frozen_descriptor`).
    """
    import torch

    from cvlearned.models.orinet import OriNet

    log = logger or logging.getLogger("cvlearned.train_orinet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    if descriptor is None:
        descriptor = frozen_descriptor(cfg.descriptor_preset, cfg.descriptor_weights)
    torch.manual_seed(cfg.seed)
    net = OriNet()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(train_a)
    if n < cfg.batch_size:
        raise ValueError(f"only {n} training pairs for a batch of {cfg.batch_size}")

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.seed, step])
        idx = rng.choice(n, cfg.batch_size, replace=False)
        xa, xb = _tensor(train_a[idx]), _tensor(train_b[idx])
        if rng.random() < 0.5:
            xa, xb = xb, xa
        if cfg.augment_rot90:  # exact quarter turns, independent per view: more rotation variety
            ka, kb = rng.integers(0, 4, 2)
            xa, xb = torch.rot90(xa, int(ka), dims=(2, 3)), torch.rot90(xb, int(kb), dims=(2, 3))
        loss = step_loss(net, descriptor, xa, xb, cfg.triplet_weight, cfg.margin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    def validate(entry: dict[str, float], done: int) -> None:
        if val is not None and (done % cfg.val_every == 0 or done == cfg.steps):
            entry.update(evaluate(net, descriptor, *val, seed=cfg.seed))

    schedule = StepSchedule(cfg.steps, cfg.lr, cfg.warmup_steps, cfg.log_every, cfg.checkpoint_every, cfg.max_minutes)
    history = run_steps(net, opt, ckpt_path, cfg, schedule, step_fn, log, desc="train orinet",
                        progress=progress, max_steps_this_run=max_steps_this_run, log_lr=True, on_log=validate)
    net.eval()
    return net, history


def main(argv: list[str] | None = None) -> int:
    run = start_patch_run(argv, "orinet", __doc__, "weights/orinet-v1.pt", load_config)
    a, b, va, vb = run.pairs
    descriptor = frozen_descriptor(run.cfg.descriptor_preset, run.cfg.descriptor_weights)
    net, _ = train(run.cfg, a, b, run.out, val=(va, vb), logger=run.log, descriptor=descriptor,
                   max_steps_this_run=run.args.max_steps_this_run)
    return finish_patch_run(run, net, evaluate(net, descriptor, va, vb, seed=run.cfg.seed))


if __name__ == "__main__":
    raise SystemExit(main())
