"""What a fuzzed feature call must answer, shared by tests/test_hardening_*.py children."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

HEIGHT, WIDTH = 120, 160


def textured_image(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A deterministic (height, width) uint8 blurred-noise image with many keypoints."""
    noise = np.random.default_rng(7).integers(0, 255, (height, width), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def check_result(feature: Any, result: Any, shape: tuple[int, ...]) -> None:
    """The contract of a (keypoints, descriptors) answer on an (H, W) image: types, shapes,
    finite non-zero descriptor rows, keypoints inside the image with a usable size and an
    angle of -1 or in [0, 360)."""
    keypoints, desc = result
    assert isinstance(keypoints, tuple) and all(isinstance(kp, cv2.KeyPoint) for kp in keypoints)
    if desc is None:
        assert not keypoints, "None descriptors for a non-empty result"
        return
    assert desc.shape == (len(keypoints), feature.descriptorSize()), desc.shape
    if desc.dtype.kind == "f":
        assert np.isfinite(desc).all(), "a non-finite descriptor"
    assert all(row.any() for row in desc), "an all-zero descriptor row"
    h, w = shape[:2]
    for kp in keypoints:
        assert 0 <= kp.pt[0] <= w - 1 and 0 <= kp.pt[1] <= h - 1, f"a keypoint outside the image: {kp.pt}"
        assert math.isfinite(kp.size) and kp.size > 0, f"a keypoint of size {kp.size}"
        assert kp.angle == -1 or 0 <= kp.angle < 360, f"an angle outside [0, 360): {kp.angle}"
