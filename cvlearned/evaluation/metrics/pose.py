"""Relative-pose metrics: angular errors, essential-matrix pose estimation, pose AUC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import ArrayLike

from cvlearned.cv_compat import normalized_image_points

__all__ = [
    "RelativePose",
    "PoseErrors",
    "rotation_error_deg",
    "translation_error_deg",
    "estimate_relative_pose",
    "pose_auc",
    "pose_error",
    "run_aucs",
    "summarize_pose_errors",
]


def rotation_error_deg(R_est: np.ndarray, R_gt: np.ndarray) -> float:
    """Angle of ``R_est^T @ R_gt`` in degrees: ``arccos((tr(R_est^T R_gt) - 1) / 2)``, in [0, 180]."""
    R_est = np.asarray(R_est, dtype=np.float64).reshape(3, 3)
    R_gt = np.asarray(R_gt, dtype=np.float64).reshape(3, 3)
    cos = (np.trace(R_est.T @ R_gt) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def translation_error_deg(t_est: np.ndarray, t_gt: np.ndarray) -> float:
    """Angle in degrees, in [0, 180], between the directions of ``t_est`` and ``t_gt``.

    This is the plain angle (no sign folding): ``recoverPose`` already fixes the sign of
    the translation by the cheirality check. The direction of a (near-)zero translation
    is undefined, so pure-rotation pairs must be excluded from this metric: a ValueError
    is raised when either norm is below 1e-12.
    """
    t_est = np.asarray(t_est, dtype=np.float64).ravel()
    t_gt = np.asarray(t_gt, dtype=np.float64).ravel()
    n_est, n_gt = np.linalg.norm(t_est), np.linalg.norm(t_gt)
    if not n_gt > 1e-12:
        raise ValueError("ground-truth translation is ~zero: its direction is undefined")
    if not n_est > 1e-12:
        raise ValueError("estimated translation is ~zero: its direction is undefined")
    # atan2(|a x b|, a.b) is the same angle as arccos of the cosine, but exact near 0 and 180.
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(t_est, t_gt)), float(t_est @ t_gt))))


@dataclass(frozen=True)
class RelativePose:
    """Estimated relative pose ``X1 = R @ X0 + t`` (t has unit norm)."""

    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,) unit vector
    inliers: np.ndarray  # (N,) bool, RANSAC inliers of the chosen essential matrix
    num_inliers: int


_METHODS = {"ransac": cv2.RANSAC, "magsac": cv2.USAC_MAGSAC}


def _normalise(pts: np.ndarray, K: np.ndarray, D: np.ndarray | None) -> np.ndarray:
    """(N, 2) pixels -> (N, 2) normalised camera coordinates (undistorted when D is given)."""
    return normalized_image_points(pts, K, D)


def estimate_relative_pose(
    pts0: np.ndarray,
    pts1: np.ndarray,
    K0: np.ndarray,
    K1: np.ndarray,
    *,
    method: str = "ransac",
    threshold_px: float = 1.0,
    confidence: float = 0.99999,
    D0: np.ndarray | None = None,
    D1: np.ndarray | None = None,
) -> RelativePose | None:
    """Relative pose from matched pixels via a robust essential matrix.

    Points are normalised (``cv2.undistortPoints`` when distortion is given, else K^-1),
    ``cv2.findEssentialMat`` runs with focal 1 / principal point (0, 0) and threshold
    ``threshold_px / mean(fx0, fy0, fx1, fy1)``, and ``cv2.recoverPose`` picks the
    cheirality-consistent decomposition. When several essential matrices are returned
    (stacked 3x3 blocks) the one with the most cheirality inliers is kept.

    Args:
        pts0, pts1: (N, 2) matched pixel coordinates in images 0 and 1.
        K0, K1: (3, 3) intrinsics. D0, D1: optional distortion coefficients.
        method: "ransac" (``cv2.RANSAC``) or "magsac" (``cv2.USAC_MAGSAC``).

    Returns:
        A ``RelativePose`` or None if N < 5 or estimation fails.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    pts0 = np.asarray(pts0, dtype=np.float64).reshape(-1, 2)
    pts1 = np.asarray(pts1, dtype=np.float64).reshape(-1, 2)
    if len(pts0) != len(pts1):
        raise ValueError(f"point counts differ: {len(pts0)} vs {len(pts1)}")
    if len(pts0) < 5:
        return None
    K0 = np.asarray(K0, dtype=np.float64).reshape(3, 3)
    K1 = np.asarray(K1, dtype=np.float64).reshape(3, 3)
    n0, n1 = _normalise(pts0, K0, D0), _normalise(pts1, K1, D1)
    thr = threshold_px / float(np.mean([K0[0, 0], K0[1, 1], K1[0, 0], K1[1, 1]]))
    try:
        E, mask = cv2.findEssentialMat(n0, n1, focal=1.0, pp=(0.0, 0.0), method=_METHODS[method],
                                       prob=confidence, threshold=thr)
    except cv2.error:
        return None
    if E is None or mask is None or E.shape[0] < 3 or E.shape[1] != 3:
        return None
    inliers = mask.ravel() > 0
    best = None
    for k in range(E.shape[0] // 3):
        Ek = np.ascontiguousarray(E[3 * k:3 * k + 3])
        try:
            # distanceThresh: OpenCV's short overload drops points beyond 50 baselines from
            # the cheirality vote, which makes the choice arbitrary on deep scenes.
            n_good, R, t, _, _ = cv2.recoverPose(
                E=Ek, points1=n0, points2=n1, cameraMatrix=np.eye(3), distanceThresh=1e9, mask=mask.copy()
            )
        except cv2.error:
            continue
        if best is None or n_good > best[0]:
            best = (n_good, R, t)
    if best is None or not np.all(np.isfinite(best[1])):
        return None
    t = best[2].ravel()
    t = t / np.linalg.norm(t)
    return RelativePose(R=best[1].astype(np.float64), t=t, inliers=inliers, num_inliers=int(inliers.sum()))


def pose_auc(errors: Sequence[float] | np.ndarray, thresholds: Sequence[float] = (5, 10, 20)) -> dict[float, float]:
    """Area under the recall-vs-error curve up to each threshold, divided by it (SuperGlue protocol).

    Errors (N,) in degrees are sorted; the recall curve passes through (0, 0) and
    (e_i, i / N) and is integrated with the trapezoid rule over errors strictly below the
    threshold, then held flat up to the threshold. Failures are passed as ``np.inf`` (NaN is
    treated as a failure too) and count in the denominator N. Returns {threshold: auc in [0, 1]}.
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    return {thr: float(run_aucs(e[:, None], thr)[0]) if len(e) else 0.0 for thr in thresholds}


def run_aucs(errors: np.ndarray, threshold: float) -> np.ndarray:
    """(..., pairs, runs) pose errors → (..., runs): each RANSAC run's AUC over the pairs.

    The AUC of :func:`pose_auc` (recall curve through (0, 0) and (e_i, i / n), flat from the
    last error below the threshold to it; NaN counts as a failure), over leading axes at once.
    """
    e = np.sort(np.where(np.isnan(errors), np.inf, errors), axis=-2)
    n = e.shape[-2]
    below = e < threshold
    reached = below.sum(axis=-2, keepdims=True) / n  # recall at the threshold
    rank = (np.arange(1, n + 1, dtype=np.float64) / n)[:, None]
    y = np.where(below, rank, reached)
    x = np.minimum(e, threshold)
    zeros = np.zeros_like(reached)
    x = np.concatenate([zeros, x, zeros + threshold], axis=-2)
    y = np.concatenate([zeros, y, reached], axis=-2)
    area = np.sum(np.diff(x, axis=-2) * (y[..., 1:, :] + y[..., :-1, :]) / 2.0, axis=-2)
    return area / threshold


def pose_error(rot_errs: ArrayLike, trans_errs: ArrayLike) -> np.ndarray:
    """Per-pair pose error in degrees (same shape as the inputs): ``max(rot, trans)``; the
    rotation error alone where translation is undefined (NaN, pure rotation); inf where
    either is inf (failure) or the rotation is NaN. This is the error the AUCs integrate."""
    rot = np.asarray(rot_errs, dtype=np.float64)
    trans = np.asarray(trans_errs, dtype=np.float64)
    rot = np.where(np.isnan(rot), np.inf, rot)
    failed = np.isinf(rot) | np.isinf(trans)
    return np.where(failed, np.inf, np.where(np.isnan(trans), rot, np.fmax(rot, trans)))


def summarize_pose_errors(
    rot_errs: Sequence[float] | np.ndarray,
    trans_errs: Sequence[float] | np.ndarray,
    thresholds: Sequence[float] = (5, 10, 20),
) -> dict[str, float]:
    """Summary statistics of per-pair pose errors (degrees).

    A pair failed when either error is +inf. A NaN translation error means "undefined"
    (pure rotation): the pair's pose error is then its rotation error alone and it is left
    out of the translation mean/median. Means/medians are over successful pairs (NaN if
    none). AUCs use ``max(rot, trans)`` with failures as inf.

    Returns keys: num_pairs, num_failures, rot_mean_deg, rot_median_deg, trans_mean_deg,
    trans_median_deg and ``auc@{thr}`` for each threshold.
    """
    rot = np.asarray(rot_errs, dtype=np.float64).ravel()
    trans = np.asarray(trans_errs, dtype=np.float64).ravel()
    if rot.shape != trans.shape:
        raise ValueError(f"rot/trans lengths differ: {rot.shape} vs {trans.shape}")
    rot = np.where(np.isnan(rot), np.inf, rot)
    failed = np.isinf(rot) | np.isinf(trans)
    ok = ~failed
    pose_err = pose_error(rot, trans)
    trans_ok = trans[ok & ~np.isnan(trans)]

    def _stat(fn, v: np.ndarray) -> float:
        return float(fn(v)) if len(v) else float("nan")

    out: dict[str, float] = {
        "num_pairs": int(len(rot)),
        "num_failures": int(failed.sum()),
        "rot_mean_deg": _stat(np.mean, rot[ok]),
        "rot_median_deg": _stat(np.median, rot[ok]),
        "trans_mean_deg": _stat(np.mean, trans_ok),
        "trans_median_deg": _stat(np.median, trans_ok),
    }
    for thr, auc in pose_auc(pose_err, thresholds).items():
        out[f"auc@{thr:g}"] = auc
    return out


@dataclass
class PoseErrors:
    """Accumulates per-pair pose errors (degrees); ``summary()`` gives ``summarize_pose_errors``."""

    rot_errs: list[float] = field(default_factory=list)
    trans_errs: list[float] = field(default_factory=list)

    def add(self, rot_err: float, trans_err: float) -> None:
        """Record one pair (inf = failure, NaN translation = undefined)."""
        self.rot_errs.append(float(rot_err))
        self.trans_errs.append(float(trans_err))

    def add_failure(self) -> None:
        self.add(np.inf, np.inf)

    def add_estimate(self, pose: RelativePose | None, R_gt: np.ndarray, t_gt: np.ndarray) -> None:
        """Record an estimate (None = failure); a ~zero ``t_gt`` gives an undefined (NaN) translation error."""
        if pose is None:
            self.add_failure()
            return
        rot = rotation_error_deg(pose.R, R_gt)
        trans = translation_error_deg(pose.t, t_gt) if np.linalg.norm(t_gt) > 1e-12 else float("nan")
        self.add(rot, trans)

    def __len__(self) -> int:
        return len(self.rot_errs)

    def summary(self, thresholds: Sequence[float] = (5, 10, 20)) -> dict[str, float]:
        return summarize_pose_errors(self.rot_errs, self.trans_errs, thresholds)
