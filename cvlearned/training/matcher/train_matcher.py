"""Train the learned matcher, one command per stage, with the keypoints and descriptors of
one registered feature and exact ground truth (:mod:`cvlearned.training.matcher.matcher_pairs`).
Stage 1, ``homography``: pre-training on photos warped by random homographies. Stage 2,
``scenes``: fine-tuning (``--init`` the stage-1 weights) on rendered 3-D scenes textured
with the photos (parallax, occlusion, depth: ground truth through depth and pose).

    cvlearned train matcher homography --feature sift \\
        --images PHOTOS --out runs/matcher-sift [--config x.yaml] [--steps N] \\
        [--max-minutes M] [--export weights/lightglue-lite-sift-v1.pt]
    cvlearned train matcher scenes --feature sift --init runs/matcher-sift/final.pt \\
        --images PHOTOS --out runs/matcher-sift-scenes [--config y.yaml] [--export W.pt]

* Photos are split by name: every 10th file (sorted) is held out for validation.
* Seeded: the pairs of step ``s`` depend only on (seed, s), so a resumed run follows the
  same trajectory; ``--out/checkpoint.pt`` is written every ``checkpoint_every`` steps and at
  the end, and a rerun with the same ``--out`` resumes from it.
* Logs (JSON lines with the losses and, every ``val_every`` steps, validation match
  precision / recall) go to ``--out/train.log``; ``--out/final.pt`` is the final state dict.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvlearned.cli_args import feature_name, trainer_parser
from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.common.run_state import StepSchedule, run_steps
from cvlearned.training.common.trainer_cli import finish_run, start_run
from cvlearned.training.matcher.matcher_pairs import MatcherSample, extract_sample, stack_samples

__all__ = ["MatcherTrainConfig", "load_config", "sample_batch", "evaluate", "train_matcher", "main"]

STAGES = ("homography", "scenes")
#: photos that texture one rendered training scene
SCENE_TEXTURES = 6
SCENE_LAYOUTS = ("room", "box", "street", "mixed")


@dataclass(frozen=True)
class MatcherTrainConfig:
    """Hyper-parameters of both stages (YAML keys of the same names). ``scale_orientation``
    trains a model that also encodes KeyPoint size and angle (not exportable to OpenCV);
    ``scene_layout`` ("room", "box", "street" or "mixed") is the stage-2 scene kind."""

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
    scene_layout: str = "mixed"
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "n_keypoints", "image_width", "image_height", "checkpoint_every",
                     "log_every", "val_every", "val_pairs", "photo_max_side"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "steps" else 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.scene_layout not in SCENE_LAYOUTS:
            raise ValueError(f"scene_layout must be one of {SCENE_LAYOUTS}, got {self.scene_layout!r}")


def load_config(path: str | os.PathLike | None, **overrides: Any) -> MatcherTrainConfig:
    """Read a YAML config (None = defaults) and apply keyword overrides that are not None."""
    return load_yaml_config(MatcherTrainConfig(), path, **overrides)


def _random_pair(cfg: MatcherTrainConfig, stage: str, photos: Sequence[tuple[str, np.ndarray]],
                 rng: np.random.Generator) -> Any:
    """One generated pair of ``stage``: a random homography of one photo, or a rendered scene
    textured with ``SCENE_TEXTURES`` random photos."""
    from cvlearned.synthetic.homography import make_homography_pairs
    from cvlearned.synthetic.scene_pairs import make_scene_pairs

    size, seed = (cfg.image_width, cfg.image_height), int(rng.integers(2**31))
    if stage == "homography":
        return make_homography_pairs([photos[int(rng.integers(len(photos)))]], 1, size=size, seed=seed)[0]
    textures = [photos[int(i)] for i in rng.choice(len(photos), min(SCENE_TEXTURES, len(photos)), replace=False)]
    return make_scene_pairs(1, layout=cfg.scene_layout, size=size, seed=seed, photos=textures)[0]


def sample_batch(
    cfg: MatcherTrainConfig, feature: Any, photos: Sequence[tuple[str, np.ndarray]], seed: Sequence[int],
    count: int, stage: str = "homography",
) -> list[MatcherSample]:
    """``count`` samples of ``stage``'s pairs (see :func:`_random_pair`), drawn only from
    ``seed``; pairs with too few keypoints are replaced by further draws."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    rng = np.random.default_rng(list(seed))
    samples: list[MatcherSample] = []
    for _ in range(20 * count):
        if len(samples) == count:
            break
        pair = _random_pair(cfg, stage, photos, rng)
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


def _initial_state(cfg: MatcherTrainConfig, init: str | os.PathLike, descriptor_dim: int) -> dict[str, Any]:
    """The state dict in ``init`` after checking that it is the configured architecture."""
    from cvlearned.matchers.learned import config_from_state_dict
    from cvlearned.weight_files import load_state_dict

    state = load_state_dict(init)
    found = config_from_state_dict(state)
    wanted = (cfg.preset, descriptor_dim, cfg.scale_orientation)
    if (found.preset, found.descriptor_dim, found.scale_orientation) != wanted:
        raise ValueError(f"--init {init} holds a {found.preset} matcher for {found.descriptor_dim}-d descriptors "
                         f"(scale_orientation={found.scale_orientation}); this run trains {wanted}")
    return state


def train_matcher(
    cfg: MatcherTrainConfig, photos: Sequence[tuple[str, np.ndarray]], out_dir: str | os.PathLike,
    val_photos: Sequence[tuple[str, np.ndarray]] = (), logger: logging.Logger | None = None,
    progress: bool = True, max_steps_this_run: int | None = None, stage: str = "homography",
    init: str | os.PathLike | None = None,
):
    """Train ``stage`` from random weights or ``init`` (a state dict file of the same
    architecture), or resume from ``out_dir/checkpoint.pt`` → (net, history of logged entries).
    Validation pairs are ``stage``'s pairs of ``val_photos``."""
    import torch

    import cvlearned
    from cvlearned.matchers.config import make_config
    from cvlearned.matchers.lightglue import LightGlueNet
    from cvlearned.training.matcher.matcher_losses import matcher_loss

    log = logger or logging.getLogger("cvlearned.train_matcher")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feature = cvlearned.create(cfg.feature, max_keypoints=4 * cfg.n_keypoints)
    torch.manual_seed(cfg.seed)
    net = LightGlueNet(make_config({"preset": cfg.preset, "descriptor_dim": int(feature.descriptorSize()),
                                    "scale_orientation": cfg.scale_orientation}))
    if init is not None:
        net.load_state_dict(_initial_state(cfg, init, int(feature.descriptorSize())))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    val = sample_batch(cfg, feature, val_photos, (cfg.seed, 1, 0), cfg.val_pairs, stage) if val_photos else []

    def step_fn(step: int) -> dict[str, float]:
        t = _tensors(stack_samples(sample_batch(cfg, feature, photos, (cfg.seed, 0, step), cfg.batch_size, stage)))
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
                        desc=f"matcher {cfg.preset}-{cfg.feature} {stage}", progress=progress,
                        max_steps_this_run=max_steps_this_run, log_lr=True, on_log=validate)
    net.eval()
    return net, history


def _parser() -> argparse.ArgumentParser:
    parser = trainer_parser("matcher", __doc__)
    parser.add_argument("stage", choices=STAGES, help="training stage")
    parser.add_argument("--feature", type=feature_name,
                        help="registered feature whose descriptors to match (default sift)")
    parser.add_argument("--preset", help="matcher architecture (default lightglue-lite)")
    parser.add_argument("--images", required=True, help="folder of training photos")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, log)")
    parser.add_argument("--config", help="YAML config (default: built-in defaults)")
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument("--max-minutes", type=float, help="stop (and checkpoint) after this wall time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--export", help="write the final state dict here (e.g. weights/lightglue-lite-sift-v1.pt)")
    parser.add_argument("--init", help="start from this state dict (stage scenes: the stage-1 final.pt)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line of the matcher trainer; returns the exit code."""
    import torch

    from cvlearned.synthetic.photos import photo_source, split_photos

    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, feature=args.feature, preset=args.preset, steps=args.steps,
                      max_minutes=args.max_minutes)
    run = start_run(args, cfg, args.out, "cvlearned.train_matcher", label=f"stage {args.stage} config")
    photos = photo_source(args.images, max_side=cfg.photo_max_side)
    net, _ = train_matcher(cfg, split_photos(photos, "train"), run.out, split_photos(photos, "val"), run.log,
                           stage=args.stage, init=args.init)
    return finish_run(run, net)


if __name__ == "__main__":
    raise SystemExit(main())
