"""Ground-truth pair types shared by generators, dataset loaders and the benchmark.

Conventions (used everywhere in cvlearned):
- Images are ``np.uint8`` BGR arrays of shape (H, W, 3), as ``cv2.imread`` returns them.
- Pixel coordinates follow OpenCV: integer coordinates are pixel centres, x to the right, y down.
- Relative pose maps camera-0 coordinates to camera-1 coordinates: ``X1 = R @ X0 + t``.
- Homographies map image-0 pixels to image-1 pixels: ``x1 ~ H_0to1 @ [x0, y0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class HomographyPair:
    """Two views of a planar scene related by a known homography."""

    name: str
    image0: np.ndarray  # (H0, W0, 3) uint8 BGR
    image1: np.ndarray  # (H1, W1, 3) uint8 BGR
    H_0to1: np.ndarray  # (3, 3) float64
    split: str = "viewpoint"  # "viewpoint" | "illumination"


@dataclass(frozen=True)
class PosePair:
    """Two calibrated views with a known relative pose ``X1 = R @ X0 + t``.

    ``depth0``/``depth1`` (float32, (H, W), z-depth in camera frame; ``np.inf`` or 0
    where unknown) are present for rendered scenes and give exact dense correspondences.
    ``D0``/``D1`` are OpenCV distortion coefficients (k1, k2, p1, p2, k3); zeros when the
    images are already undistorted.
    """

    name: str
    image0: np.ndarray  # (H0, W0, 3) uint8 BGR
    image1: np.ndarray  # (H1, W1, 3) uint8 BGR
    K0: np.ndarray  # (3, 3) float64
    K1: np.ndarray  # (3, 3) float64
    R: np.ndarray  # (3, 3) float64
    t: np.ndarray  # (3,) float64
    D0: np.ndarray = field(default_factory=lambda: np.zeros(5))
    D1: np.ndarray = field(default_factory=lambda: np.zeros(5))
    depth0: np.ndarray | None = None
    depth1: np.ndarray | None = None
