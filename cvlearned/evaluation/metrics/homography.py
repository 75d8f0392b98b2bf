"""Homography metrics: mean matching accuracy (D2-Net/HPatches) and corner-error accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from cvlearned.evaluation.warps import HomographyWarp, Warp, as_points

__all__ = [
    "match_reprojection_errors",
    "mean_matching_accuracy",
    "estimate_homography",
    "homography_corner_error",
    "homography_accuracy",
]


def _project(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    ph = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ np.asarray(H, np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return ph[:, :2] / ph[:, 2:3]


def match_reprojection_errors(pts0: np.ndarray, pts1: np.ndarray, warp: Warp | np.ndarray) -> np.ndarray:
    """(M,) forward reprojection errors ``||warp(pts0) - pts1||`` in image-1 pixels.

    ``warp`` is a (3, 3) homography, a ``HomographyWarp`` or any other ``Warp``. For
    homographies the error is computed with H for every match, whether or not the point
    lands inside image 1 (D2-Net protocol). For other warps, matches whose transfer is
    invalid get an infinite error.
    """
    pts0, pts1 = as_points(pts0), as_points(pts1)
    if len(pts0) != len(pts1):
        raise ValueError(f"point counts differ: {len(pts0)} vs {len(pts1)}")
    if isinstance(warp, HomographyWarp):
        proj = _project(warp.H, pts0)
    elif isinstance(warp, np.ndarray):
        proj = _project(warp.reshape(3, 3), pts0)
    else:
        proj, valid = warp.forward(pts0)
        proj = np.where(valid[:, None], proj, np.inf)
    err = np.linalg.norm(proj - pts1, axis=1)
    return np.where(np.isfinite(err), err, np.inf)


def mean_matching_accuracy(
    pts0: np.ndarray,
    pts1: np.ndarray,
    warp: Warp | np.ndarray,
    thresholds: Sequence[float] = tuple(range(1, 11)),
) -> np.ndarray:
    """Mean matching accuracy (D2-Net): fraction of matches with reprojection error <= t.

    Args:
        pts0, pts1: (M, 2) matched points (image 0, image 1).
        warp: ground truth, see ``match_reprojection_errors`` (forward error; for
            homographies all matches count, none is discarded).
        thresholds: (T,) pixel thresholds (default 1..10).

    Returns:
        (T,) fractions; zeros when there are no matches (the match count is ``len(pts0)``,
        which callers should report alongside).
    """
    thr = np.asarray(list(thresholds), dtype=np.float64)
    err = match_reprojection_errors(pts0, pts1, warp)
    if len(err) == 0:
        return np.zeros(len(thr))
    return (err[:, None] <= thr[None, :]).mean(axis=0)


def estimate_homography(
    pts0: np.ndarray,
    pts1: np.ndarray,
    method: int = cv2.RANSAC,
    threshold_px: float = 3.0,
    *,
    confidence: float = 0.999,
    max_iters: int = 2000,
) -> np.ndarray | None:
    """Robust homography (3, 3), normalised to H[2, 2] = 1, or None (fewer than 4 matches / failure)."""
    pts0, pts1 = as_points(pts0), as_points(pts1)
    if len(pts0) != len(pts1):
        raise ValueError(f"point counts differ: {len(pts0)} vs {len(pts1)}")
    if len(pts0) < 4:
        return None
    try:
        H, _ = cv2.findHomography(pts0, pts1, method, threshold_px, maxIters=max_iters, confidence=confidence)
    except cv2.error:
        return None
    if H is None or H.shape != (3, 3) or not np.all(np.isfinite(H)) or abs(H[2, 2]) < 1e-12:
        return None
    return H / H[2, 2]


def homography_corner_error(H_est: np.ndarray | None, H_gt: np.ndarray, size: tuple[int, int]) -> float:
    """Mean distance (pixels) between the 4 image-0 corners mapped by ``H_est`` and by ``H_gt``.

    Corners follow the pixel-centre convention: (0, 0), (w-1, 0), (w-1, h-1), (0, h-1)
    with ``size = (w, h)`` of image 0. ``H_est=None`` (failure) gives ``inf``.
    """
    if H_est is None:
        return float("inf")
    w, h = size
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    err = np.linalg.norm(_project(H_est, corners) - _project(H_gt, corners), axis=1)
    err = float(np.mean(err))
    return err if np.isfinite(err) else float("inf")


def homography_accuracy(
    corner_errors: Sequence[float] | np.ndarray, thresholds: Sequence[float] = (1, 3, 5)
) -> dict[float, float]:
    """Fraction of pairs with corner error <= each threshold; failures are inf (NaN counts as failure).

    Returns {threshold: fraction} (0 for an empty input).
    """
    e = np.asarray(corner_errors, dtype=np.float64).ravel()
    e = np.where(np.isnan(e), np.inf, e)
    return {thr: float(np.mean(e <= thr)) if len(e) else 0.0 for thr in thresholds}
