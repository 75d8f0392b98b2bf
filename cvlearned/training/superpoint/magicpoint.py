"""Stage 2 of SuperPoint training: MagicPoint, the detector alone, on Synthetic Shapes.

The encoder and the detector head of a :class:`~cvlearned.models.superpoint.SuperPointNet`
learn the 65-way cell classification of the exact corner labels; half of the images are
warped by a random homography (labels and a valid-pixel mask warped with them). Seeded
per step, resumable from ``out/checkpoint.pt``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from cvlearned.models.superpoint import build_net
from cvlearned.synthetic.homography import sample_homography, warp_image
from cvlearned.training.common.run_state import StepSchedule, run_steps
from cvlearned.training.superpoint.superpoint_config import SuperPointTrainConfig
from cvlearned.training.superpoint.superpoint_losses import cell_labels, detector_loss, valid_cells

__all__ = ["warp_points", "magicpoint_batch", "train_magicpoint"]


def warp_points(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) pixel positions mapped by a (3, 3) homography."""
    p = np.c_[np.asarray(points, np.float64).reshape(-1, 2), np.ones(len(points))] @ np.asarray(H, np.float64).T
    return p[:, :2] / p[:, 2:3]


def magicpoint_batch(
    images: np.ndarray, points: list[np.ndarray], idx: np.ndarray, rng: np.random.Generator,
    cfg: SuperPointTrainConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """→ ((B, 1, H, W) float in [0, 1], (B, H/8, W/8) int64 labels, (B, H/8, W/8) bool valid)."""
    h, w = images.shape[1:3]
    xs, labels, valid = [], [], []
    for i in idx:
        image, pts, mask = images[i], points[i], np.ones((h, w), np.uint8)
        if rng.random() < cfg.magicpoint.warp_probability:
            H = sample_homography(rng, (w, h), cfg.magicpoint.homography)
            image, mask = warp_image(image, H, (w, h)), warp_image(mask, H, (w, h))
            pts = warp_points(H, pts)
            inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
            pts = pts[inside]
        xs.append(image)
        labels.append(cell_labels(pts, h, w, rng))
        valid.append(mask)
    x = torch.from_numpy(np.stack(xs)).float()[:, None] / 255.0
    cells = valid_cells(torch.from_numpy(np.stack(valid)))
    return x, torch.from_numpy(np.stack(labels)), cells


def train_magicpoint(
    cfg: SuperPointTrainConfig, images: np.ndarray, points: list[np.ndarray], out: Path,
    log: logging.Logger, progress: bool = True, max_steps_this_run: int | None = None,
) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    """Train (or resume) → (net in eval mode, history of logged entries)."""
    mp = cfg.magicpoint
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    net = build_net(cfg.preset)
    params = [p for name, p in net.named_parameters() if not name.startswith("convD")]
    opt = torch.optim.Adam(params, lr=mp.lr)
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.seed, 1, step])
        x, labels, valid = magicpoint_batch(images, points, rng.choice(len(images), mp.batch_size, replace=False),
                                            rng, cfg)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss = detector_loss(net.detector_logits(net.encode(x)), labels, valid)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    schedule = StepSchedule(mp.steps, mp.lr, mp.warmup_steps, mp.log_every, mp.checkpoint_every, mp.max_minutes)
    history = run_steps(net, opt, out / "checkpoint.pt", cfg, schedule, step_fn, log, desc="magicpoint",
                        progress=progress, max_steps_this_run=max_steps_this_run)
    return net.eval(), history
