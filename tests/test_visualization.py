"""Match pictures: ground-truth labels of matches, line colours, captions, grids, bench pictures."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from cvlearned.cli import main
from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.bench_pictures import PANEL_COLUMNS, PANEL_WIDTH
from cvlearned.evaluation.match_truth import DEPTH, EPIPOLAR, HOMOGRAPHY, epipolar_distance, label_matches
from cvlearned.visualization import GREEN, RED, caption, draw_matches, tile

K = np.array([[200.0, 0.0, 99.5], [0.0, 200.0, 79.5], [0.0, 0.0, 1.0]])
IMAGE = np.zeros((160, 200, 3), np.uint8)


def _plane_pair(depth: bool) -> PosePair:
    """Camera 2 moved 0.5 to the right of camera 1 (X2 = X1 - (0.5, 0, 0)), both facing a wall at z = 4."""
    wall = np.full(IMAGE.shape[:2], 4.0, np.float32) if depth else None
    return PosePair("wall", IMAGE, IMAGE, K, K, np.eye(3), np.array([-0.5, 0.0, 0.0]), depth0=wall, depth1=wall)


def test_homography_labels():
    H = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, -5.0], [0.0, 0.0, 1.0]])
    pair = HomographyPair("shift", IMAGE, IMAGE, H)
    pts0 = np.array([[20.0, 30.0], [50.0, 60.0], [70.0, 20.0]])
    pts1 = pts0 + [10.0, -5.0] + [[0.0, 0.0], [2.0, 2.0], [4.0, 0.0]]  # errors 0, 2.83, 4 px
    truth = label_matches(pair, pts0, pts1, threshold_px=3.0)
    assert truth.rule == HOMOGRAPHY and truth.correct.tolist() == [True, True, False]


def test_depth_labels_catch_matches_along_the_epipolar_line():
    pts0 = np.array([[50.0, 40.0], [120.0, 100.0], [80.0, 60.0]])
    true1 = pts0 - [200.0 * 0.5 / 4.0, 0.0]  # disparity f * baseline / depth = 25 px
    pts1 = true1 + [[1.0, 0.0], [15.0, 0.0], [0.0, 6.0]]  # right, 15 px along the epipolar line, 6 px off it
    with_depth = label_matches(_plane_pair(depth=True), pts0, pts1)
    assert with_depth.rule == DEPTH and with_depth.correct.tolist() == [True, False, False]
    pose_only = label_matches(_plane_pair(depth=False), pts0, pts1)
    assert pose_only.rule == EPIPOLAR and pose_only.correct.tolist() == [True, True, False]
    assert np.allclose(epipolar_distance(_plane_pair(depth=False), pts0, pts1), [0.0, 0.0, 6.0], atol=1e-9)


def test_no_ground_truth_and_bad_threshold():
    unknown = PosePair("user", IMAGE, IMAGE, K, K, np.full((3, 3), np.nan), np.full(3, np.nan))
    assert label_matches(unknown, np.zeros((2, 2)), np.zeros((2, 2))) is None
    with pytest.raises(ValueError, match="threshold_px"):
        label_matches(_plane_pair(depth=False), np.zeros((2, 2)), np.zeros((2, 2)), threshold_px=0)


def _keypoints(points: list[tuple[float, float]]) -> list[cv2.KeyPoint]:
    return [cv2.KeyPoint(x, y, 5.0) for x, y in points]


def test_line_colours_and_subset_note():
    kp0, kp1 = _keypoints([(20, 20), (20, 140)]), _keypoints([(180, 20), (180, 140)])
    matches = np.array([[0, 0], [1, 1]])
    canvas = draw_matches(IMAGE, kp0, IMAGE, kp1, matches, np.array([True, False]), title="t")
    top = caption(["t"], 400).shape[0]
    assert canvas.shape == (top + 160, 400, 3)
    assert np.argmax(canvas[top + 20, 200]) == np.argmax(GREEN) and np.argmax(canvas[top + 140, 200]) == np.argmax(RED)
    assert canvas[top + 80, 200].max() == 0  # no line between them
    subset = draw_matches(IMAGE, kp0, IMAGE, kp1, matches, np.array([True, False]), title="t", max_lines=1)
    assert subset.shape[0] == caption(["t", "showing 1 of 2"], 400).shape[0] + 160
    half = draw_matches(IMAGE, kp0, IMAGE, kp1, matches, title="t", width=200)
    assert half.shape == (top + 80, 200, 3)
    with pytest.raises(ValueError, match="correct"):
        draw_matches(IMAGE, kp0, IMAGE, kp1, matches, np.array([True]))


def test_tile_grid_size():
    panels = [np.zeros((100, 200, 3), np.uint8)] * 4 + [np.zeros((50, 150, 3), np.uint8)]
    grid = tile(panels, columns=2, header=["title"], pad=6)
    rows_h = 100 + 100 + 50  # each row as high as its tallest panel
    assert grid.shape == (caption(["title"], 10, font_scale=0.7).shape[0] + rows_h + 2 * 6, 2 * 200 + 6, 3)
    with pytest.raises(ValueError, match="columns"):
        tile(panels, columns=0)


def test_bench_pictures_show_several_pairs(tmp_path):
    out = tmp_path / "bench"
    args = ["bench", "--features", "sift", "--dataset", "synthetic-homography", "--max-pairs", "3",
            "--size", "320x240", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    picture = cv2.imread(str(out / "matches_sift.jpg"))
    assert picture.shape[1] == PANEL_COLUMNS * PANEL_WIDTH + 6
    pairs = json.loads((out / "results.json").read_text())["results"]["sift"]["pairs"]
    panel_image_h = 240 * PANEL_WIDTH // (2 * 320)  # both 320x240 images side by side, scaled to PANEL_WIDTH
    assert len(pairs) == 3 and 2 * panel_image_h < picture.shape[0] < 3 * panel_image_h  # 3 pairs: two rows
