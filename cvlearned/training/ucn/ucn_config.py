"""Configuration of UCN training: frozen dataclasses read from a YAML file.

Top-level keys are the fields of :class:`UCNTrainConfig`; ``pairs``, ``loss``,
``validation`` and ``sfm`` are mappings (``pairs.homography`` / ``pairs.photometric`` as well). A
mapping only overrides the keys it names; unknown keys raise ``ValueError`` listing the
valid ones. ``None`` means no limit (``max_minutes``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


from cvlearned.config import check_choice, check_int_range, check_range
from cvlearned.synthetic.homography import HomographyDistribution, PhotometricDistribution
from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.common.sfm_pairs import SfmPairsConfig

__all__ = ["PairsConfig", "LossConfig", "ValidationConfig", "SfmCropConfig", "UCNTrainConfig", "NEGATIVE_MODES",
           "OBJECTIVES",
           "SCENE_LAYOUTS",
           "load_config"]

NEGATIVE_MODES = ("hard", "random")
OBJECTIVES = ("contrastive", "infonce")
SCENE_LAYOUTS = ("mixed", "room", "box", "street")
#: feature-map stride of every UCN preset; image sizes must be multiples of it
STRIDE = 4


def _positive_int(config: Any, name: str, minimum: int = 1) -> None:
    check_int_range(config, name, minimum)


@dataclass(frozen=True)
class PairsConfig:
    """Training pairs with dense ground truth (:mod:`cvlearned.training.ucn.ucn_pairs`).

    image_size: (w, h) of both images, multiples of 4. correspondences_per_pair: ground-truth
    points sampled per pair and step. scene_pairs: rendered calibrated scene pairs (cached in
    the run folder); scene_fraction: probability that a training pair is one of them (else
    a homography pair of a photo crop, zoomed by a factor in ``crop_zoom`` over the
    smallest covering scale). photo_max_side: photos are shrunk to this side when loaded.
    keypoint_fraction: share of the correspondences placed at the pixels nearest to the
    keypoints of image 0 found by the classical detector ``keypoint_detector`` (a
    registered name, e.g. ``"sift"``), the rest at random pixels; 0 = all random.
    """

    image_size: tuple[int, int] = (320, 240)
    correspondences_per_pair: int = 2048
    scene_pairs: int = 200
    scene_fraction: float = 0.5
    scene_layout: str = "mixed"
    crop_zoom: tuple[float, float] = (1.0, 1.5)
    photo_max_side: int = 640
    keypoint_fraction: float = 0.0
    keypoint_detector: str = "sift"
    homography: HomographyDistribution = field(
        default_factory=lambda: HomographyDistribution(scale=(0.7, 1.4), max_rotation_deg=30.0,
                                                       max_perspective=0.15, max_translation=0.1, center_region=0.5)
    )
    photometric: PhotometricDistribution = field(
        default_factory=lambda: PhotometricDistribution(gamma=(0.7, 1.4), brightness=30.0, contrast=(0.7, 1.3),
                                                        shading=0.3, blur_sigma=(0.0, 1.2), noise_std=(0.0, 6.0))
    )

    def __post_init__(self) -> None:
        size = tuple(self.image_size)
        if len(size) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < STRIDE or v % STRIDE
                                 for v in size):
            raise ValueError(f"image_size must be (w, h), positive multiples of {STRIDE}, got {self.image_size!r}")
        _positive_int(self, "correspondences_per_pair")
        _positive_int(self, "scene_pairs", 0)
        _positive_int(self, "photo_max_side")
        check_range(self, "scene_fraction", 0.0, 1.0)
        check_choice(self, "scene_layout", SCENE_LAYOUTS)
        check_range(self, "keypoint_fraction", 0.0, 1.0)
        from cvlearned.registry import list_features

        check_choice(self, "keypoint_detector", tuple(list_features("classical")))
        if len(self.crop_zoom) != 2 or not 1.0 <= self.crop_zoom[0] <= self.crop_zoom[1]:
            raise ValueError(f"crop_zoom must be (low, high) with 1 <= low <= high, got {self.crop_zoom!r}")
        if self.scene_fraction > 0 and self.scene_pairs == 0:
            raise ValueError("scene_fraction > 0 needs scene_pairs > 0")


@dataclass(frozen=True)
class LossConfig:
    """Correspondence contrastive loss and negative mining.

    objective: ``"contrastive"`` (UCN Eq. 1 on positives and mined negatives) or
    ``"infonce"`` (softmax of each positive against every map location of image 1 farther
    than ``hard_negative_radius``, temperature ``temperature``; ``margin`` and
    ``negatives`` are then unused). margin: m of UCN Eq. 1 (paper: 1 with unit-norm
    features). negatives: ``"hard"`` (active hard-negative mining) or ``"random"`` (random
    far locations, the paper's RN ablation). hard_negative_radius: pixels; a location
    closer than this to the true correspondence is no negative (paper: 16). nn_chunk: block
    size of the exact search.
    """

    objective: str = "contrastive"
    temperature: float = 0.1
    margin: float = 1.0
    negatives: str = "hard"
    hard_negative_radius: float = 16.0
    nn_chunk: int = 4096

    def __post_init__(self) -> None:
        check_choice(self, "objective", OBJECTIVES)
        check_range(self, "temperature", 1e-6, None)
        check_range(self, "margin", 1e-6, None)
        check_choice(self, "negatives", NEGATIVE_MODES)
        check_range(self, "hard_negative_radius", 0.0, None)
        _positive_int(self, "nn_chunk")


@dataclass(frozen=True)
class ValidationConfig:
    """Fixed held-out pairs (from the validation photos) scored by dense NN matching PCK.

    homography_pairs / scene_pairs: how many of each kind; points_per_pair: ground-truth
    query points per pair; pck_thresholds: pixels (logged as ``pck@<t>``).
    """

    homography_pairs: int = 6
    scene_pairs: int = 6
    points_per_pair: int = 500
    pck_thresholds: tuple[float, ...] = (4.0, 10.0)

    def __post_init__(self) -> None:
        _positive_int(self, "homography_pairs", 0)
        _positive_int(self, "scene_pairs", 0)
        _positive_int(self, "points_per_pair")
        if not self.pck_thresholds or any(not float(t) > 0 for t in self.pck_thresholds):
            raise ValueError(f"pck_thresholds must be positive pixels, got {self.pck_thresholds!r}")


@dataclass(frozen=True)
class SfmCropConfig(SfmPairsConfig):
    """Crops of real SfM image pairs with sparse ground truth (:mod:`cvlearned.training.common.sfm_crops`;
    the pairs: :class:`~cvlearned.training.common.sfm_pairs.SfmPairsConfig`).

    fraction: probability that a training pair is an SfM crop of ``pairs.image_size`` (else
    a homography or rendered scene pair as ``pairs`` says).
    """

    fraction: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        fraction = self.fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ValueError(f"sfm.fraction must be a number in [0, 1], got {self.fraction!r}")
        if self.fraction > 0 and not self.scenes:
            raise ValueError("sfm.fraction > 0 needs sfm.scenes")
        if self.scenes and self.fraction == 0:
            raise ValueError(f"sfm.scenes {list(self.scenes)} are never drawn with sfm.fraction 0")


@dataclass(frozen=True)
class UCNTrainConfig:
    """The whole UCN training run (optimiser, schedule, pairs, loss, validation, SfM pairs)."""

    preset: str = "ucn-lite"
    seed: int = 0
    steps: int = 1000
    batch_size: int = 2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    checkpoint_every: int = 100
    log_every: int = 25
    max_minutes: float | None = None
    bf16_autocast: bool = False
    channels_last: bool = True
    export_fp16: bool = False
    pairs: PairsConfig = field(default_factory=PairsConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    sfm: SfmCropConfig = field(default_factory=SfmCropConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str) or not self.preset:
            raise ValueError(f"preset must be a preset name, got {self.preset!r}")
        _positive_int(self, "seed", 0)
        _positive_int(self, "steps", 0)
        for name in ("batch_size", "checkpoint_every", "log_every"):
            _positive_int(self, name)
        _positive_int(self, "warmup_steps", 0)
        check_range(self, "lr", 1e-12, None)
        check_range(self, "weight_decay", 0.0, None)
        if self.max_minutes is not None:
            check_range(self, "max_minutes", 0.0, None)
        for name in ("bf16_autocast", "channels_last", "export_fp16"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.sfm.fraction > 0 and 0 < self.sfm.image_side < max(self.pairs.image_size):
            raise ValueError(f"sfm.image_side {self.sfm.image_side} cannot hold crops of pairs.image_size "
                             f"{tuple(self.pairs.image_size)}")


def load_config(path: str | os.PathLike | None, **overrides: Any) -> UCNTrainConfig:
    """Read a YAML config (None = defaults); top-level keyword ``overrides`` that are not None win."""
    return load_yaml_config(UCNTrainConfig(), path, **overrides)
