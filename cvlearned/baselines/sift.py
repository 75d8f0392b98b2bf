"""SIFT (Lowe 2004), OpenCV's implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.config import FeatureConfig, check_int_range, check_optional_positive_int, check_range
from cvlearned.cv_compat import cv2_attr, sift_small_window_crashes
from cvlearned.feature2d import Keypoints


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
        check_int_range(self, "n_octave_layers", 1, 20)
        check_range(self, "detection_threshold", 0.0)
        check_range(self, "edge_threshold", 0.0)
        # the base blur's kernel grows with sigma: 200 takes 1.4 s on 120x160, 1e6 ran past 10 GB
        check_range(self, "sigma", 0.01, 20.0)


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
    config: SIFTConfig
    algorithm_name = "SIFT"
    native_max_keypoints = True

    def _build(self) -> tuple[Any, Any]:
        sift = build_sift(self.config)
        return sift, sift

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        return super()._compute(gray, in_sift_pyramid(keypoints, gray.shape, self.config.n_octave_layers))


def unpack_octave(packed: int) -> tuple[int, int]:
    """(octave, layer) of SIFT's packed ``KeyPoint.octave`` (signed low byte, second byte)."""
    octave = packed & 255
    return (octave - 256 if octave >= 128 else octave), (packed >> 8) & 255


def in_sift_pyramid(keypoints: Keypoints, shape: tuple[int, ...], n_octave_layers: int) -> Keypoints:
    """The keypoints whose packed ``octave`` names a level OpenCV's SIFT can build on an (H, W) image.

    Measured on OpenCV 5.1 (120x160 to 3x5 images): ``compute`` raises cv2.error for an octave
    below -1, above ``floor(log2(min(H, W)))`` or a layer above ``n_octave_layers + 2``, and
    one such keypoint fails the whole call, so they are dropped. On OpenCV before 4.11 the
    keypoints whose descriptor window would crash the process are dropped too.
    """
    top = min(shape[:2]).bit_length() - 1
    kept = tuple(
        kp for kp in keypoints
        if -1 <= unpack_octave(kp.octave)[0] <= top and unpack_octave(kp.octave)[1] <= n_octave_layers + 2
    )
    if sift_small_window_crashes():
        kept = tuple(kp for kp in kept if sift_window_radius(kp, shape) >= MIN_SAFE_SIFT_RADIUS)
    return kept


MIN_SAFE_SIFT_RADIUS = 5  # OpenCV 4.8-4.10 abort below it (measured; opencv/opencv#26139)


def sift_window_radius(keypoint: Any, shape: tuple[int, ...]) -> float:
    """Sampling radius (px) of OpenCV's SIFT descriptor for ``keypoint`` at its octave.

    OpenCV: ``radius = 3 * scl * sqrt(2) * (4 + 1) / 2`` with ``scl = size / 2`` at the
    octave's scale, capped by the diagonal of that octave's (H >> octave, W >> octave) image.
    """
    octave = unpack_octave(keypoint.octave)[0]
    scale = 2.0 ** -octave
    rows, cols = (int(n * 2) if octave < 0 else int(n) >> octave for n in shape[:2])
    radius = 3.0 * keypoint.size * 0.5 * scale * np.sqrt(2.0) * 2.5
    return float(min(radius, int(np.hypot(rows, cols))))
