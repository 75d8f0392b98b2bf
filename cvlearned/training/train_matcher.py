"""Train the learned matcher, one command per stage. Stage 1, ``homography``: pre-training on
photos warped by random homographies, with the keypoints and descriptors of one registered
feature and ground truth from the homography (:mod:`cvlearned.training.matcher_pairs`).

    cvlearned train matcher homography --feature sift \\
        --images PHOTOS --out runs/matcher-sift [--config x.yaml] [--steps N] \\
        [--max-minutes M] [--export weights/lightglue-lite-sift-v1.pt]

* Photos are split by name: every 10th file (sorted) is held out for validation.
* Seeded: the pairs of step ``s`` depend only on (seed, s), so a resumed run follows the
  same trajectory; ``--out/checkpoint.pt`` is written every ``checkpoint_every`` steps and at
  the end, and a rerun with the same ``--out`` resumes from it.
* Logs (JSON lines with the losses and, every ``val_every`` steps, validation match
  precision / recall) go to ``--out/train.log``; ``--out/final.pt`` is the final state dict.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvlearned.cli_args import feature_name, trainer_parser
from cvlearned.training.config_io import load_yaml_config
from cvlearned.training.matcher_pairs import MatcherSample, extract_sample, stack_samples
from cvlearned.training.run_state import StepSchedule, export_weights, run_steps, setup_logging

__all__ = ["HomographyTrainConfig", "load_config", "sample_batch", "evaluate", "train_homography", "main"]

STAGES = ("homography",)


@dataclass(frozen=True)
class HomographyTrainConfig:
    """Stage-1 hyper-parameters (YAML keys of the same names). ``scale_orientation`` trains a
    model that also encodes KeyPoint size and angle (not exportable to OpenCV)."""

    feature: str = "sift"
    preset: str = "lightglue-lite"
    scale_orientation: bool = False
    steps: int = 20000
    batch_size: int = 4
    n_keypoints: int = 512
    image_width: int = 512
    image_height: int = 384
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 200
    match_px: float = 3.0
    unmatch_px: float = 5.0
    confidence_weight: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 25
    val_every: int = 500
    val_pairs: int = 32
    photo_max_side: int = 640
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "n_keypoints", "image_width", "image_height", "checkpoint_every",
                     "log_every", "val_every", "val_pairs", "photo_max_side"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "steps" else 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def load_config(path: str | os.PathLike | None, **overrides: Any) -> HomographyTrainConfig:
    """Read a YAML config (None = defaults) and apply keyword overrides that are not None."""
    return load_yaml_config(HomographyTrainConfig(), path, **overrides)


def sample_batch(
    cfg: HomographyTrainConfig, feature: Any, photos: Sequence[tuple[str, np.ndarray]], seed: Sequence[int],
    count: int,
) -> list[MatcherSample]:
    """``count`` samples of random photos and homographies, drawn only from ``seed``; pairs
    with too few keypoints are replaced by further draws."""
    from cvlearned.synthetic.homography import make_homography_pairs

    rng = np.random.default_rng(list(seed))
    samples: list[MatcherSample] = []
    for _ in range(20 * count):
        if len(samples) == count:
            break
        photo = photos[int(rng.integers(len(photos)))]
        pair = make_homography_pairs([photo], 1, size=(cfg.image_width, cfg.image_height),
                                     seed=int(rng.integers(2**31)))[0]
        sample = extract_sample(feature, pair, cfg.n_keypoints, cfg.match_px, cfg.unmatch_px)
        if sample is not None:
            samples.append(sample)
    if len(samples) < count:
        raise ValueError(f"{cfg.feature} finds fewer than {cfg.n_keypoints} keypoints on these photos; "
                         "lower n_keypoints")
    return samples


def _tensors(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    import torch

    return {k: torch.from_numpy(v) for k, v in batch.items()}


def _network_inputs(net: Any, t: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(kpts0, desc0, kpts1, desc1) network inputs of a stacked batch."""
    from cvlearned.matchers.lightglue import positional_inputs

    so = net.config.scale_orientation
    kpts = [
        positional_inputs(t[f"points{s}"].float(), t[f"size{s}"].float(),
                          t[f"scale{s}"].float() if so else None, t[f"angle{s}"].float() if so else None)
        for s in (0, 1)
    ]
    return kpts[0], t["desc0"], kpts[1], t["desc1"]


def evaluate(net: Any, samples: Sequence[MatcherSample]) -> dict[str, float]:
    """Match precision and recall (against ground-truth matches) of the static matcher."""
    import torch

    correct = predicted = positives = 0
    net.eval()
    with torch.inference_mode():
        for sample in samples:
            t = _tensors(stack_samples([sample]))
            matches0, _ = net.match_static(*_network_inputs(net, t))
            hit = matches0[0] >= 0
            predicted += int(hit.sum())
            correct += int((matches0[0][hit] == t["labels0"][0][hit]).sum())
            positives += int((t["labels0"][0] >= 0).sum())
    net.train()
    return {"val_precision": correct / max(predicted, 1), "val_recall": correct / max(positives, 1)}


def train_homography(
    cfg: HomographyTrainConfig, photos: Sequence[tuple[str, np.ndarray]], out_dir: str | os.PathLike,
    val_photos: Sequence[tuple[str, np.ndarray]] = (), logger: logging.Logger | None = None,
    progress: bool = True, max_steps_this_run: int | None = None,
):
    """Train (or resume from ``out_dir/checkpoint.pt``) → (net, history of logged entries)."""
    import torch

    import cvlearned
    from cvlearned.matchers.config import make_config
    from cvlearned.matchers.lightglue import LightGlueNet
    from cvlearned.training.matcher_losses import matcher_loss

    log = logger or logging.getLogger("cvlearned.train_matcher")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feature = cvlearned.create(cfg.feature, max_keypoints=4 * cfg.n_keypoints)
    torch.manual_seed(cfg.seed)
    net = LightGlueNet(make_config({"preset": cfg.preset, "descriptor_dim": int(feature.descriptorSize()),
                                    "scale_orientation": cfg.scale_orientation}))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    val = sample_batch(cfg, feature, val_photos, (cfg.seed, 1, 0), cfg.val_pairs) if val_photos else []

    def step_fn(step: int) -> dict[str, float]:
        t = _tensors(stack_samples(sample_batch(cfg, feature, photos, (cfg.seed, 0, step), cfg.batch_size)))
        outputs, confidences = net(*_network_inputs(net, t))
        losses = matcher_loss(outputs, confidences, t["labels0"], t["labels1"], cfg.confidence_weight)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    def validate(entry: dict[str, float], done: int) -> None:
        if val and (done % cfg.val_every == 0 or done == cfg.steps):
            entry.update(evaluate(net, val))

    schedule = StepSchedule(cfg.steps, cfg.lr, cfg.warmup_steps, cfg.log_every, cfg.checkpoint_every, cfg.max_minutes)
    history = run_steps(net, opt, out / "checkpoint.pt", cfg, schedule, step_fn, log,
                        desc=f"matcher {cfg.preset}-{cfg.feature}", progress=progress,
                        max_steps_this_run=max_steps_this_run, log_lr=True, on_log=validate)
    net.eval()
    return net, history


def _parser() -> argparse.ArgumentParser:
    parser = trainer_parser("matcher", __doc__)
    parser.add_argument("stage", choices=STAGES, help="training stage")
    parser.add_argument("--feature", type=feature_name, help="registered feature whose descriptors to match (default sift)")
    parser.add_argument("--preset", help="matcher architecture (default lightglue-lite)")
    parser.add_argument("--images", required=True, help="folder of training photos")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, log)")
    parser.add_argument("--config", help="YAML config (default: built-in defaults)")
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument("--max-minutes", type=float, help="stop (and checkpoint) after this wall time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--export", help="write the final state dict here (e.g. weights/lightglue-lite-sift-v1.pt)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line of the matcher trainer; returns the exit code."""
    import torch

    from cvlearned.synthetic.photos import photo_source, split_photos

    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, feature=args.feature, preset=args.preset, steps=args.steps,
                      max_minutes=args.max_minutes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = setup_logging(out, "cvlearned.train_matcher")
    log.info("stage %s config %s", args.stage, json.dumps(dataclasses.asdict(cfg)))
    started = time.time()
    photos = photo_source(args.images, max_side=cfg.photo_max_side)
    net, _ = train_homography(cfg, split_photos(photos, "train"), out, split_photos(photos, "val"), log)
    export_weights(net, out / "final.pt")
    if args.export:
        path = export_weights(net, args.export)
        log.info("exported %s (%d bytes)", path, path.stat().st_size)
    log.info("done in %.1f s", time.time() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
