"""Configuration of the SuperPoint training pipeline: one frozen dataclass per stage.

A YAML file has one mapping per stage (``shapes``, ``magicpoint``, ``adapt``, ``joint``),
an optional ``sfm`` mapping (real SfM crop pairs added to the joint stage) plus ``preset``
and ``seed``; unknown keys raise, listing the valid ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


from cvlearned.config import check_int_range, check_range
from cvlearned.synthetic.homography import HomographyDistribution, PhotometricDistribution
from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.common.sfm_pairs import SfmPairsConfig

__all__ = [
    "ShapesConfig", "MagicPointConfig", "AdaptConfig", "JointConfig", "SfmCropConfig", "SuperPointTrainConfig",
    "load_config",
]


@dataclass(frozen=True)
class ShapesConfig:
    """Synthetic Shapes set: ``count`` images of ``size`` = (w, h)."""

    count: int = 12000
    size: tuple[int, int] = (160, 120)


@dataclass(frozen=True)
class MagicPointConfig:
    """Detector-only training on Synthetic Shapes."""

    steps: int = 2500
    batch_size: int = 24
    lr: float = 1e-3
    warmup_steps: int = 100
    warp_probability: float = 0.5
    homography: HomographyDistribution = field(
        default_factory=lambda: HomographyDistribution(scale=(0.8, 1.2), max_rotation_deg=25.0,
                                                       max_perspective=0.1, max_translation=0.1, center_region=0.5)
    )
    checkpoint_every: int = 200
    log_every: int = 50
    max_minutes: float | None = None


@dataclass(frozen=True)
class AdaptConfig:
    """Homographic adaptation of photos with the MagicPoint detector."""

    image_size: tuple[int, int] = (320, 240)
    crops_per_photo: int = 2
    homographies: int = 64
    homography: HomographyDistribution = field(
        default_factory=lambda: HomographyDistribution(scale=(0.7, 1.3), max_rotation_deg=30.0,
                                                       max_perspective=0.12, max_translation=0.1, center_region=0.5)
    )
    nms_radius: int = 4
    detection_threshold: float = 0.015
    max_keypoints: int | None = 600
    border: int = 4
    refine_radius: int = 0  # > 0: labels at the heat-weighted centroid of each peak's (2r+1)² window

    def __post_init__(self) -> None:
        check_int_range(self, "refine_radius", 0)


@dataclass(frozen=True)
class JointConfig:
    """Joint detector + descriptor training on homography-related photo pairs."""

    steps: int = 2500
    batch_size: int = 4
    lr: float = 1e-3
    warmup_steps: int = 100
    descriptor_weight: float = 1.0
    descriptor_loss: str = "hinge"  # "hinge" (the paper's) or "infonce" (dual softmax)
    lambda_d: float = 250.0
    pos_margin: float = 1.0
    neg_margin: float = 0.2
    radius: float = 8.0
    temperature: float = 0.1  # infonce only
    consistency_weight: float = 0.0  # heatmap repeatability term (superpoint_losses); 0 = off
    subpixel_targets: bool = False  # detector targets: bilinear sub-pixel distributions, not nearest pixels
    homography: HomographyDistribution = field(
        default_factory=lambda: HomographyDistribution(scale=(0.7, 1.4), max_rotation_deg=30.0,
                                                       max_perspective=0.15, max_translation=0.1, center_region=0.5)
    )
    photometric: PhotometricDistribution = field(
        default_factory=lambda: PhotometricDistribution(gamma=(0.7, 1.4), brightness=30.0, contrast=(0.7, 1.3),
                                                        shading=0.3, blur_sigma=(0.0, 1.2), noise_std=(0.0, 6.0))
    )
    checkpoint_every: int = 200
    log_every: int = 50
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        if self.descriptor_loss not in ("hinge", "infonce"):
            raise ValueError(f"joint.descriptor_loss must be 'hinge' or 'infonce', got {self.descriptor_loss!r}")
        if not self.temperature > 0:
            raise ValueError(f"joint.temperature must be > 0, got {self.temperature!r}")
        if self.consistency_weight < 0:
            raise ValueError(f"joint.consistency_weight must be >= 0, got {self.consistency_weight!r}")


@dataclass(frozen=True)
class SfmCropConfig(SfmPairsConfig):
    """Crop pairs of real reconstructions added to every joint step (:mod:`cvlearned.training.common.sfm_crops`).

    The pairs: :class:`~cvlearned.training.common.sfm_pairs.SfmPairsConfig` (empty ``scenes`` = no
    SfM term). Each step adds ``pairs_per_step`` crops and ``weight`` x their sparse
    descriptor loss, in which image-1 cells within ``radius`` px of the true position are
    left out of the softmax (the joint stage's ``temperature``).
    """

    max_pairs_per_scene: int = 200
    pairs_per_step: int = 2
    weight: float = 0.15
    radius: float = 8.0

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            check_int_range(self, "pairs_per_step", 1)
            check_range(self, "weight", 0.0)
            check_range(self, "radius", 0.0)
        except ValueError as exc:
            raise ValueError(f"sfm.{exc}") from None


@dataclass(frozen=True)
class SuperPointTrainConfig:
    """The whole pipeline."""

    preset: str = "superpoint-lite"
    seed: int = 0
    channels_last: bool = True
    shapes: ShapesConfig = field(default_factory=ShapesConfig)
    magicpoint: MagicPointConfig = field(default_factory=MagicPointConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    joint: JointConfig = field(default_factory=JointConfig)
    sfm: SfmCropConfig = field(default_factory=SfmCropConfig)


def load_config(path: str | os.PathLike | None) -> SuperPointTrainConfig:
    """Read a YAML config (None = defaults)."""
    return load_yaml_config(SuperPointTrainConfig(), path)
