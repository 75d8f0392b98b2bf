"""Train the XFeat network (:mod:`cvlearned.models.xfeat_net`) on homography pairs.

Data: the crops and keypoint pseudo-labels of a SuperPoint homographic-adaptation stage
(``adapt.npz``, :func:`~cvlearned.training.superpoint.superpoint_joint.load_adapted`), each made into a
pair by a random homography and photometric changes
(:func:`~cvlearned.training.superpoint.superpoint_joint.homography_pair`). The paper distils its
keypoint head from another detector's keypoints; ours are the labels of the adaptation.

Loss per batch (:func:`xfeat_losses`), with the weights of :class:`XFeatTrainConfig`:

* keypoints: 65-way cross-entropy per 8x8 cell (SuperPoint's detector loss), view b only
  where it has image content;
* descriptor: dual-softmax InfoNCE between the two 1/8 descriptor maps (positives: the
  view-b cell holding the warped view-a cell centre);
* reliability: L1 between each positive cell's reliability and the (detached) probability
  the softmax gives its true match, in both views, as the paper's reliability target.

Seeded per step; resumable from ``out/checkpoint.pt``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from cvlearned.models.xfeat_net import XFeatNet
from cvlearned.training.common.run_state import StepSchedule, run_steps
from cvlearned.training.superpoint.superpoint_joint import homography_pair
from cvlearned.training.superpoint.superpoint_losses import detector_loss, infonce_terms, valid_cells
from cvlearned.training.xfeat.xfeat_config import XFeatTrainConfig

__all__ = ["xfeat_losses", "train_xfeat"]


def xfeat_losses(net: XFeatNet, pairs: list[dict], cfg: XFeatTrainConfig) -> dict[str, torch.Tensor]:
    """Forward both views of every pair (:func:`homography_pair` dicts) →
    {"detector", "descriptor", "reliability", "total"} scalars."""
    x = torch.from_numpy(np.stack([p["a"] for p in pairs] + [p["b"] for p in pairs])).float()[:, None] / 255.0
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    logits, desc, reliability = net(x)
    n = len(pairs)
    labels = torch.from_numpy(np.stack([p["labels_a"] for p in pairs] + [p["labels_b"] for p in pairs]))
    valid_b = valid_cells(torch.from_numpy(np.stack([p["valid_b"] for p in pairs])))
    det = detector_loss(logits, labels, torch.cat([torch.ones_like(valid_b), valid_b]))
    des, rel = [], []
    for i, pair in enumerate(pairs):
        terms = infonce_terms(desc[i], desc[n + i], torch.from_numpy(pair["H"]).float(), valid_b[i], cfg.temperature)
        des.append(terms.loss)
        if terms.cells_a.numel():
            rel_a = reliability[i].reshape(-1)[terms.cells_a]
            rel_b = reliability[n + i].reshape(-1)[terms.cells_b]
            rel.append(0.5 * ((rel_a - terms.row_probability).abs().mean()
                              + (rel_b - terms.column_probability).abs().mean()))
    descriptor = torch.stack(des).mean()
    reliability_loss = torch.stack(rel).mean() if rel else reliability.sum() * 0.0
    total = cfg.detector_weight * det + cfg.descriptor_weight * descriptor + cfg.reliability_weight * reliability_loss
    return {"total": total, "detector": det, "descriptor": descriptor, "reliability": reliability_loss}


def train_xfeat(
    cfg: XFeatTrainConfig, images: np.ndarray, points: list[np.ndarray], out: Path, log: logging.Logger,
    progress: bool = True, max_steps_this_run: int | None = None,
) -> tuple[XFeatNet, list[dict[str, float]]]:
    """Train (or resume) from random weights on ``images`` (M, H, W) uint8 with keypoint labels
    ``points`` (list of (N_i, 2)) → (net in eval mode, history of logged entries)."""
    if len(images) < cfg.batch_size:
        raise ValueError(f"{len(images)} training crops, fewer than batch_size {cfg.batch_size}")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    net = XFeatNet()
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr)

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.seed, 7, step])
        idx = rng.choice(len(images), cfg.batch_size, replace=False)
        pairs = [homography_pair(images[i], points[i], rng, cfg.homography, cfg.photometric) for i in idx]
        losses = xfeat_losses(net, pairs, cfg)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        total = float(losses.pop("total").detach())
        return {"loss": total, **{name: float(value.detach()) for name, value in losses.items()}}

    schedule = StepSchedule(cfg.steps, cfg.lr, cfg.warmup_steps, cfg.log_every, cfg.checkpoint_every, cfg.max_minutes)
    history = run_steps(net, opt, out / "checkpoint.pt", cfg, schedule, step_fn, log, desc="xfeat",
                        progress=progress, max_steps_this_run=max_steps_this_run)
    return net.eval(), history
