"""SIFT (Lowe 2004), OpenCV's implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, check_optional_positive_int, check_range
from cvlearned.cv_compat import cv2_attr


@dataclass(frozen=True)
class SIFTConfig(FeatureConfig):
    """OpenCV SIFT parameters (defaults are OpenCV's).

    Attributes:
        max_keypoints: keep the strongest N (OpenCV ``nfeatures``); None = all.
        n_octave_layers: DoG layers per octave.
        detection_threshold: DoG contrast threshold (OpenCV ``contrastThreshold``).
        edge_threshold: principal-curvature ratio threshold.
        sigma: blur of the base image.
    """

    max_keypoints: int | None = None
    n_octave_layers: int = 3
    detection_threshold: float = 0.04
    edge_threshold: float = 10.0
    sigma: float = 1.6

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "n_octave_layers", 1, 20)
        check_range(self, "detection_threshold", 0.0)
        check_range(self, "edge_threshold", 0.0)
        check_range(self, "sigma", 0.01)


def build_sift(config: SIFTConfig) -> Any:
    """The OpenCV SIFT object for ``config``."""
    return cv2_attr("SIFT_create")(
        config.max_keypoints or 0,
        int(config.n_octave_layers),
        float(config.detection_threshold),
        float(config.edge_threshold),
        float(config.sigma),
    )


class SIFT(OpenCVFeature):
    """SIFT keypoints and 128-d float descriptors."""

    config_class = SIFTConfig
    algorithm_name = "SIFT"
    native_max_keypoints = True

    def _build(self) -> tuple[Any, Any]:
        sift = build_sift(self.config)
        return sift, sift
