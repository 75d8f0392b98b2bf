"""Detector repeatability (SuperPoint) and matching score (LIFT) under a ground-truth warp."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from cvlearned.evaluation.warps import Warp, as_points

__all__ = ["shared_region_masks", "repeatability", "matching_score"]


def shared_region_masks(kpts0: np.ndarray, kpts1: np.ndarray, warp: Warp) -> tuple[np.ndarray, np.ndarray]:
    """(N0,) and (N1,) bool masks of keypoints whose transfer is valid in the other image."""
    p0, p1 = as_points(kpts0), as_points(kpts1)
    _, v0 = warp.forward(p0)
    _, v1 = warp.backward(p1)
    return v0, v1


def _nn_dist(query: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(Q,) distance from each query point to its nearest reference point (inf if no reference)."""
    if len(ref) == 0 or len(query) == 0:
        return np.full(len(query), np.inf)
    return cKDTree(ref).query(query, k=1)[0]


def repeatability(kpts0: np.ndarray, kpts1: np.ndarray, warp: Warp, eps: float = 3.0) -> float:
    """SuperPoint repeatability of two keypoint sets.

    Only keypoints in the shared region are kept (those whose transfer by ``warp`` is valid:
    ``forward`` for image 0, ``backward`` for image 1); n0, n1 are their counts. With the kept
    image-0 keypoints transferred into image 1, all distances are measured in image 1:
    c0 = #kept image-0 keypoints with a kept image-1 keypoint within ``eps`` px,
    c1 = #kept image-1 keypoints with a transferred image-0 keypoint within ``eps`` px,
    and repeatability = (c0 + c1) / (n0 + n1) (0 when n0 + n1 = 0).

    Args:
        kpts0, kpts1: (N0, 2) / (N1, 2) keypoints (or ``cv2.KeyPoint`` lists).
        warp: ``HomographyWarp``, ``DepthWarp`` or any ``Warp``.
    """
    p0, p1 = as_points(kpts0), as_points(kpts1)
    w0, v0 = warp.forward(p0)
    _, v1 = warp.backward(p1)
    q0, q1 = w0[v0], p1[v1]
    n = len(q0) + len(q1)
    if n == 0:
        return 0.0
    c0 = int(np.sum(_nn_dist(q0, q1) <= eps))
    c1 = int(np.sum(_nn_dist(q1, q0) <= eps))
    return (c0 + c1) / n


def matching_score(
    kpts0: np.ndarray, kpts1: np.ndarray, matches: np.ndarray, warp: Warp, threshold: float = 3.0
) -> float:
    """LIFT matching score: correct matches / mean number of keypoints in the shared region.

    A match (i0, i1) is correct when ``warp.forward(kpts0[i0])`` is valid and lies within
    ``threshold`` px of ``kpts1[i1]``. The denominator is ``(n0 + n1) / 2`` with n0, n1
    the shared-region keypoint counts as in ``repeatability`` (the ratio of ground-truth
    correspondences recovered by the whole pipeline to the features proposed in the shared
    viewpoint region). Returns 0 when the shared region holds no keypoint.

    Args:
        kpts0, kpts1: (N0, 2) / (N1, 2) keypoints.
        matches: (M, 2) int index pairs (i0, i1).
    """
    p0, p1 = as_points(kpts0), as_points(kpts1)
    v0, v1 = shared_region_masks(p0, p1, warp)
    denom = (int(v0.sum()) + int(v1.sum())) / 2.0
    if denom == 0:
        return 0.0
    m = np.asarray(matches, dtype=np.int64).reshape(-1, 2)
    if len(m) == 0:
        return 0.0
    proj, valid = warp.forward(p0[m[:, 0]])
    with np.errstate(invalid="ignore"):
        correct = valid & (np.linalg.norm(proj - p1[m[:, 1]], axis=1) <= threshold)
    return float(correct.sum()) / denom
