"""Per-pair evaluation: one feature's extractions of a ground-truth pair → metric values.

Pose pairs (calibrated, ``X1 = R X0 + t``): matching (any
:class:`~cvlearned.matchers.base.DescriptorMatcher`) → RANSAC essential matrix →
``recoverPose`` → rotation / translation-direction errors (UCN Table 6 protocol), once per
RANSAC run (:attr:`PoseEstimation.runs`). When the
pair has depth (rendered scenes) the same correspondence metrics as homography pairs are
added: MMA@1..10, sparse PCK@1..20, repeatability and matching score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.extraction import Extraction
from cvlearned.evaluation.metrics import (
    RelativePose,
    estimate_homography,
    estimate_relative_pose,
    homography_corner_error,
    matching_score,
    mean_matching_accuracy,
    repeatability,
    rotation_error_deg,
    sparse_nn_pck,
    translation_error_deg,
)
from cvlearned.evaluation.warps import DepthWarp, HomographyWarp, Warp
from cvlearned.matchers.base import DescriptorMatcher, dmatch_arrays

MMA_THRESHOLDS = tuple(range(1, 11))
PCK_THRESHOLDS = tuple(range(1, 21))


@dataclass(frozen=True)
class PoseEstimation:
    """Essential-matrix settings: ``method`` "ransac" | "magsac", threshold in pixels.

    ``runs``: robust estimations per pair. OpenCV seeds its RANSAC identically on every
    call, so the random samples depend only on the order of the matches: run 0 keeps the
    matcher's order, run k ≥ 1 shuffles it with ``numpy.random.default_rng([seed, k])``.
    Several runs measure how much of a pose AUC is sampling luck.
    """

    method: str = "ransac"
    threshold_px: float = 1.0
    confidence: float = 0.99999
    runs: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.runs, bool) or not isinstance(self.runs, (int, np.integer)) or self.runs < 1:
            raise ValueError(f"runs must be an integer >= 1, got {self.runs!r}")

    def match_orders(self, num_matches: int) -> list[np.ndarray]:
        """One index order of the ``num_matches`` matches per run."""
        orders = [np.arange(num_matches)]
        orders += [np.random.default_rng([self.seed, k]).permutation(num_matches) for k in range(1, self.runs)]
        return orders


def match_extractions(matcher: DescriptorMatcher, ex0: Extraction, ex1: Extraction, image0: np.ndarray,
                      image1: np.ndarray) -> np.ndarray:
    """(M, 2) int64 index pairs of ``ex0`` / ``ex1`` keypoints matched by ``matcher``, sorted
    by the first index (keypoints and (w, h) of ``image0`` / ``image1`` reach learned matchers)."""
    size0, size1 = (image0.shape[1], image0.shape[0]), (image1.shape[1], image1.shape[0])
    found = matcher.match(ex0.keypoints, ex0.descriptors, ex1.keypoints, ex1.descriptors, size0, size1)
    return dmatch_arrays(found)[0]


def pose_errors(pose: RelativePose | None, R_gt: np.ndarray, t_gt: np.ndarray) -> tuple[float, float]:
    """(rotation, translation-direction) errors in degrees: ``inf`` when estimation
    failed, translation ``nan`` for a pure rotation (its direction is undefined)."""
    if pose is None:
        return float("inf"), float("inf")
    has_translation = np.linalg.norm(t_gt) > 1e-9
    trans = translation_error_deg(pose.t, t_gt) if has_translation else float("nan")
    return rotation_error_deg(pose.R, R_gt), trans


def evaluate_pose_pair(
    pair: PosePair, ex0: Extraction, ex1: Extraction, matches: np.ndarray, estimation: PoseEstimation
) -> dict[str, Any]:
    """Metrics of one calibrated pair with (K, 2) index ``matches`` (:func:`match_extractions`).
    ``rot_err_deg`` / ``trans_err_deg`` / ``inliers`` are lists with one value per RANSAC run;
    errors are ``inf`` when estimation fails."""
    pts0, pts1 = ex0.points[matches[:, 0]], ex1.points[matches[:, 1]]
    result: dict[str, Any] = _counts(ex0, ex1, matches)
    rot_errs, trans_errs, inliers = [], [], []
    for order in estimation.match_orders(len(matches)):
        pose = estimate_relative_pose(
            pts0[order], pts1[order], pair.K0, pair.K1, method=estimation.method,
            threshold_px=estimation.threshold_px, confidence=estimation.confidence, D0=pair.D0, D1=pair.D1,
        )
        rot_err, trans_err = pose_errors(pose, pair.R, pair.t)
        rot_errs.append(rot_err)
        trans_errs.append(trans_err)
        inliers.append(0 if pose is None else int(pose.num_inliers))
    result.update(rot_err_deg=rot_errs, trans_err_deg=trans_errs, inliers=inliers)
    if pair.depth0 is not None and pair.depth1 is not None:
        result.update(_correspondence_metrics(DepthWarp.from_pair(pair), ex0, ex1, matches))
    return result


def evaluate_homography_pair(
    pair: HomographyPair, ex0: Extraction, ex1: Extraction, matches: np.ndarray, threshold_px: float = 3.0
) -> dict[str, Any]:
    """Metrics of one homography pair with (K, 2) index ``matches``: MMA, PCK, repeatability,
    matching score, corner error."""
    pts0, pts1 = ex0.points[matches[:, 0]], ex1.points[matches[:, 1]]
    result: dict[str, Any] = _counts(ex0, ex1, matches)
    H_est = estimate_homography(pts0, pts1, threshold_px=threshold_px) if len(matches) >= 4 else None
    h, w = pair.image0.shape[:2]
    result["corner_err_px"] = homography_corner_error(H_est, pair.H_0to1, (w, h))
    result.update(_correspondence_metrics(HomographyWarp.from_pair(pair), ex0, ex1, matches))
    return result


def _euclidean(ex: Extraction) -> np.ndarray:
    """Descriptors whose L2 nearest neighbour is the feature's own (binary → bits)."""
    assert ex.descriptors is not None  # the caller checks
    if ex.norm in (cv2.NORM_HAMMING, cv2.NORM_HAMMING2):
        return np.unpackbits(ex.descriptors, axis=1).astype(np.float32)
    return ex.descriptors


def _counts(ex0: Extraction, ex1: Extraction, matches: np.ndarray) -> dict[str, Any]:
    return {
        "keypoints0": len(ex0.points),
        "keypoints1": len(ex1.points),
        "matches": int(len(matches)),
        "ms0": ex0.ms,
        "ms1": ex1.ms,
    }


def _correspondence_metrics(warp: Warp, ex0: Extraction, ex1: Extraction, matches: np.ndarray) -> dict[str, Any]:
    pts0, pts1 = ex0.points[matches[:, 0]], ex1.points[matches[:, 1]]
    mma = mean_matching_accuracy(pts0, pts1, warp, MMA_THRESHOLDS) if len(matches) else np.zeros(len(MMA_THRESHOLDS))
    gt1, valid = warp.forward(ex0.points)
    gt1 = np.where(valid[:, None], gt1, np.nan)
    if valid.any() and ex0.descriptors is not None and ex1.descriptors is not None:
        desc0, desc1 = _euclidean(ex0), _euclidean(ex1)
        pck = sparse_nn_pck(desc0, ex0.points, desc1, ex1.points, gt1, PCK_THRESHOLDS)
    else:
        pck = np.zeros(len(PCK_THRESHOLDS))
    return {
        "mma": [float(v) for v in mma],
        "pck": [float(v) for v in pck],
        "repeatability": float(repeatability(ex0.points, ex1.points, warp, eps=3.0)),
        "matching_score": float(matching_score(ex0.points, ex1.points, matches, warp, threshold=3.0)),
    }
