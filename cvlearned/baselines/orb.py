"""ORB (Rublee et al. 2011): oriented FAST + rotated BRIEF, 32-byte binary descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, check_range


@dataclass(frozen=True)
class ORBConfig(FeatureConfig):
    """OpenCV ORB parameters (defaults are OpenCV's).

    Attributes:
        max_keypoints: at most N keypoints (OpenCV ``nfeatures``; ORB needs a limit).
        detection_threshold: FAST threshold (OpenCV ``fastThreshold``).
    """

    max_keypoints: int = 500
    scale_factor: float = 1.2
    n_levels: int = 8
    edge_threshold: int = 31
    detection_threshold: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self, "max_keypoints", 1)
        check_range(self, "scale_factor", 1.0001, 4.0)
        check_range(self, "n_levels", 1, 32)
        check_range(self, "edge_threshold", 1)
        check_range(self, "detection_threshold", 0, 255)


class ORB(OpenCVFeature):
    """ORB keypoints and binary descriptors (NORM_HAMMING)."""

    config_class = ORBConfig
    algorithm_name = "ORB"
    native_max_keypoints = True
    min_image_side = 2

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        orb = cv2.ORB_create(
            int(c.max_keypoints), float(c.scale_factor), int(c.n_levels), int(c.edge_threshold),
            0, 2, cv2.ORB_HARRIS_SCORE, 31, int(c.detection_threshold),
        )
        return orb, orb
