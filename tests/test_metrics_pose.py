import cv2
import numpy as np
import pytest

import cvlearned.evaluation.metrics.pose as pose_mod
from cvlearned.evaluation.metrics.pose import (
    PoseErrors,
    estimate_relative_pose,
    pose_auc,
    rotation_error_deg,
    summarize_pose_errors,
    translation_error_deg,
)


def rot(axis, deg):
    axis = np.asarray(axis, np.float64)
    return cv2.Rodrigues(axis / np.linalg.norm(axis) * np.radians(deg))[0]


def test_rotation_error_known_angle():
    R = rot([1, 2, 3], 10)
    assert rotation_error_deg(R, np.eye(3)) == pytest.approx(10, abs=1e-6)
    assert rotation_error_deg(np.eye(3), R) == pytest.approx(10, abs=1e-6)
    assert rotation_error_deg(R, R) == pytest.approx(0, abs=1e-5)
    assert rotation_error_deg(rot([0, 0, 1], 180), np.eye(3)) == pytest.approx(180)


def test_translation_error():
    assert translation_error_deg([1, 0, 0], [0, 2, 0]) == pytest.approx(90)
    assert translation_error_deg([1, 0, 0], [-3, 0, 0]) == pytest.approx(180)
    assert translation_error_deg([1, 1, 0], [5, 5, 0]) == pytest.approx(0, abs=1e-6)
    assert translation_error_deg([1, 0, 0], [1, 1, 0]) == pytest.approx(45)
    with pytest.raises(ValueError):
        translation_error_deg([1, 0, 0], [0, 0, 0])


def test_pose_auc_hand_computed():
    # errors [0, 10, inf], N = 3: recall curve (0,0) -> (0,1/3) -> (10,2/3); inf never reached.
    # @5: flat 1/3 on [0,5] -> 1/3. @10: errors strictly below 10 only -> flat 1/3 -> 1/3.
    # @20: 10*(1/3+2/3)/2 + 10*(2/3) = 5 + 20/3 -> /20 = 7/12.
    auc = pose_auc([0, 10, np.inf])
    assert auc[5] == pytest.approx(1 / 3)
    assert auc[10] == pytest.approx(1 / 3)
    assert auc[20] == pytest.approx(7 / 12)
    # errors [3, 1] @5: (0,0)-(1,.5)-(3,1)-(5,1): 0.25 + 1.5 + 2 = 3.75 -> 0.75
    assert pose_auc([3, 1], thresholds=(5,))[5] == pytest.approx(0.75)
    assert pose_auc([np.inf, np.nan])[5] == 0.0
    assert pose_auc([])[10] == 0.0
    assert pose_auc([0, 0, 0])[20] == pytest.approx(1.0)


def test_summarize_pose_errors():
    s = summarize_pose_errors([1, 2, np.inf], [3, 1, np.inf])
    assert s["num_pairs"] == 3 and s["num_failures"] == 1
    assert s["rot_mean_deg"] == pytest.approx(1.5) and s["rot_median_deg"] == pytest.approx(1.5)
    assert s["trans_mean_deg"] == pytest.approx(2.0) and s["trans_median_deg"] == pytest.approx(2.0)
    # max errors [3, 2, inf] @5: (0,0)-(2,1/3)-(3,2/3)-(5,2/3): 1/3 + 1/2 + 4/3 = 13/6 -> 13/30
    assert s["auc@5"] == pytest.approx(13 / 30)
    assert set(s) >= {"auc@5", "auc@10", "auc@20"}
    # NaN translation = undefined (pure rotation): pose error = rotation error.
    s = summarize_pose_errors([2.0], [np.nan])
    assert s["num_failures"] == 0 and np.isnan(s["trans_mean_deg"])
    assert s["auc@5"] == pytest.approx(pose_auc([2.0])[5])
    s = summarize_pose_errors([np.inf], [np.inf])
    assert s["num_failures"] == 1 and np.isnan(s["rot_mean_deg"]) and s["auc@20"] == 0.0


def make_scene(n=80, seed=0, D0=None, D1=None):
    rng = np.random.default_rng(seed)
    K0 = np.array([[500.0, 0, 319.5], [0, 510.0, 239.5], [0, 0, 1]])
    K1 = np.array([[450.0, 0, 300.0], [0, 455.0, 250.0], [0, 0, 1]])
    R = rot([0.2, 1.0, -0.1], 12)
    t = np.array([1.0, 0.1, 0.2])
    X0 = np.column_stack([rng.uniform(-3, 3, n), rng.uniform(-2, 2, n), rng.uniform(4, 10, n)])
    X1 = X0 @ R.T + t
    z = np.zeros(3)
    p0 = cv2.projectPoints(X0, z, z, K0, np.zeros(5) if D0 is None else D0)[0].reshape(-1, 2)
    p1 = cv2.projectPoints(X1, z, z, K1, np.zeros(5) if D1 is None else D1)[0].reshape(-1, 2)
    return p0, p1, K0, K1, R, t


@pytest.mark.parametrize("method", ["ransac", "magsac"])
def test_oracle_correspondences(method):
    p0, p1, K0, K1, R, t = make_scene()
    est = estimate_relative_pose(p0, p1, K0, K1, method=method)
    assert est is not None
    assert rotation_error_deg(est.R, R) < 1e-3
    assert translation_error_deg(est.t, t) < 1e-2
    assert np.linalg.norm(est.t) == pytest.approx(1.0)
    assert est.inliers.shape == (len(p0),) and est.num_inliers == len(p0)


@pytest.mark.parametrize("method", ["ransac", "magsac"])
def test_outliers_do_not_change_pose(method):
    p0, p1, K0, K1, R, t = make_scene(n=100, seed=1)
    rng = np.random.default_rng(2)
    p1 = p1.copy()
    p1[:25] = rng.uniform([0, 0], [640, 480], (25, 2))  # 25% gross outliers
    est = estimate_relative_pose(p0, p1, K0, K1, method=method)
    assert est is not None
    # MAGSAC's sigma-consensus weighting leaves a tiny residual bias: ~1e-3 deg.
    assert rotation_error_deg(est.R, R) < 1e-2
    assert translation_error_deg(est.t, t) < 1e-2
    assert est.inliers[25:].all() and est.inliers[:25].sum() <= 2


def test_known_perturbation_of_ground_truth():
    p0, p1, K0, K1, R, t = make_scene()
    est = estimate_relative_pose(p0, p1, K0, K1)
    assert rotation_error_deg(est.R, rot([0, 1, 1], 2.0) @ R) == pytest.approx(2.0, abs=1e-3)
    assert translation_error_deg(est.t, rot([0, 0, 1], 7.0) @ t) == pytest.approx(
        translation_error_deg(t, rot([0, 0, 1], 7.0) @ t), abs=1e-2)


def test_distortion_handled():
    D0 = np.array([-0.15, 0.03, 0.0005, -0.0004, 0.0])
    D1 = np.array([0.1, -0.02, 0.0, 0.0, 0.0])
    p0, p1, K0, K1, R, t = make_scene(D0=D0, D1=D1)
    est = estimate_relative_pose(p0, p1, K0, K1, D0=D0, D1=D1)
    assert rotation_error_deg(est.R, R) < 1e-3 and translation_error_deg(est.t, t) < 1e-2


def test_too_few_points_and_bad_method():
    p0, p1, K0, K1, _, _ = make_scene(n=4)
    assert estimate_relative_pose(p0, p1, K0, K1) is None
    with pytest.raises(ValueError):
        estimate_relative_pose(p0, p1, K0, K1, method="lmeds")


def test_stacked_solutions_pick_most_cheiral(monkeypatch):
    p0, p1, K0, K1, R, t = make_scene()
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    E_true = tx @ R
    R_bad = rot([1, 0, 0], 40)
    t_bad = np.array([0.0, 0.0, 1.0])
    E_bad = np.array([[0, -t_bad[2], t_bad[1]], [t_bad[2], 0, -t_bad[0]], [-t_bad[1], t_bad[0], 0]]) @ R_bad
    n = len(p0)

    def fake(*args, **kwargs):
        return np.vstack([E_bad, E_true / np.linalg.norm(E_true)]), np.ones((n, 1), np.uint8)

    monkeypatch.setattr(pose_mod.cv2, "findEssentialMat", fake)
    est = estimate_relative_pose(p0, p1, K0, K1)
    assert rotation_error_deg(est.R, R) < 1e-6 and translation_error_deg(est.t, t) < 1e-6


def test_pose_errors_accumulator():
    acc = PoseErrors()
    p0, p1, K0, K1, R, t = make_scene()
    acc.add_estimate(estimate_relative_pose(p0, p1, K0, K1), R, t)
    acc.add_estimate(None, R, t)
    acc.add(3.0, 4.0)
    assert len(acc) == 3
    s = acc.summary()
    assert s["num_pairs"] == 3 and s["num_failures"] == 1
    assert s["rot_median_deg"] == pytest.approx(1.5, abs=1e-3)
