"""ORB (Rublee et al. 2011): oriented FAST + rotated BRIEF, 32-byte binary descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, MAX_INT_PARAM, check_int_range, check_optional_positive_int, check_range
from cvlearned.feature2d import Keypoints


UNLIMITED = 1_000_000  # OpenCV ORB has no "no limit" value; 2**30 fails to allocate


@dataclass(frozen=True)
class ORBConfig(FeatureConfig):
    """OpenCV ORB parameters (defaults are OpenCV's).

    Attributes:
        max_keypoints: at most N keypoints (OpenCV ``nfeatures``); None = no limit
            (passed to OpenCV as :data:`UNLIMITED`, which pre-allocates for it).
        detection_threshold: FAST threshold (OpenCV ``fastThreshold``).
    """

    max_keypoints: int | None = 500
    scale_factor: float = 1.2
    n_levels: int = 8
    edge_threshold: int = 31
    detection_threshold: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints", UNLIMITED)  # OpenCV allocates for all: 1e9 fails
        check_range(self, "scale_factor", 1.0001, 4.0)
        check_int_range(self, "n_levels", 1, 32)
        check_int_range(self, "edge_threshold", 1, MAX_INT_PARAM)  # OverflowError beyond a C int
        check_int_range(self, "detection_threshold", 0, 255)


class ORB(OpenCVFeature):
    """ORB keypoints and binary descriptors (NORM_HAMMING)."""

    config_class = ORBConfig
    config: ORBConfig
    algorithm_name = "ORB"
    native_max_keypoints = True
    min_image_side = 2

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        orb = cv2.ORB.create(
            c.max_keypoints or UNLIMITED, float(c.scale_factor), int(c.n_levels), int(c.edge_threshold),
            0, 2, cv2.ORB_HARRIS_SCORE, 31, int(c.detection_threshold),
        )
        return orb, orb

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        return super()._compute(gray, assign_pyramid_levels(keypoints, self.config))


def assign_pyramid_levels(keypoints: Keypoints, config: ORBConfig) -> Keypoints:
    """Give keypoints whose ``octave`` is not an ORB pyramid level the level of their size.

    OpenCV ORB reads ``octave`` as its pyramid level and fails with a huge allocation on
    other detectors' values (SIFT packs octave, layer and scale into it). Level ``l`` has
    keypoint size ``31 * scale_factor ** l`` (ORB's patch size); an ``octave`` is trusted
    only when the size agrees with it (ORB's own keypoints), so e.g. AKAZE's octave 1-2 on
    a 12 px keypoint does not select a 37 px patch.
    """
    fixed = []
    for kp in keypoints:
        if 0 <= kp.octave < config.n_levels and abs(kp.size - 31.0 * config.scale_factor**kp.octave) <= 0.01 * kp.size:
            fixed.append(kp)
            continue
        level = np.log(max(kp.size, 1e-3) / 31.0) / np.log(config.scale_factor)
        level = int(np.clip(round(level), 0, config.n_levels - 1))
        fixed.append(cv2.KeyPoint(kp.pt[0], kp.pt[1], kp.size, kp.angle, kp.response, level, kp.class_id))
    return tuple(fixed)
