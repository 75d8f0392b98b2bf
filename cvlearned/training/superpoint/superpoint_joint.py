"""Stage 4 of SuperPoint training: detector + descriptor on homography-related photo pairs.

Each pair is a pseudo-labelled crop (view a) and its warp by a random homography H
(view b), both with independent photometric changes. Loss per pair:
``CE(a) + CE(b) + descriptor_weight * desc(a, b, H)`` (:mod:`superpoint_losses`; desc is
the paper's hinge or the dual-softmax InfoNCE, ``joint.descriptor_loss``), where view b's
cross-entropy and descriptor loss ignore cells without image content, plus, when
``joint.consistency_weight`` > 0, that weight times the heatmap repeatability term.
When ``sfm.scenes`` are given, every step also draws ``sfm.pairs_per_step`` crop pairs of
real reconstructions (:class:`~cvlearned.training.common.sfm_crops.SfmCropSource`, the size of the
training crops) and adds ``sfm.weight`` x their sparse descriptor loss
(:func:`~cvlearned.training.superpoint.superpoint_losses.sparse_descriptor_loss`); the homography terms
are unchanged. Initialised from the MagicPoint weights; seeded per step; resumable from
``out/checkpoint.pt``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from cvlearned.models.heatmap import heatmap_from_logits
from cvlearned.models.superpoint import build_net
from cvlearned.synthetic.homography import (
    HomographyDistribution, PhotometricDistribution, apply_photometric, sample_homography, warp_image,
)
from cvlearned.training.common.correspondence_pairs import CorrespondencePair
from cvlearned.training.common.run_state import StepSchedule, run_steps
from cvlearned.training.common.sfm_crops import SfmCropSource
from cvlearned.training.superpoint.magicpoint import warp_points
from cvlearned.training.superpoint.superpoint_config import SuperPointTrainConfig
from cvlearned.training.superpoint.superpoint_losses import (
    cell_labels, descriptor_loss, detector_loss, heatmap_consistency_loss, infonce_descriptor_loss, soft_cell_targets,
    sparse_descriptor_loss, valid_cells,
)
from cvlearned.training.superpoint.net_widening import widen_state_dict
from cvlearned.weight_files import WeightsError, load_into, load_state_dict

__all__ = ["load_adapted", "joint_pair", "homography_pair", "joint_losses", "sfm_losses", "train_joint"]


def load_adapted(path: str | os.PathLike) -> tuple[np.ndarray, list[np.ndarray]]:
    """Read an ``adapt.npz`` → ((M, H, W) uint8 crops, list of (N_i, 2) pseudo-labels)."""
    with np.load(path) as data:
        offsets, pts = data["offsets"], data["points"]
        return data["images"], [pts[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def joint_pair(image: np.ndarray, points: np.ndarray, rng: np.random.Generator, cfg: SuperPointTrainConfig) -> dict:
    """:func:`homography_pair` with the joint stage's distributions and target kind."""
    return homography_pair(image, points, rng, cfg.joint.homography, cfg.joint.photometric, cfg.joint.subpixel_targets)


def homography_pair(image: np.ndarray, points: np.ndarray, rng: np.random.Generator,
                    homography: HomographyDistribution, photometric: PhotometricDistribution,
                    subpixel_targets: bool = False) -> dict:
    """One training pair: images a/b (H, W) uint8, labels a/b, valid b (H, W), H (3, 3).

    View b is ``image`` warped by a homography drawn from ``homography``; both views get
    independent ``photometric`` changes. Labels are (Hc, Wc) nearest-pixel classes, or
    (65, Hc, Wc) sub-pixel distributions when ``subpixel_targets`` (view b's labels are the
    warped, unrounded view-a ones).
    """
    h, w = image.shape
    H = sample_homography(rng, (w, h), homography)
    view_b = warp_image(image, H, (w, h))
    valid_b = warp_image(np.ones((h, w), np.uint8), H, (w, h))
    pts_b = warp_points(H, points)
    inside = (pts_b[:, 0] >= 0) & (pts_b[:, 0] <= w - 1) & (pts_b[:, 1] >= 0) & (pts_b[:, 1] <= h - 1)
    a, b = apply_photometric(rng, image, photometric), apply_photometric(rng, view_b, photometric)
    if subpixel_targets:
        labels_a, labels_b = soft_cell_targets(points, h, w), soft_cell_targets(pts_b[inside], h, w)
    else:
        labels_a, labels_b = cell_labels(points, h, w, rng), cell_labels(pts_b[inside], h, w, rng)
    return {"a": a, "b": b, "labels_a": labels_a, "labels_b": labels_b, "valid_b": valid_b, "H": H}


def joint_losses(net: torch.nn.Module, pairs: list[dict], cfg: SuperPointTrainConfig,
                 channels_last: bool = False) -> dict[str, torch.Tensor]:
    """Forward both views of every pair → {"detector", "descriptor", "consistency", "total"} (scalars)."""
    j = cfg.joint
    x = torch.from_numpy(np.stack([p["a"] for p in pairs] + [p["b"] for p in pairs])).float()[:, None] / 255.0
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    logits, desc = net(x)
    n = len(pairs)
    labels = torch.from_numpy(np.stack([p["labels_a"] for p in pairs] + [p["labels_b"] for p in pairs]))
    Hs = torch.from_numpy(np.stack([p["H"] for p in pairs])).float()  # (n, 3, 3)
    valid_px = torch.from_numpy(np.stack([p["valid_b"] for p in pairs]))  # (n, H, W)
    valid_b = valid_cells(valid_px)
    valid = torch.cat([torch.ones_like(valid_b), valid_b])
    det = 2.0 * detector_loss(logits, labels, valid)
    def pair_loss(i: int, H: torch.Tensor) -> torch.Tensor:
        if j.descriptor_loss == "infonce":
            return infonce_descriptor_loss(desc[i], desc[n + i], H, valid_b[i], j.temperature)
        return descriptor_loss(desc[i], desc[n + i], H, valid_b[i], j.radius, j.pos_margin, j.neg_margin, j.lambda_d)

    des = torch.stack([pair_loss(i, Hs[i]) for i in range(n)]).mean()
    total = det + j.descriptor_weight * des
    con = torch.zeros(())
    if j.consistency_weight > 0:
        heat = heatmap_from_logits(logits)
        con = heatmap_consistency_loss(heat[:n], heat[n:], Hs, valid_px)
        total = total + j.consistency_weight * con
    return {"detector": det, "descriptor": des, "consistency": con, "total": total}


def sfm_losses(net: torch.nn.Module, crops: list[CorrespondencePair], cfg: SuperPointTrainConfig,
               channels_last: bool = False) -> torch.Tensor:
    """Mean over the crop pairs of their sparse descriptor loss (scalar).

    Only the descriptor is trained on these crops: their points are SIFT keypoints of the
    reconstruction, not SuperPoint's, so they are no detector targets (the cells without a
    point are not "no keypoint" either).
    """
    x = torch.from_numpy(np.stack([c.image0 for c in crops] + [c.image1 for c in crops])).float()[:, None] / 255.0
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    _, desc = net(x)
    n, terms = len(crops), []
    for i, crop in enumerate(crops):
        ys, xs = np.nonzero(np.isfinite(crop.gt).all(axis=2))
        pts0 = torch.from_numpy(np.stack([xs, ys], axis=1).astype(np.float32))
        pts1 = torch.from_numpy(crop.gt[ys, xs].astype(np.float32))
        terms.append(sparse_descriptor_loss(desc[i], desc[n + i], pts0, pts1, cfg.sfm.radius, cfg.joint.temperature))
    return torch.stack(terms).mean()


def train_joint(
    cfg: SuperPointTrainConfig, images: np.ndarray, points: list[np.ndarray], out: Path, log: logging.Logger,
    init: str | os.PathLike | None = None, progress: bool = True, max_steps_this_run: int | None = None,
    widen: bool = False, sfm: SfmCropSource | None = None,
) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    """Train (or resume) from the weights ``init`` (None: random) → (net in eval mode, history).

    ``widen``: ``init`` is a narrower net of the same layout (e.g. superpoint-lite for the
    full preset), embedded function-preservingly (:mod:`cvlearned.training.superpoint.net_widening`).
    ``sfm``: crops of real pairs (:func:`~cvlearned.training.common.sfm_crops.sfm_crop_source`) added to every step as
    ``cfg.sfm`` says; required when ``cfg.sfm.scenes`` is not empty.
    """
    if bool(cfg.sfm.scenes) != (sfm is not None):
        raise ValueError("train_joint needs an SfM crop source exactly when cfg.sfm.scenes is set "
                         f"(scenes {list(cfg.sfm.scenes)}, source {'given' if sfm is not None else 'missing'})")
    j = cfg.joint
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    net = build_net(cfg.preset)
    if init is not None:
        state = load_state_dict(init)
        if widen:
            try:
                state = widen_state_dict(state, net.state_dict())
            except ValueError as exc:
                raise WeightsError(f"cannot widen {init} into {cfg.preset}: {exc}") from exc
            log.info("initialised %s by widening %s", cfg.preset, init)
        load_into(net, state, init)
    opt = torch.optim.Adam(net.parameters(), lr=j.lr)
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.seed, 4, step])
        idx = rng.choice(len(images), j.batch_size, replace=False)
        pairs = [joint_pair(images[i], points[i], rng, cfg) for i in idx]
        losses = joint_losses(net, pairs, cfg, cfg.channels_last)
        if sfm is not None:
            sfm_rng = np.random.default_rng([cfg.seed, 5, step])  # own stream: same homography pairs as without
            crops = [sfm.draw(sfm_rng) for _ in range(cfg.sfm.pairs_per_step)]
            losses["sfm"] = sfm_losses(net, crops, cfg, cfg.channels_last)
            losses["total"] = losses["total"] + cfg.sfm.weight * losses["sfm"]
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        logged = {name: float(value.detach()) for name, value in losses.items()}
        logged["loss"] = logged.pop("total")
        return logged

    schedule = StepSchedule(j.steps, j.lr, j.warmup_steps, j.log_every, j.checkpoint_every, j.max_minutes)
    history = run_steps(net, opt, out / "checkpoint.pt", cfg, schedule, step_fn, log, desc="superpoint joint",
                        progress=progress, max_steps_this_run=max_steps_this_run)
    return net.eval(), history
