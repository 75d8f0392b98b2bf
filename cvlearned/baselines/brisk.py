"""BRISK (Leutenegger et al. 2011): AGAST scale-space keypoints, 64-byte binary descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, check_int_range, check_optional_positive_int, check_range
from cvlearned.cv_compat import cv2_attr


@dataclass(frozen=True)
class BRISKConfig(FeatureConfig):
    """OpenCV BRISK parameters (defaults are OpenCV's).

    Attributes:
        max_keypoints: keep the strongest N by response; None = all.
        detection_threshold: AGAST threshold (OpenCV ``thresh``).
    """

    max_keypoints: int | None = None
    detection_threshold: int = 30
    n_octaves: int = 3
    pattern_scale: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_int_range(self, "detection_threshold", 0, 255)
        # each octave halves the image: OpenCV raises beyond about log2(min side) octaves
        # (measured: 7 on 120x120, 10 on 1200x1200, 12 on 4096x4096 = the default max_side)
        check_int_range(self, "n_octaves", 0, 12)
        check_range(self, "pattern_scale", 0.1, 10.0)


class BRISK(OpenCVFeature):
    """BRISK keypoints and binary descriptors (NORM_HAMMING)."""

    config_class = BRISKConfig
    config: BRISKConfig
    algorithm_name = "BRISK"
    min_image_side = 8

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        brisk = cv2_attr("BRISK_create")(int(c.detection_threshold), int(c.n_octaves), float(c.pattern_scale))
        return brisk, brisk
