"""Feed any Feature2D into OpenCV's stitching pipeline as ``cv2.detail.ImageFeatures``.

OpenCV's C++ stitcher cannot call a Python feature, but everything after feature finding
(``BestOf2NearestMatcher``, ``leaveBiggestComponent``, estimators, bundle adjusters) only
reads ``ImageFeatures``. This module builds those from a ``detectAndCompute`` result.

Facts this relies on (checked on OpenCV 5.0; the same code runs on 4.x):

- Fields: ``img_idx`` (int), ``img_size`` = (w, h), ``keypoints`` (tuple of
  ``cv2.KeyPoint``), ``descriptors`` (a ``cv2.UMat``).
- On 4.x, touching ``.descriptors`` of a default-constructed ``ImageFeatures`` segfaults,
  so every object is obtained from ``cv2.detail.computeImageFeatures2`` on a tiny blank
  image (ORB finds nothing there) and then overwritten. That object's ``img_idx`` is left
  uninitialised by OpenCV, so it is always set here.
- ``BestOf2NearestMatcher`` asserts descriptor depth ``CV_8U`` or ``CV_32F`` and picks its
  FLANN index from the depth: ``CV_8U`` → LSH (Hamming), ``CV_32F`` → KD-tree (L2). Binary
  descriptors (``defaultNorm()`` Hamming) must therefore stay packed ``uint8``, and every
  other descriptor becomes ``float32`` (float64 would fail the assertion; a ``uint8``
  SIFT-style descriptor would silently be matched with Hamming distance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["BINARY_NORMS", "image_features", "compute_image_features", "to_image_features"]

#: norms whose descriptors are packed bits (kept as uint8 → LSH in the stitching matcher)
BINARY_NORMS: tuple[int, ...] = (cv2.NORM_HAMMING, cv2.NORM_HAMMING2)
_BLANK = np.zeros((8, 8), np.uint8)


def _new_image_features() -> cv2.detail.ImageFeatures:
    """A fresh, safely initialised ``ImageFeatures`` (see the module docstring)."""
    return cv2.detail.computeImageFeatures2(cv2.ORB.create(), _BLANK)


def _stitching_descriptors(descriptors: Any, n_keypoints: int, norm: int) -> np.ndarray | None:
    """(N, D) descriptors in the dtype ``BestOf2NearestMatcher`` needs, or None when N == 0."""
    if descriptors is None or n_keypoints == 0:
        if n_keypoints:
            raise ValueError(f"{n_keypoints} keypoints but no descriptors")
        return None
    desc = np.asarray(descriptors)
    if desc.ndim != 2 or desc.shape[0] != n_keypoints:
        raise ValueError(f"descriptors must have shape ({n_keypoints}, D), got {desc.shape}")
    if norm in BINARY_NORMS:
        if desc.dtype != np.uint8:
            raise TypeError(f"binary (Hamming) descriptors must be packed uint8, got {desc.dtype}")
        return np.ascontiguousarray(desc)
    if not (np.issubdtype(desc.dtype, np.floating) or np.issubdtype(desc.dtype, np.integer)):
        raise TypeError(f"descriptors must be numeric, got {desc.dtype}")
    return np.ascontiguousarray(desc, dtype=np.float32)


def to_image_features(
    keypoints: Sequence[cv2.KeyPoint],
    descriptors: np.ndarray | None,
    image_size: tuple[int, int],
    img_idx: int,
    norm: int = cv2.NORM_L2,
) -> cv2.detail.ImageFeatures:
    """Wrap one ``detectAndCompute`` result as ``cv2.detail.ImageFeatures``.

    Args:
        keypoints: N ``cv2.KeyPoint`` in image pixels.
        descriptors: (N, D) descriptors, or None when N == 0.
        image_size: (w, h) of the image the keypoints come from.
        img_idx: index of the image in the stitched set.
        norm: the feature's ``defaultNorm()``; Hamming norms keep uint8 descriptors,
            any other norm converts them to float32.
    """
    keypoints = tuple(keypoints)
    if not all(isinstance(kp, cv2.KeyPoint) for kp in keypoints):
        raise TypeError("keypoints must be cv2.KeyPoint objects")
    if isinstance(img_idx, bool) or not isinstance(img_idx, (int, np.integer)) or img_idx < 0:
        raise ValueError(f"img_idx must be a non-negative int, got {img_idx!r}")
    if len(image_size) != 2 or min(int(v) for v in image_size) < 1:
        raise ValueError(f"image_size must be (w, h) with positive values, got {image_size!r}")
    desc = _stitching_descriptors(descriptors, len(keypoints), norm)
    features = _new_image_features()
    features.img_idx = int(img_idx)
    features.img_size = (int(image_size[0]), int(image_size[1]))
    features.keypoints = keypoints
    if desc is not None:
        features.descriptors = cv2.UMat(desc)
    return features


def image_features(feature2d: Any, image: np.ndarray, img_idx: int, mask: np.ndarray | None = None
                   ) -> cv2.detail.ImageFeatures:
    """Run ``feature2d.detectAndCompute`` on ``image`` (H, W[, C]) → ``cv2.detail.ImageFeatures``.

    ``feature2d`` is any object with ``detectAndCompute`` and ``defaultNorm`` (a cvlearned
    feature or a native ``cv2.Feature2D``); ``mask`` is an optional (H, W) uint8 mask.
    """
    if not (hasattr(feature2d, "detectAndCompute") and hasattr(feature2d, "defaultNorm")):
        raise TypeError(f"feature2d must have detectAndCompute and defaultNorm, got {type(feature2d).__name__}")
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError("image must be a non-empty (H, W) or (H, W, C) numpy array")
    keypoints, descriptors = feature2d.detectAndCompute(image, mask)
    h, w = image.shape[:2]
    return to_image_features(keypoints, descriptors, (w, h), img_idx, feature2d.defaultNorm())


def compute_image_features(
    feature2d: Any, images: Sequence[np.ndarray], masks: Sequence[np.ndarray | None] | None = None
) -> list[cv2.detail.ImageFeatures]:
    """:func:`image_features` for every image; ``img_idx`` is the position in ``images``."""
    if isinstance(images, np.ndarray) or len(images) == 0:
        raise ValueError("images must be a non-empty sequence of images")
    if masks is None:
        masks = [None] * len(images)
    if len(masks) != len(images):
        raise ValueError(f"got {len(masks)} masks for {len(images)} images")
    return [image_features(feature2d, im, i, m) for i, (im, m) in enumerate(zip(images, masks))]
