import cv2
import numpy as np
import pytest

from cvlearned.evaluation.metrics.repeatability import matching_score, repeatability, shared_region_masks
from cvlearned.evaluation.warps import DepthWarp, HomographyWarp

# image 1 = image 0 shifted right by 20 px; both 100 x 100.
WARP = HomographyWarp(np.array([[1.0, 0, 20], [0, 1, 0], [0, 0, 1]]), (100, 100), (100, 100))
KPTS0 = np.array([[10.0, 10], [30, 40], [60, 50], [90, 20]])  # last -> x=110, outside image 1
# warped kpts0: (30,10), (50,40), (80,50)
KPTS1 = np.array([[31.0, 10], [50, 44], [80, 50], [5, 5]])  # last -> x=-15, outside image 0


def test_shared_region():
    v0, v1 = shared_region_masks(KPTS0, KPTS1, WARP)
    np.testing.assert_array_equal(v0, [True, True, True, False])
    np.testing.assert_array_equal(v1, [True, True, True, False])


def test_repeatability_hand_computed():
    # eps=3: kpts0 repeated: #0 (d=1), #2 (d=0); kpts1 repeated: #0, #2 -> (2 + 2) / (3 + 3)
    assert repeatability(KPTS0, KPTS1, WARP, eps=3) == pytest.approx(4 / 6)
    assert repeatability(KPTS0, KPTS1, WARP, eps=4) == pytest.approx(1.0)
    assert repeatability(KPTS0, KPTS1, WARP, eps=0.5) == pytest.approx(2 / 6)
    # asymmetric counts: two image-1 points near one warped image-0 point
    k1 = np.array([[30.0, 10], [31.0, 11]])
    # c0 = 1 (of 3), c1 = 2 (of 2)
    assert repeatability(KPTS0, k1, WARP, eps=2) == pytest.approx(3 / 5)
    assert repeatability(np.zeros((0, 2)), np.array([[-50.0, 0]]), WARP) == 0.0


def test_repeatability_keypoint_objects_and_depth_warp():
    kps0 = [cv2.KeyPoint(float(x), float(y), 4.0) for x, y in KPTS0]
    kps1 = [cv2.KeyPoint(float(x), float(y), 4.0) for x, y in KPTS1]
    assert repeatability(kps0, kps1, WARP, eps=3) == pytest.approx(4 / 6)
    K = np.array([[100.0, 0, 49.5], [0, 100, 49.5], [0, 0, 1]])
    depth = np.full((100, 100), 2.0, np.float32)
    ident = DepthWarp(depth, depth, K, K, np.eye(3), np.zeros(3))
    assert repeatability(KPTS0, KPTS0 + [0.5, 0], ident, eps=1) == pytest.approx(1.0)


def test_matching_score_hand_computed():
    matches = np.array([[0, 0], [1, 1], [2, 2], [3, 3]])
    # correct: (0,0) d=1, (2,2) d=0; (1,1) d=4 wrong; (3,3) transfer invalid. Denominator (3+3)/2.
    assert matching_score(KPTS0, KPTS1, matches, WARP, threshold=3) == pytest.approx(2 / 3)
    assert matching_score(KPTS0, KPTS1, matches, WARP, threshold=5) == pytest.approx(1.0)
    assert matching_score(KPTS0, KPTS1, np.array([[0, 2], [2, 0]]), WARP) == 0.0
    assert matching_score(KPTS0, KPTS1, np.zeros((0, 2), int), WARP) == 0.0
    # denominator uses the mean of the shared counts: 3 and 1 -> 2
    assert matching_score(KPTS0, KPTS1[:1], np.array([[0, 0]]), WARP) == pytest.approx(0.5)
