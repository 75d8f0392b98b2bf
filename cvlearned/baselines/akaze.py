"""AKAZE (Alcantarilla et al. 2013): fast explicit diffusion, binary MLDB descriptors.

OpenCV's AKAZE can only describe keypoints whose ``class_id`` is an index into its scale
levels (it asserts otherwise). Keypoints from other detectors (``class_id`` outside that
range, typically -1) are assigned the level matching their ``size``
(``size = 4.8 * 2 ** (level / n_octave_layers)``, OpenCV's AKAZE scale law).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cvlearned.baselines.kaze import DIFFUSIVITIES, assign_scale_levels
from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, check_choice, check_int_range, check_optional_positive_int, check_range
from cvlearned.cv_compat import cv2_attr
from cvlearned.feature2d import Keypoints

_DESCRIPTORS = ("mldb", "mldb_upright", "kaze", "kaze_upright")


@dataclass(frozen=True)
class AKAZEConfig(FeatureConfig):
    """OpenCV AKAZE parameters (defaults are OpenCV's).

    Attributes:
        max_keypoints: keep the strongest N by response; None = all.
        detection_threshold: detector response threshold.
        descriptor_type: "mldb" (binary, 61 bytes), "kaze" (float) or their upright forms.
    """

    max_keypoints: int | None = None
    detection_threshold: float = 0.001
    descriptor_type: str = "mldb"
    n_octaves: int = 4
    n_octave_layers: int = 4
    diffusivity: str = "pm_g2"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "detection_threshold", 0.0)
        check_choice(self, "descriptor_type", _DESCRIPTORS)
        check_int_range(self, "n_octaves", 1, 16)
        check_int_range(self, "n_octave_layers", 1, 16)
        check_choice(self, "diffusivity", DIFFUSIVITIES)


class AKAZE(OpenCVFeature):
    """AKAZE keypoints and descriptors (binary by default: NORM_HAMMING)."""

    config_class = AKAZEConfig
    config: AKAZEConfig
    algorithm_name = "AKAZE"
    min_image_side = 2  # OpenCV 5.0 AKAZE corrupts the heap on 1-pixel-high/wide images

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        akaze = cv2_attr("AKAZE_create")(
            cv2_attr(f"AKAZE_DESCRIPTOR_{c.descriptor_type.upper()}"), 0, 3,
            float(c.detection_threshold), int(c.n_octaves), int(c.n_octave_layers),
            cv2_attr(f"KAZE_DIFF_{c.diffusivity.upper()}"),
        )
        return akaze, akaze

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        return super()._compute(gray, _with_scale_levels(gray.shape, keypoints, self.config))



def _octaves_for(shape: tuple[int, ...], n_octaves: int) -> int:
    """Octaves OpenCV's AKAZE builds for an image (it stops below 80 x 40 pixels)."""
    height, width = shape[:2]
    octaves = 1
    while octaves < n_octaves and (width >> octaves) >= 80 and (height >> octaves) >= 40:
        octaves += 1
    return octaves


def _with_scale_levels(shape: tuple[int, ...], keypoints: Keypoints, config: AKAZEConfig) -> Keypoints:
    n_levels = _octaves_for(shape, config.n_octaves) * config.n_octave_layers
    return assign_scale_levels(keypoints, n_levels, config.n_octave_layers, base_size=4.8)
