"""Configuration of XFeat training (:mod:`cvlearned.training.xfeat.xfeat_training`): one frozen
dataclass; a YAML file overrides any key, unknown keys raise listing the valid ones."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cvlearned.config import check_int_range, check_range
from cvlearned.synthetic.homography import HomographyDistribution, PhotometricDistribution
from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.superpoint.superpoint_config import JointConfig

__all__ = ["XFeatTrainConfig", "load_config"]


@dataclass(frozen=True)
class XFeatTrainConfig:
    """Homography pairs of pseudo-labelled photo crops; per pair the loss is
    ``detector_weight * CE(keypoint logits) + descriptor_weight * dual-softmax InfoNCE +
    reliability_weight * L1(reliability, probability of the true match)``."""

    preset: str = "xfeat-lite"
    seed: int = 0
    channels_last: bool = True
    steps: int = 3000
    batch_size: int = 6
    lr: float = 2e-3
    warmup_steps: int = 100
    detector_weight: float = 1.0
    descriptor_weight: float = 1.0
    reliability_weight: float = 0.5
    temperature: float = 0.1
    #: the homography and photometric distributions of SuperPoint's joint stage
    homography: HomographyDistribution = field(default_factory=lambda: JointConfig().homography)
    photometric: PhotometricDistribution = field(default_factory=lambda: JointConfig().photometric)
    checkpoint_every: int = 200
    log_every: int = 50
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            check_int_range(self, name, 1)
        check_int_range(self, "warmup_steps", 0)
        for name in ("lr", "detector_weight", "descriptor_weight", "reliability_weight"):
            check_range(self, name, 0.0)
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")


def load_config(path: str | os.PathLike | None) -> XFeatTrainConfig:
    """Read a YAML config (None = defaults)."""
    return load_yaml_config(XFeatTrainConfig(), path)
