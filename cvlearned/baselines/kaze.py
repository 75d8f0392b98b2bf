"""KAZE (Alcantarilla et al. 2012): nonlinear scale space, 64-d float descriptors.

OpenCV's KAZE/AKAZE describe only keypoints whose ``class_id`` indexes one of their scale
levels (they assert otherwise); keypoints of other detectors get the level that matches
their ``size`` (:func:`assign_scale_levels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, check_choice, check_int_range, check_optional_positive_int, check_range
from cvlearned.cv_compat import cv2_attr
from cvlearned.feature2d import Keypoints

DIFFUSIVITIES = ("pm_g1", "pm_g2", "weickert", "charbonnier")


@dataclass(frozen=True)
class KAZEConfig(FeatureConfig):
    """OpenCV KAZE parameters (defaults are OpenCV's).

    KAZE keeps every scale level at full resolution (about 0.5 GB per megapixel), so its
    ``max_side`` defaults to 3072 to stay under ~3 GB on an 8K image.

    Attributes:
        max_keypoints: keep the strongest N by response; None = all.
        detection_threshold: detector response threshold.
        extended: 128-d instead of 64-d descriptors.
        upright: skip orientation estimation.
    """

    max_side: int | None = 3072
    max_keypoints: int | None = None
    detection_threshold: float = 0.001
    extended: bool = False
    upright: bool = False
    n_octaves: int = 4
    n_octave_layers: int = 4
    diffusivity: str = "pm_g2"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "detection_threshold", 0.0)
        # diffusion time grows 4x per octave, at full resolution: on 120x160, 8 octaves take
        # 0.3 s, 10 take 1.7 s, 15 take 22 s and 16 crash OpenCV
        check_int_range(self, "n_octaves", 1, 8)
        check_int_range(self, "n_octave_layers", 1, 16)
        check_choice(self, "diffusivity", DIFFUSIVITIES)


class KAZE(OpenCVFeature):
    """KAZE keypoints and descriptors."""

    config_class = KAZEConfig
    config: KAZEConfig
    algorithm_name = "KAZE"

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        kaze = cv2_attr("KAZE_create")(
            bool(c.extended), bool(c.upright), float(c.detection_threshold), int(c.n_octaves),
            int(c.n_octave_layers), cv2_attr(f"KAZE_DIFF_{c.diffusivity.upper()}"),
        )
        return kaze, kaze

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        c = self.config
        # OpenCV KAZE never detects on evolution level 0 and returns NaN descriptors there
        levels = assign_scale_levels(keypoints, c.n_octaves * c.n_octave_layers, c.n_octave_layers, base_size=3.2,
                                     min_level=1)
        return super()._compute(gray, levels)


def assign_scale_levels(
    keypoints: Keypoints, n_levels: int, layers: int, base_size: float, min_level: int = 0
) -> Keypoints:
    """Give keypoints with ``class_id`` outside ``[min_level, n_levels)`` the level of their size.

    Level ``i`` has keypoint size ``base_size * 2 ** (i / layers)`` (KAZE: 2 x 1.6,
    AKAZE: 1.5 x 1.6 x 2).
    """
    fixed = []
    for kp in keypoints:
        if min_level <= kp.class_id < n_levels:
            fixed.append(kp)
            continue
        level = int(np.clip(round(layers * np.log2(max(kp.size, 1e-3) / base_size)), min_level, n_levels - 1))
        fixed.append(cv2.KeyPoint(kp.pt[0], kp.pt[1], kp.size, kp.angle, kp.response, level // layers, level))
    return tuple(fixed)
