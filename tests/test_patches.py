"""Patch extraction equals the reference cv2.warpAffine crop of the same affine frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from cvlearned.patches import (
    build_pyramid,
    extract_patches,
    frame_at_level,
    keypoint_frames,
    pyramid_levels,
    warp_affine_reference,
)


@pytest.fixture(scope="module")
def gray() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)


KEYPOINTS = [
    cv2.KeyPoint(200.3, 150.7, 5.0, -1),  # upright, level 0
    cv2.KeyPoint(250.0, 300.0, 5.3, 37.0),  # rotated, level 0
    cv2.KeyPoint(10.0, 12.0, 4.0, 137.0),  # partly outside the image
    cv2.KeyPoint(256.5, 256.5, 12.0, 300.0),  # level 1
    cv2.KeyPoint(250.0, 300.0, 40.0, 200.0),  # level 3
]


def test_patches_equal_warp_affine_reference(gray):
    pyramid = build_pyramid(gray)
    patches = extract_patches(pyramid, KEYPOINTS).numpy()
    assert patches.shape == (len(KEYPOINTS), 1, 32, 32) and patches.dtype == np.float32
    frames = keypoint_frames(KEYPOINTS)
    levels = pyramid_levels(frames, len(pyramid))
    assert list(levels) == [0, 0, 0, 1, 3]
    for i, level in enumerate(levels):
        reference = warp_affine_reference(pyramid[level], frame_at_level(frames[i : i + 1], level)[0])
        # OpenCV quantises sample positions to 1/32 px; intensities are 0..255
        assert np.abs(reference - patches[i, 0]).max() < 1.0
        assert np.abs(reference - patches[i, 0]).mean() < 0.1


def test_no_antialias_samples_level_zero(gray):
    frames = keypoint_frames(KEYPOINTS)
    patches = extract_patches(gray, KEYPOINTS, antialias=False).numpy()
    for i in range(len(KEYPOINTS)):
        reference = warp_affine_reference(gray.astype(np.float32), frames[i])
        assert np.abs(reference - patches[i, 0]).max() < 1.0


def test_frame_geometry_follows_opencv_conventions():
    # upright: patch centre ((P-1)/2) is the keypoint, step = patch_scale * size / P
    f = keypoint_frames([cv2.KeyPoint(100.0, 50.0, 16.0, -1)], patch_size=32, patch_scale=6.0)[0]
    assert np.allclose(f[:, :2], np.eye(2) * 3.0)
    assert np.allclose(f @ [15.5, 15.5, 1.0], [100.0, 50.0])
    # angle 90 (image coordinates, y down = clockwise on screen): the patch x-axis points
    # down the image, its y-axis points left
    f = keypoint_frames([cv2.KeyPoint(100.0, 50.0, 16.0, 90.0)], patch_size=32, patch_scale=6.0)[0]
    assert np.allclose(f[:, 0], [0.0, 3.0])
    assert np.allclose(f[:, 1], [-3.0, 0.0])


def test_rotated_image_gives_the_same_patch():
    # a 90-degree counter-clockwise (on screen) rotation of the image changes OpenCV angles
    # by -90 (SIFT's own angles do, see test_sift_angle_convention) -> same patch
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (101, 101)).astype(np.float32), (0, 0), 2.0)
    rot = cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)  # (x, y) -> (y, 100 - x)
    a = extract_patches(img, [cv2.KeyPoint(40.0, 60.0, 6.0, 0.0)]).numpy()
    b = extract_patches(rot, [cv2.KeyPoint(60.0, 60.0, 6.0, 270.0)]).numpy()
    assert np.abs(a - b).max() < 1e-2


def test_sift_angle_convention(gray):
    # the convention above is OpenCV's: SIFT angles change by -90 (mod 360) under a 90-degree
    # counter-clockwise image rotation
    sift = cv2.SIFT_create(300)
    k0, d0 = sift.detectAndCompute(gray, None)
    k1, d1 = sift.detectAndCompute(cv2.rotate(gray, cv2.ROTATE_90_COUNTERCLOCKWISE), None)
    matches = cv2.BFMatcher(cv2.NORM_L2, crossCheck=True).match(d0, d1)
    diffs = np.array([(k1[m.trainIdx].angle - k0[m.queryIdx].angle) % 360 for m in matches])
    assert np.mean(np.abs(diffs - 270) < 10) > 0.8


def test_empty_keypoints(gray):
    assert extract_patches(gray, []).shape == (0, 1, 32, 32)
