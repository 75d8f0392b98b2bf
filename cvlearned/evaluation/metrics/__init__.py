"""Evaluation metrics: pose, paired pose-AUC differences, PCK, homography/MMA, repeatability/matching
score, timing."""

from cvlearned.evaluation.metrics.homography import (
    estimate_homography,
    homography_accuracy,
    homography_corner_error,
    match_reprojection_errors,
    mean_matching_accuracy,
)
from cvlearned.evaluation.metrics.paired_auc import AUCDifference, paired_auc_difference
from cvlearned.evaluation.metrics.pck import dense_nn_pck, dense_nn_predict, pck, pck_curve, sparse_nn_pck
from cvlearned.evaluation.metrics.pose import (
    PoseErrors,
    RelativePose,
    estimate_relative_pose,
    pose_auc,
    pose_error,
    rotation_error_deg,
    run_aucs,
    summarize_pose_errors,
    translation_error_deg,
)
from cvlearned.evaluation.metrics.repeatability import matching_score, repeatability, shared_region_masks
from cvlearned.evaluation.metrics.timing import TimingStats, time_call

__all__ = [
    "AUCDifference",
    "PoseErrors",
    "RelativePose",
    "TimingStats",
    "dense_nn_pck",
    "dense_nn_predict",
    "estimate_homography",
    "estimate_relative_pose",
    "homography_accuracy",
    "homography_corner_error",
    "match_reprojection_errors",
    "matching_score",
    "mean_matching_accuracy",
    "paired_auc_difference",
    "pck",
    "pck_curve",
    "pose_auc",
    "pose_error",
    "repeatability",
    "rotation_error_deg",
    "run_aucs",
    "shared_region_masks",
    "sparse_nn_pck",
    "summarize_pose_errors",
    "time_call",
    "translation_error_deg",
]
