"""DAISY descriptors (Tola et al. 2010) on SIFT keypoints, as compared in the UCN paper.

OpenCV's DAISY is not scale-adaptive: it samples a fixed ``radius`` around each keypoint
and ignores the keypoint size; with ``use_orientation`` it is rotated by the SIFT angle.
Without orientation, SIFT's copies of one location (one per dominant orientation) would
get identical descriptors that defeat the ratio test, so only the strongest is kept (by
``detect`` and by ``compute`` on given keypoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cvlearned.baselines.opencv_feature import OpenCVFeature
from cvlearned.baselines.sift import SIFTConfig, build_sift
from cvlearned.config import check_choice, check_int_range, check_range
from cvlearned.cv_compat import cv2_attr
from cvlearned.feature2d import Keypoints
from cvlearned.keypoints import unique_locations

_NORMS = ("none", "partial", "full", "sift")


@dataclass(frozen=True)
class DAISYConfig(SIFTConfig):
    """SIFT detector parameters plus OpenCV DAISY's (defaults are OpenCV's).

    Attributes:
        radius: descriptor radius in pixels.
        q_radius, q_theta, q_hist: rings, histograms per ring, bins per histogram.
        norm: "none" | "partial" | "full" | "sift" (OpenCV ``DAISY_NRM_*``).
        use_orientation: rotate the descriptor by the SIFT keypoint angle.
    """

    radius: float = 15.0
    q_radius: int = 3
    q_theta: int = 8
    q_hist: int = 8
    norm: str = "none"
    use_orientation: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        # time and memory grow with the radius: 500 takes 0.4 s on 120x160, 1e7 ran past 6.5 GB
        check_range(self, "radius", 1.0, 500.0)
        for name in ("q_radius", "q_theta", "q_hist"):
            check_int_range(self, name, 1, 64)
        check_choice(self, "norm", _NORMS)


class DAISY(OpenCVFeature):
    """SIFT keypoints described by DAISY (200-d float with the default layout)."""

    config_class = DAISYConfig
    config: DAISYConfig
    algorithm_name = "DAISY"
    native_max_keypoints = True

    def _build(self) -> tuple[Any, Any]:
        c = self.config
        norm = cv2_attr(f"DAISY_NRM_{c.norm.upper()}")
        daisy = cv2_attr("DAISY_create")(
            float(c.radius), int(c.q_radius), int(c.q_theta), int(c.q_hist), norm, None, True,
            bool(c.use_orientation),
        )
        return build_sift(c), daisy

    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        keypoints = super()._detect(gray, mask)
        return keypoints if self.config.use_orientation else unique_locations(keypoints, by_size=True)

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        """Given keypoints that differ only by angle get one (identical) descriptor unless
        ``use_orientation``, so compute keeps the strongest of them, as detect does."""
        if not self.config.use_orientation:
            keypoints = unique_locations(keypoints, by_size=True)
        return super()._compute(gray, keypoints)

