"""Train a Universal Correspondence Network (Choy et al., NIPS 2016) on pairs with dense ground truth.

    cvlearned train ucn --config cvlearned/training/configs/ucn-lite.yaml --out runs/ucn-lite \\
        --images PHOTOS --export weights/ucn-lite-v1.pt --threads 1

* Photos are split by name: every 10th file (sorted) is held out; training pairs
  (:mod:`cvlearned.training.ucn.ucn_pairs`: homography pairs of photo crops and rendered
  calibrated scenes textured with the photos) use the training split only. Scene pairs
  are rendered once and cached in ``--out``.
* The config's ``sfm.scenes`` (reconstructions of ``cvlearned data reconstruct`` under
  ``--reconstructions``) add crops of real image pairs with sparse ground truth
  (:mod:`cvlearned.training.common.sfm_crops`) as a share ``sfm.fraction`` of the training pairs;
  validation stays on the held-out photo pairs.
* ``--init PATH`` fine-tunes from a state dict of the configured preset (loaded strictly);
  a checkpoint in ``--out`` takes precedence (resume).
* Each step draws ``batch_size`` pairs and ``correspondences_per_pair`` ground-truth points
  per pair from ``default_rng([seed, step])``, so a resumed run follows the same trajectory.
* Loss: correspondence contrastive loss (:mod:`~cvlearned.training.ucn.ucn_losses`) over the
  positives and the negatives of active hard-negative mining
  (:mod:`~cvlearned.training.ucn.hard_negatives`; ``loss.negatives: random`` for the baseline).
* Every ``log_every`` steps ``--out/train.log`` gets the mean loss, positive and negative
  terms, the fraction of points that got a negative and PCK of dense nearest-neighbour
  matching on fixed held-out pairs (``pck@4``, ``pck@10``).
* ``--out/checkpoint.pt`` is written every ``checkpoint_every`` steps and at the end; a
  rerun with the same ``--out`` resumes. ``--export PATH`` writes the final state dict.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from cvlearned.cli_args import trainer_parser
from cvlearned.training.common.correspondence_pairs import CorrespondencePair
from cvlearned.training.common.trainer_cli import export_final, start_run
from cvlearned.training.ucn.ucn_config import UCNTrainConfig, load_config
from cvlearned.training.ucn.ucn_pairs import PairSource, ScenePairs

if TYPE_CHECKING:
    from cvlearned.feature2d import Keypoints
    from cvlearned.models.ucn import UCNNet

__all__ = ["ValidationPair", "validation_pairs", "batch_losses", "evaluate_pck", "train", "main"]


@dataclasses.dataclass(frozen=True, eq=False)
class ValidationPair:
    """A fixed held-out pair and its query points: pts0, pts1 (N, 2) float32 image-0 / true image-1 (x, y)."""

    pair: CorrespondencePair
    pts0: np.ndarray
    pts1: np.ndarray


def validation_pairs(photos: list[tuple[str, np.ndarray]], scenes: ScenePairs | None,
                     cfg: UCNTrainConfig) -> list[ValidationPair]:
    """``validation.homography_pairs`` homography pairs of ``photos`` (cycled) plus every pair of ``scenes``.

    Pair i is drawn from ``default_rng([seed, 1, i, 1])`` (the trailing 1 keeps it apart from
    the training draws ``[seed, step]``: numpy drops trailing zeros of a seed list).
    """
    from cvlearned.training.common.images import to_gray
    from cvlearned.training.ucn.ucn_pairs import homography_pair, sample_correspondences, scene_pair

    v = cfg.validation
    out: list[ValidationPair] = []
    kinds = [("homography", i) for i in range(v.homography_pairs if photos else 0)]
    kinds += [("scene", i) for i in range(len(scenes) if scenes is not None else 0)]
    for k, (kind, i) in enumerate(kinds):
        rng = np.random.default_rng([cfg.seed, 1, k, 1])
        if kind == "homography":
            pair = homography_pair(to_gray(photos[i % len(photos)][1]), rng, cfg.pairs)[0]
        else:
            assert scenes is not None  # scene kinds exist only with scenes
            pair = scene_pair(scenes, i, rng, cfg.pairs)
        out.append(ValidationPair(pair, *sample_correspondences(pair.gt, v.points_per_pair, rng)))
    return out


def _images(pairs: list[CorrespondencePair], device: torch.device, channels_last: bool) -> torch.Tensor:
    """(2B, 1, h, w) float32 in [0, 1]: every image 0, then every image 1."""
    x = np.stack([p.image0 for p in pairs] + [p.image1 for p in pairs])
    t = torch.from_numpy(x).to(device).float()[:, None] / 255.0
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


def batch_losses(net: UCNNet, pairs: list[CorrespondencePair], rng: np.random.Generator,
                 cfg: UCNTrainConfig, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Forward a batch of pairs → {"loss", "positive", "negative", "negative_fraction"} (scalars).

    Positives: ``correspondences_per_pair`` ground-truth points per pair (a share
    ``pairs.keypoint_fraction`` of them at ``pairs.keypoint_detector`` keypoints), features sampled
    bilinearly at x_i (image 0) and x'_i (image 1). Negatives: one per point whose nearest
    neighbour over all of image 1's map is farther than ``hard_negative_radius`` from x'_i
    (``negatives: hard``), or a random location that far (``negatives: random``).
    ``negative_fraction`` = negatives / points. With ``objective: infonce`` the loss is
    :func:`~cvlearned.training.common.contrastive_losses.correspondence_infonce_loss` per pair (mean), the
    mined negatives are only counted (``negative_fraction``: how often the nearest neighbour
    is far) and ``positive`` / ``negative`` are the Eq. 1 terms, logged for comparison.
    """
    from cvlearned.keypoints import keypoints_to_array
    from cvlearned.models.ucn import cell_centres, sample_feature_map
    from cvlearned.registry import create
    from cvlearned.training.common.contrastive_losses import correspondence_infonce_loss
    from cvlearned.training.ucn.hard_negatives import hard_negatives, random_negatives
    from cvlearned.training.ucn.ucn_losses import correspondence_contrastive_loss
    from cvlearned.training.ucn.ucn_pairs import sample_correspondences

    device = torch.device(device)
    loss_cfg, n = cfg.loss, cfg.pairs.correspondences_per_pair
    fraction = cfg.pairs.keypoint_fraction
    detector = create(cfg.pairs.keypoint_detector) if fraction > 0 else None
    samples = [sample_correspondences(p.gt, n, rng, keypoints_to_array(cast("Keypoints", detector.detect(p.image0)))
                                      if detector else None, fraction) for p in pairs]
    pts0 = torch.from_numpy(np.stack([s[0] for s in samples])).to(device)  # (B, N, 2)
    pts1 = torch.from_numpy(np.stack([s[1] for s in samples])).to(device)
    x = _images(pairs, device, cfg.channels_last)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16_autocast):
        fmap = net(x)
    fmap = fmap.float()
    b, stride = len(pairs), net.stride
    f0 = sample_feature_map(fmap[:b], pts0, stride)  # (B, N, D)
    f1 = sample_feature_map(fmap[b:], pts1, stride)
    centres = cell_centres(fmap.shape[2], fmap.shape[3], stride).to(device)  # (L, 2), row-major
    left, right = [f0.reshape(-1, f0.shape[2])], [f1.reshape(-1, f1.shape[2])]
    count = 0
    infonce = []
    for i in range(b):
        database = fmap[b + i].flatten(1).T  # (L, D), with gradient
        if loss_cfg.objective == "infonce":
            infonce.append(correspondence_infonce_loss(f0[i], f1[i], database, centres, pts1[i],
                                                       loss_cfg.hard_negative_radius, loss_cfg.temperature))
        if loss_cfg.negatives == "hard":
            neg = hard_negatives(f0[i], database, centres, pts1[i], loss_cfg.hard_negative_radius, loss_cfg.nn_chunk)
        else:
            neg = random_negatives(centres, pts1[i], loss_cfg.hard_negative_radius, rng)
        left.append(f0[i][neg.query])
        right.append(database[neg.index])
        count += len(neg.query)
    labels = torch.cat([torch.ones(b * n, device=device), torch.zeros(count, device=device)])
    terms = correspondence_contrastive_loss(torch.cat(left), torch.cat(right), labels, loss_cfg.margin)
    loss = torch.stack(infonce).mean() if infonce else terms.loss
    return {"loss": loss, "positive": terms.positive, "negative": terms.negative,
            "negative_fraction": torch.tensor(count / (b * n))}


def evaluate_pck(
    net: UCNNet, pairs: list[ValidationPair], thresholds: tuple[float, ...], chunk: int = 4096,
    device: torch.device | str = "cpu", channels_last: bool = False,
) -> dict[str, float]:
    """PCK of dense nearest-neighbour matching (UCN protocol) pooled over ``pairs`` → {"pck@<t>": fraction}.

    Each query feature is sampled at its image-0 point; the prediction is the centre of
    the nearest of all image-1 map locations. The net is left in the mode it was in.
    """
    from cvlearned.evaluation.metrics.pck import pck
    from cvlearned.models.ucn import cell_centres, sample_feature_map
    from cvlearned.nearest_neighbours import chunked_nearest

    device = torch.device(device)
    was_training = net.training
    net.eval()
    preds, gts = [], []
    with torch.inference_mode():
        for v in pairs:
            fmap = net(_images([v.pair], device, channels_last)).float()
            q = sample_feature_map(fmap[:1], torch.from_numpy(v.pts0).to(device)[None], net.stride)[0]
            nn = chunked_nearest(q, fmap[1].flatten(1).T, chunk)
            preds.append(cell_centres(fmap.shape[2], fmap.shape[3], net.stride).to(device)[nn].cpu().numpy())
            gts.append(v.pts1)
    net.train(was_training)
    if not preds:
        return {}
    values = pck(np.concatenate(preds), np.concatenate(gts), thresholds)
    return {f"pck@{t:g}": float(val) for t, val in zip(thresholds, values)}


def train(
    cfg: UCNTrainConfig, source: PairSource, out: str | os.PathLike, log: logging.Logger | None = None,
    val: list[ValidationPair] | None = None, progress: bool = True, max_steps_this_run: int | None = None,
    device: Any = "auto", init: str | os.PathLike | None = None,
) -> tuple[UCNNet, list[dict[str, float]]]:
    """Train from random weights or the state dict file ``init`` (resuming from
    ``out/checkpoint.pt`` when it exists) → (net in eval mode, logged history).

    ``max_steps_this_run`` stops early (after checkpointing); the learning-rate schedule
    always follows ``cfg.steps``. ``device``: ``"auto"`` = CUDA when available.

    Raises:
        WeightsError (a ValueError): ``init`` is unreadable or does not fit ``cfg.preset``.
    """
    from cvlearned.device import resolve_device
    from cvlearned.models.ucn import build_net
    from cvlearned.training.common.run_state import StepSchedule, run_steps
    from cvlearned.weight_files import load_into, load_state_dict

    log = log or logging.getLogger("cvlearned.train_ucn")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    net = build_net(cfg.preset)
    w, h = cfg.pairs.image_size
    if w % net.stride or h % net.stride:
        raise ValueError(f"pairs.image_size {cfg.pairs.image_size} must be multiples of the stride {net.stride}")
    if init is not None:
        load_into(net, load_state_dict(init), init)
        log.info("initialised %s from %s", cfg.preset, init)
    net = net.to(dev)
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.seed, step])
        pairs = [source.draw(rng) for _ in range(cfg.batch_size)]
        losses = batch_losses(net, pairs, rng, cfg, dev)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    def validate(entry: dict[str, float], done: int) -> None:
        if val:
            entry.update(evaluate_pck(net, val, cfg.validation.pck_thresholds, cfg.loss.nn_chunk, dev,
                                      cfg.channels_last))

    schedule = StepSchedule(cfg.steps, cfg.lr, cfg.warmup_steps, cfg.log_every, cfg.checkpoint_every, cfg.max_minutes)
    history = run_steps(net, opt, out / "checkpoint.pt", cfg, schedule, step_fn, log, desc=f"train {cfg.preset}",
                        progress=progress, max_steps_this_run=max_steps_this_run, log_lr=True, on_log=validate)
    return net.eval(), history


def _load_data(cfg: UCNTrainConfig, images: str, out: Path, progress: bool,
               reconstructions: str | os.PathLike = "runs/reconstructions"):
    """Photos split train/val, ``cfg.sfm``'s scenes → (PairSource of the training split, fixed validation pairs)."""
    from cvlearned.synthetic.photos import load_photo_folder, split_photos
    from cvlearned.training.common.sfm_crops import sfm_crop_source
    from cvlearned.training.ucn.ucn_pairs import load_or_render_scene_pairs

    photos = load_photo_folder(images, max_side=cfg.pairs.photo_max_side)
    train_photos, val_photos = split_photos(photos, "train"), split_photos(photos, "val")
    if not train_photos:
        raise SystemExit(f"no readable photos in {images}")
    p, v = cfg.pairs, cfg.validation
    scenes = None
    if p.scene_fraction > 0:
        scenes = load_or_render_scene_pairs(out, train_photos, p.scene_pairs, p.image_size, p.scene_layout, cfg.seed,
                                            "train", progress)
    val: list[ValidationPair] = []
    if val_photos:
        val_scenes = None
        if v.scene_pairs > 0:
            val_scenes = load_or_render_scene_pairs(out, val_photos, v.scene_pairs, p.image_size, p.scene_layout,
                                                    cfg.seed + 1, "val", progress)
        val = validation_pairs(val_photos, val_scenes, cfg)
    sfm = sfm_crop_source(cfg.sfm, reconstructions, p.image_size)
    return PairSource(train_photos, scenes, p, sfm, cfg.sfm.fraction), val


def main(argv: list[str] | None = None) -> int:
    parser = trainer_parser("ucn", __doc__)
    parser.add_argument("--config", help="YAML config (default: built-in ucn-lite defaults)")
    parser.add_argument("--out", required=True, help="run folder (scene cache, checkpoints, log)")
    parser.add_argument("--images", required=True, help="folder of photos (every 10th held out for validation)")
    parser.add_argument("--export", help="also write the final state dict here (e.g. weights/ucn-lite-v1.pt)")
    parser.add_argument("--init", help="fine-tune from this state dict of the config's preset (e.g. weights/ucn-v2.pt)")
    parser.add_argument("--reconstructions", default="runs/reconstructions",
                        help="folder holding the config's sfm.scenes (default: runs/reconstructions)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--max-steps-this-run", type=int, help="stop (and checkpoint) after this many steps")
    parser.add_argument("--device", default="auto", help='"auto" (CUDA when available), "cpu", "cuda", ...')
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    cfg = load_config(args.config)
    run = start_run(args, cfg, args.out, "cvlearned.train_ucn")
    out, log, t0 = run.out, run.log, run.started
    source, val = _load_data(cfg, args.images, out, not args.no_progress, args.reconstructions)
    log.info("%d training photos, %d scene pairs, %d SfM pairs of %s, %d validation pairs (%.1f s)",
             len(source.photos), len(source.scenes) if source.scenes is not None else 0,
             len(source.sfm) if source.sfm is not None else 0, list(cfg.sfm.scenes), len(val), time.time() - t0)
    if not val:
        log.warning("no validation photos (fewer than 10 photos): PCK is not logged")
    net, _ = train(cfg, source, out, log, val, progress=not args.no_progress,
                   max_steps_this_run=args.max_steps_this_run, device=args.device, init=args.init)
    dev = next(net.parameters()).device
    final = evaluate_pck(net, val, cfg.validation.pck_thresholds, cfg.loss.nn_chunk, dev, cfg.channels_last)
    log.info("final val %s", json.dumps(final))
    export_final(run, net, fp16=cfg.export_fp16)
    print(f"ucn training done in {time.time() - t0:.1f} s; final validation {json.dumps(final)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
