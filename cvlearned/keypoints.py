"""Conversions between ``cv2.KeyPoint`` sequences and arrays, and rescaling.

Coordinates follow OpenCV's pixel-centre convention: integer coordinates are pixel
centres, so resizing an image by a factor ``s`` maps ``x -> s * (x + 0.5) - 0.5``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def keypoints_to_array(keypoints: Sequence[cv2.KeyPoint]) -> np.ndarray:
    """(N, 2) float64 array of keypoint positions (x, y)."""
    return np.asarray([kp.pt for kp in keypoints], dtype=np.float64).reshape(-1, 2)


def keypoint_arrays(keypoints: Sequence[cv2.KeyPoint]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 2) positions, (N,) sizes and (N,) angles (degrees, -1 = none), float64."""
    size = np.asarray([kp.size for kp in keypoints], dtype=np.float64).reshape(-1)
    angle = np.asarray([kp.angle for kp in keypoints], dtype=np.float64).reshape(-1)
    return keypoints_to_array(keypoints), size, angle


def strongest(keypoints: Sequence[cv2.KeyPoint], limit: int) -> np.ndarray:
    """Indices of the ``limit`` keypoints with the highest response (stable among ties)."""
    return np.argsort([-kp.response for kp in keypoints], kind="stable")[:limit]


def scale_points(points: np.ndarray, scale: float, scale_y: float | None = None) -> np.ndarray:
    """Map (N, 2) pixel coordinates to an image resized by ``scale`` (x) and ``scale_y`` (y)."""
    factors = np.array([scale, scale if scale_y is None else scale_y])
    return factors * (np.asarray(points, np.float64) + 0.5) - 0.5


def scale_keypoints(
    keypoints: Sequence[cv2.KeyPoint], scale: float, scale_y: float | None = None
) -> tuple[cv2.KeyPoint, ...]:
    """Copies of ``keypoints`` mapped to an image resized by ``scale`` (x) and ``scale_y``
    (y, default ``scale``); ``size`` is scaled by the geometric mean of the two."""
    sy = scale if scale_y is None else scale_y
    size_scale = float(np.sqrt(scale * sy))
    points = scale_points(keypoints_to_array(keypoints), scale, sy)
    return tuple(
        cv2.KeyPoint(
            x=float(x),
            y=float(y),
            size=float(kp.size * size_scale),
            angle=float(kp.angle),
            response=float(kp.response),
            octave=int(kp.octave),
            class_id=int(kp.class_id),
        )
        for kp, (x, y) in zip(keypoints, points)
    )
