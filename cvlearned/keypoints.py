"""Conversions between ``cv2.KeyPoint`` sequences and arrays, and rescaling.

Coordinates follow OpenCV's pixel-centre convention: integer coordinates are pixel
centres, so resizing an image by a factor ``s`` maps ``x -> s * (x + 0.5) - 0.5``.
"""

from __future__ import annotations

import math
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


def replace_keypoint(
    kp: cv2.KeyPoint, x: float | None = None, y: float | None = None, *,
    size: float | None = None, angle: float | None = None, octave: int | None = None, class_id: int | None = None,
) -> cv2.KeyPoint:
    """A copy of ``kp`` with the given fields replaced."""
    return cv2.KeyPoint(
        x=float(kp.pt[0] if x is None else x),
        y=float(kp.pt[1] if y is None else y),
        size=float(kp.size if size is None else size),
        angle=float(kp.angle if angle is None else angle),
        response=float(kp.response),
        octave=int(kp.octave if octave is None else octave),
        class_id=int(kp.class_id if class_id is None else class_id),
    )


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
    return tuple(replace_keypoint(kp, x, y, size=kp.size * size_scale) for kp, (x, y) in zip(keypoints, points))


#: sizes above this are not described: OpenCV's KAZE returns all-zero descriptors at 1e12
#: (measured; fine up to 3e9), and no image of at most ``MAX_PIXELS`` has a use for them
MAX_KEYPOINT_SIZE: float = 1e9


def describable_keypoints(
    keypoints: Sequence[cv2.KeyPoint], shape: tuple[int, ...], unsized: bool = False
) -> tuple[cv2.KeyPoint, ...]:
    """The keypoints a feature can describe on an (H, W) image, with angles in [0, 360).

    Keeps keypoints whose centre lies in [0, W-1] x [0, H-1] (pixel centres), whose size is
    finite and in (0, :data:`MAX_KEYPOINT_SIZE`] (with ``unsized``, also <= 0: the feature
    supplies its own) and whose angle is finite; angles become ``angle % 360`` (-1 = none
    stays -1). Positions must already be finite (:func:`cvlearned.image_input.as_keypoint_tuple`).
    """
    h, w = shape[:2]
    out = []
    for kp in keypoints:
        x, y = kp.pt
        size_ok = np.isfinite(kp.size) and kp.size <= MAX_KEYPOINT_SIZE and (unsized or kp.size > 0)
        if not (0 <= x <= w - 1 and 0 <= y <= h - 1 and size_ok and np.isfinite(kp.angle)):
            continue
        angle = kp.angle if kp.angle == -1 else normalized_angle(kp.angle)
        out.append(kp if angle == kp.angle else replace_keypoint(kp, angle=angle))
    return tuple(out)


def normalized_angle(angle: float) -> float:
    """A finite angle in degrees mapped to [0, 360), exact in float32 (``KeyPoint.angle``)."""
    wrapped = float(np.float32(math.fmod(angle, 360.0) + (360.0 if angle < 0 else 0.0)))
    return 0.0 if wrapped >= 360.0 else wrapped


def sanitize_detected(
    keypoints: Sequence[cv2.KeyPoint], shape: tuple[int, ...], mask: np.ndarray | None, default_size: float,
    max_keypoints: int | None, fixed_size: float | None = None, one_per_location: bool = False,
) -> tuple[cv2.KeyPoint, ...]:
    """Another detector's keypoints made safe to describe.

    Keeps finite points inside the (H, W) image and the mask; ``size`` = ``fixed_size``, or
    the keypoint's when finite and in (0, :data:`MAX_KEYPOINT_SIZE`], else ``default_size``;
    finite angles become ``angle % 360`` (-1 stays -1, as in :func:`describable_keypoints`),
    NaN/inf ones -1; with ``one_per_location`` only the strongest keypoint at each position
    (:func:`unique_locations`); then the ``max_keypoints`` of highest response (None = all),
    in detection order.
    """
    h, w = shape[:2]
    out = []
    for kp in keypoints:
        x, y = kp.pt
        if not (np.isfinite(x) and np.isfinite(y) and 0 <= x <= w - 1 and 0 <= y <= h - 1):
            continue
        if mask is not None and mask[min(int(round(y)), h - 1), min(int(round(x)), w - 1)] == 0:
            continue
        size = kp.size if np.isfinite(kp.size) and 0 < kp.size <= MAX_KEYPOINT_SIZE else default_size
        angle = -1.0 if not np.isfinite(kp.angle) or kp.angle == -1 else normalized_angle(kp.angle)
        out.append(replace_keypoint(kp, size=size if fixed_size is None else fixed_size, angle=angle))
    if one_per_location:
        out = list(unique_locations(out))
    if max_keypoints is not None and len(out) > max_keypoints:
        order = np.argsort(-np.array([kp.response for kp in out]), kind="stable")[:max_keypoints]
        out = [out[i] for i in np.sort(order)]
    return tuple(out)


def unique_locations(keypoints: Sequence[cv2.KeyPoint], by_size: bool = False) -> tuple[cv2.KeyPoint, ...]:
    """The strongest keypoint per (x, y) (per (x, y, size) with ``by_size``), in the original order.

    For descriptors that ignore the keypoint's angle (and size): keypoints that differ
    only there (SIFT repeats a location for each orientation peak) would get identical
    descriptors, and a twin makes every Lowe ratio test of its location fail.
    """
    best: dict[Sequence[float], int] = {}  # KeyPoint.pt: (x, y)
    for i, kp in enumerate(keypoints):
        key = (kp.pt[0], kp.pt[1], kp.size) if by_size else kp.pt
        if key not in best or kp.response > keypoints[best[key]].response:
            best[key] = i
    return tuple(keypoints[i] for i in sorted(best.values()))
