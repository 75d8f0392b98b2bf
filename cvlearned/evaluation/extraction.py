"""Run a feature on one image and keep what the metrics need, with timing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from cvlearned.feature2d import Feature2D, Keypoints
from cvlearned.keypoints import keypoints_to_array, strongest


@dataclass(frozen=True)
class Extraction:
    """Keypoints and descriptors of one image.

    Attributes:
        keypoints: the ``cv2.KeyPoint`` tuple (for drawing).
        points: (N, 2) float64 keypoint positions.
        descriptors: (N, D) descriptors or None when N == 0.
        norm: the feature's ``defaultNorm()``.
        ms: wall time of ``detectAndCompute`` (or of ``compute`` on given keypoints) in milliseconds.
    """

    keypoints: tuple[cv2.KeyPoint, ...]
    points: np.ndarray
    descriptors: np.ndarray | None
    norm: int
    ms: float


def extract(feature: Feature2D, image: np.ndarray, max_keypoints: int | None = None) -> Extraction:
    """``detectAndCompute`` on ``image``, keeping the ``max_keypoints`` strongest if set."""
    start = time.perf_counter()
    keypoints, descriptors = feature.detectAndCompute(image, None)
    ms = (time.perf_counter() - start) * 1000.0
    if max_keypoints is not None and len(keypoints) > max_keypoints:
        order = strongest(keypoints, max_keypoints)
        keypoints = tuple(keypoints[i] for i in order)
        assert descriptors is not None  # keypoints were found
        descriptors = descriptors[order]
    points = keypoints_to_array(keypoints)
    return Extraction(tuple(keypoints), points, descriptors, feature.defaultNorm(), ms)


def detect_strongest(
    detector: Feature2D, image: np.ndarray, max_keypoints: int | None = None
) -> tuple[cv2.KeyPoint, ...]:
    """``detector.detect`` on ``image``, keeping the ``max_keypoints`` strongest if set."""
    keypoints = tuple(cast(Keypoints, detector.detect(image, None)))  # one image: one keypoint tuple
    if max_keypoints is not None and len(keypoints) > max_keypoints:
        keypoints = tuple(keypoints[i] for i in strongest(keypoints, max_keypoints))
    return keypoints


def extract_on(feature: Feature2D, image: np.ndarray, keypoints: tuple[cv2.KeyPoint, ...]) -> Extraction:
    """``feature.compute`` on given ``keypoints`` (it may drop some); ``ms`` times the compute only."""
    start = time.perf_counter()
    kept, descriptors = cast(tuple[Keypoints, np.ndarray | None], feature.compute(image, keypoints))  # one image
    ms = (time.perf_counter() - start) * 1000.0
    return Extraction(tuple(kept), keypoints_to_array(kept), descriptors, feature.defaultNorm(), ms)
