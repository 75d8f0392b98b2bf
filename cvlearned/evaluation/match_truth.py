"""Which matches are correct by ground truth, for colouring match pictures.

The error of a match (x0, x1) is measured in image-1 pixels with the best ground truth
the pair has: the homography (``|H x0 - x1|``), the depth maps (``|warp(x0) - x1|``
through depth and pose; where the transfer fails, e.g. occlusion, the epipolar distance),
or the pose alone (epipolar distance: the larger of the distances of x1 to the epipolar
line of x0 and of x0 to that of x1). A pure rotation has no epipolar geometry but a
homography ``K1 R K0^-1``, which is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvlearned.cv_compat import normalized_image_points
from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.metrics import match_reprojection_errors
from cvlearned.evaluation.warps import DepthWarp


@dataclass(frozen=True)
class MatchTruth:
    """correct: (M,) bool, error <= threshold_px; rule: how the error was measured (for captions)."""

    correct: np.ndarray
    threshold_px: float
    rule: str


#: the ways :func:`match_errors` measures a match's error (also the wording of captions)
HOMOGRAPHY, ROTATION_HOMOGRAPHY, EPIPOLAR = "homography", "rotation homography", "epipolar distance"
DEPTH = "depth; epipolar distance where occluded"
#: default threshold: a match is correct when its ground-truth error is at most this many pixels
CORRECT_PX = 3.0


def truth_rule(pair: HomographyPair | PosePair) -> str | None:
    """How the pair's matches are checked (one of the rule constants), None without ground truth."""
    if isinstance(pair, HomographyPair):
        return HOMOGRAPHY
    if not (np.isfinite(pair.R).all() and np.isfinite(pair.t).all()):
        return None
    if np.linalg.norm(pair.t) <= 1e-9:
        return ROTATION_HOMOGRAPHY
    return EPIPOLAR if pair.depth0 is None or pair.depth1 is None else DEPTH


def match_errors(pair: HomographyPair | PosePair, pts0: np.ndarray, pts1: np.ndarray) -> np.ndarray:
    """(M, 2) matched points → (M,) ground-truth errors in image-1 pixels (inf: not measurable)."""
    rule = truth_rule(pair)
    if rule is None:
        raise ValueError(f"pair {pair.name!r} has no ground truth")
    if rule == HOMOGRAPHY:
        assert isinstance(pair, HomographyPair)  # truth_rule
        return match_reprojection_errors(pts0, pts1, pair.H_0to1)
    assert isinstance(pair, PosePair)  # truth_rule: every other rule is a pose pair's
    if rule == ROTATION_HOMOGRAPHY:
        return match_reprojection_errors(pts0, pts1, pair.K1 @ pair.R @ np.linalg.inv(pair.K0))
    epipolar = epipolar_distance(pair, pts0, pts1)
    if rule == EPIPOLAR:
        return epipolar
    errors = match_reprojection_errors(pts0, pts1, DepthWarp.from_pair(pair))
    return np.where(np.isinf(errors), epipolar, errors)


def epipolar_distance(pair: PosePair, pts0: np.ndarray, pts1: np.ndarray) -> np.ndarray:
    """(M,) symmetric epipolar distance of (M, 2) matches under the pair's true pose, in pixels
    (distance in normalised, undistorted coordinates times the mean focal length)."""
    n0 = np.column_stack([normalized_image_points(pts0, pair.K0, pair.D0), np.ones(len(pts0))])
    n1 = np.column_stack([normalized_image_points(pts1, pair.K1, pair.D1), np.ones(len(pts1))])
    tx, ty, tz = np.asarray(pair.t, np.float64).ravel()
    E = np.array([[0.0, -tz, ty], [tz, 0.0, -tx], [-ty, tx, 0.0]]) @ pair.R
    lines1, lines0 = n0 @ E.T, n1 @ E  # epipolar lines in image 1 and image 0
    algebraic = np.abs(np.sum(n1 * lines1, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = algebraic / np.linalg.norm(lines1[:, :2], axis=1) * np.mean(np.diag(pair.K1)[:2])
        d0 = algebraic / np.linalg.norm(lines0[:, :2], axis=1) * np.mean(np.diag(pair.K0)[:2])
    distance = np.maximum(d0, d1)
    return np.where(np.isnan(distance), np.inf, distance)


def label_matches(pair: HomographyPair | PosePair, pts0: np.ndarray, pts1: np.ndarray,
                  threshold_px: float = CORRECT_PX) -> MatchTruth | None:
    """Correct/wrong label of every match by ground truth; None when the pair has none."""
    if not threshold_px > 0:
        raise ValueError(f"threshold_px must be > 0, got {threshold_px}")
    rule = truth_rule(pair)
    if rule is None:
        return None
    pts0, pts1 = (np.asarray(p, np.float64).reshape(-1, 2) for p in (pts0, pts1))
    errors = match_errors(pair, pts0, pts1)
    return MatchTruth(errors <= threshold_px, float(threshold_px), rule)
