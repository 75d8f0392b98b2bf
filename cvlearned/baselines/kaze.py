"""KAZE (Alcantarilla et al. 2012): nonlinear scale space, 64-d float descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import check_choice, check_optional_positive_int, check_range
from cvlearned.config import FeatureConfig
from cvlearned.cv_compat import cv2_attr

DIFFUSIVITIES = ("pm_g1", "pm_g2", "weickert", "charbonnier")


@dataclass(frozen=True)
class KAZEConfig(FeatureConfig):
    """OpenCV KAZE parameters (defaults are OpenCV's).

    Attributes:
        max_keypoints: keep the strongest N by response; None = all.
        detection_threshold: detector response threshold.
        extended: 128-d instead of 64-d descriptors.
        upright: skip orientation estimation.
    """

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
        check_range(self, "n_octaves", 1, 16)
        check_range(self, "n_octave_layers", 1, 16)
        check_choice(self, "diffusivity", DIFFUSIVITIES)


class KAZE(OpenCVFeature):
    """KAZE keypoints and descriptors."""

    config_class = KAZEConfig
    algorithm_name = "KAZE"

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        kaze = cv2_attr("KAZE_create")(
            bool(c.extended), bool(c.upright), float(c.detection_threshold), int(c.n_octaves),
            int(c.n_octave_layers), cv2_attr(f"KAZE_DIFF_{c.diffusivity.upper()}"),
        )
        return kaze, kaze
