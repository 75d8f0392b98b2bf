import cv2
import numpy as np
import pytest

from cvlearned.evaluation.metrics.homography import (
    estimate_homography,
    homography_accuracy,
    homography_corner_error,
    match_reprojection_errors,
    mean_matching_accuracy,
)
from cvlearned.evaluation.warps import HomographyWarp

T = np.array([[1.0, 0, 2], [0, 1, 0], [0, 0, 1]])  # shift x by 2


def test_mma_hand_computed():
    pts0 = np.array([[10.0, 10], [20, 20], [30, 30], [40, 40], [-50, 5]])
    errs = np.array([[0, 0], [0.5, 0], [0, -1.5], [1.5, 2.0], [0, 0]])  # 0, .5, 1.5, 2.5, 0 (outside image)
    pts1 = pts0 + [2, 0] + errs
    warp = HomographyWarp(T, (64, 64), (64, 64))
    np.testing.assert_allclose(match_reprojection_errors(pts0, pts1, warp), [0, 0.5, 1.5, 2.5, 0])
    mma = mean_matching_accuracy(pts0, pts1, warp)
    np.testing.assert_allclose(mma, [0.6, 0.8, 1, 1, 1, 1, 1, 1, 1, 1])  # all matches count (D2-Net)
    np.testing.assert_allclose(mean_matching_accuracy(pts0, pts1, T, thresholds=[1, 2]), [0.6, 0.8])


def test_mma_no_matches():
    np.testing.assert_array_equal(mean_matching_accuracy(np.zeros((0, 2)), np.zeros((0, 2)), T), np.zeros(10))


class HalfValidWarp:
    def forward(self, pts):
        return pts.copy(), np.arange(len(pts)) % 2 == 0

    def backward(self, pts):
        return self.forward(pts)


def test_mma_generic_warp_invalid_is_incorrect():
    pts = np.array([[1.0, 1], [2, 2], [3, 3], [4, 4]])
    np.testing.assert_allclose(mean_matching_accuracy(pts, pts, HalfValidWarp(), thresholds=[1]), [0.5])


def test_estimate_homography_exact():
    Hgt = np.array([[0.9, 0.05, 12.0], [-0.04, 1.1, -7.0], [2e-4, 1e-4, 1.0]])
    rng = np.random.default_rng(0)
    pts0 = rng.uniform(0, 200, (40, 2))
    pts1 = cv2.perspectiveTransform(pts0[None], Hgt)[0]
    pts1[:8] += rng.uniform(30, 60, (8, 2))  # outliers
    H = estimate_homography(pts0, pts1)
    assert H is not None and H[2, 2] == pytest.approx(1.0)
    assert homography_corner_error(H, Hgt, (200, 200)) < 1e-4
    assert estimate_homography(pts0[:3], pts1[:3]) is None


def test_corner_error():
    Ht = np.array([[1.0, 0, 3], [0, 1, 4], [0, 0, 1]])
    assert homography_corner_error(Ht, np.eye(3), (640, 480)) == pytest.approx(5.0)
    # scale 2 about the origin, size (11, 11): corner offsets 0, 10, 10*sqrt(2), 10
    S = np.diag([2.0, 2.0, 1.0])
    assert homography_corner_error(S, np.eye(3), (11, 11)) == pytest.approx((20 + 10 * np.sqrt(2)) / 4)
    assert homography_corner_error(None, np.eye(3), (11, 11)) == np.inf


def test_homography_accuracy():
    acc = homography_accuracy([0.5, 2.0, 4.0, np.inf])
    assert acc == {1: 0.25, 3: 0.5, 5: 0.75}
    assert homography_accuracy([3.0, np.nan], thresholds=(3,)) == {3: 0.5}
    assert homography_accuracy([]) == {1: 0.0, 3: 0.0, 5: 0.0}
