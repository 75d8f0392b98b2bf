"""Dense-correspondence PCK protocol (cvlearned.evaluation.dense_pck)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import cvlearned
from cvlearned.evaluation.dense_pck import (
    DENSE_STRIDE, dense_map, dense_pck_pair, evaluate_dense_pck, grid_query_points, sparse_pck_pair,
)
from cvlearned.datasets.types import HomographyPair
from cvlearned.evaluation.warps import HomographyWarp

THRESHOLDS = np.array([1.0, 2.0, 5.0, 10.0])


@pytest.fixture(scope="module")
def small_gray(photo_gray):
    return np.ascontiguousarray(photo_gray[40:136, 60:188])  # 128 x 96


def test_grid_query_points_stay_inside_the_border():
    pts = grid_query_points(64, 48, step=8, border=8)
    assert pts.dtype == np.int64 and pts.shape == (4 * 6, 2)
    assert pts[:, 0].min() == 8 and pts[:, 0].max() == 48 and pts[:, 1].max() == 32


def test_classical_dense_map_layout_matches_compute_at_cell_centres(small_gray):
    daisy = cvlearned.create("daisy")
    fmap = dense_map(daisy, small_gray)
    assert fmap.shape == (96 // DENSE_STRIDE, 128 // DENSE_STRIDE, daisy.descriptorSize())
    i, j = 10, 17
    kp = cv2.KeyPoint(j * DENSE_STRIDE + 1.5, i * DENSE_STRIDE + 1.5, 16.0, 0.0)
    _, desc = daisy.compute(small_gray, [kp])
    np.testing.assert_allclose(fmap[i, j], desc[0], atol=1e-6)


def test_identity_pair_is_matched_to_the_own_cell(small_gray):
    sift = cvlearned.create("sift")
    fmap = dense_map(sift, small_gray)
    warp = HomographyWarp(np.eye(3), (128, 96), (128, 96))
    values, n = dense_pck_pair(fmap, fmap, warp, THRESHOLDS, (128, 96))
    # every query sits at a location centre and its own location is an exact match
    assert n == len(grid_query_points(128, 96)) and values[0] == pytest.approx(1.0)


def test_queries_without_ground_truth_are_left_out(small_gray):
    fmap = dense_map(cvlearned.create("daisy"), small_gray)
    shift = np.array([[1.0, 0, 200.0], [0, 1, 0], [0, 0, 1]])  # everything leaves image 1
    values, n = dense_pck_pair(fmap, fmap, HomographyWarp(shift, (128, 96), (128, 96)), THRESHOLDS, (128, 96))
    assert n == 0 and not values.any()


def test_sparse_pck_on_sift_keypoints_of_a_known_warp(homography_pair):
    image0, image1, H = homography_pair
    g0, g1 = cv2.cvtColor(image0, cv2.COLOR_BGR2GRAY), cv2.cvtColor(image1, cv2.COLOR_BGR2GRAY)
    sift = cvlearned.create("sift", max_keypoints=500)
    warp = HomographyWarp(H, g0.shape[::-1], g1.shape[::-1])
    good, n = sparse_pck_pair(sift, g0, g1, sift.detect(g0), sift.detect(g1), warp, THRESHOLDS)
    assert n > 100 and good[2] > 0.6
    wrong = HomographyWarp(np.eye(3), g0.shape[::-1], g1.shape[::-1])  # a false ground truth scores lower
    bad, _ = sparse_pck_pair(sift, g0, g1, sift.detect(g0), sift.detect(g1), wrong, THRESHOLDS)
    assert bad[2] < 0.5 * good[2]


def test_evaluate_dense_pck_reports_every_feature(homography_pair):
    image0, image1, H = homography_pair
    pair = HomographyPair("p", image0[:96, :128], cv2.warpPerspective(image0, H, (320, 240))[:96, :128], H)
    results = evaluate_dense_pck({"daisy": cvlearned.create("daisy")}, [pair], THRESHOLDS, progress=False)
    r = results["daisy"]
    assert r["pairs"] == 1 and len(r["dense"]) == len(THRESHOLDS) and r["dense_queries"] > 0
    assert np.all(np.diff(r["dense"]) >= 0) and np.all(np.diff(r["sparse_sift"]) >= 0)


def test_binary_descriptors_are_refused(small_gray):
    with pytest.raises(ValueError, match="binary"):
        dense_map(cvlearned.create("orb"), small_gray)
