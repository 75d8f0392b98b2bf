"""cvlearned.adapters.stitching: Feature2D output → cv2.detail.ImageFeatures for OpenCV's stitcher."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import cvlearned
from cvlearned.adapters.stitching import compute_image_features, image_features, to_image_features
from cvlearned.cv_compat import OPENCV_MAJOR


def _descriptors(features: cv2.detail.ImageFeatures) -> np.ndarray | None:
    return features.descriptors.get()


@pytest.mark.parametrize("name, dtype", [("sift", np.float32), ("orb", np.uint8)])
def test_fields_follow_detect_and_compute(photo_bgr: np.ndarray, name: str, dtype: type) -> None:
    feature = cvlearned.create(name)
    image = photo_bgr[:200]  # non-square: img_size must be (w, h)
    keypoints, descriptors = feature.detectAndCompute(image, None)
    features = image_features(feature, image, 3)
    assert isinstance(features, cv2.detail.ImageFeatures)
    assert features.img_idx == 3
    assert tuple(features.img_size) == (320, 200)
    assert [kp.pt for kp in features.keypoints] == [kp.pt for kp in keypoints]
    desc = _descriptors(features)
    assert desc.dtype == dtype  # float → float32 (KD-tree), binary stays uint8 (LSH)
    np.testing.assert_array_equal(desc, descriptors)


def test_descriptor_dtypes_follow_the_norm() -> None:
    kps = [cv2.KeyPoint(float(i), float(i), 8.0) for i in range(3)]
    f64 = to_image_features(kps, np.random.default_rng(0).random((3, 4)), (10, 10), 0, cv2.NORM_L2)
    assert _descriptors(f64).dtype == np.float32
    sift8u = to_image_features(kps, np.full((3, 4), 7, np.uint8), (10, 10), 0, cv2.NORM_L2)
    assert _descriptors(sift8u).dtype == np.float32  # uint8 would make the matcher use Hamming
    binary = to_image_features(kps, np.full((3, 4), 7, np.uint8), (10, 10), 0, cv2.NORM_HAMMING2)
    assert _descriptors(binary).dtype == np.uint8


def test_no_keypoints_gives_empty_features() -> None:
    features = to_image_features((), None, (16, 8), 1)
    assert features.keypoints == () and _descriptors(features) is None
    assert tuple(features.img_size) == (16, 8)


def test_bad_input_raises() -> None:
    kps = [cv2.KeyPoint(1.0, 1.0, 8.0)]
    with pytest.raises(TypeError, match="uint8"):
        to_image_features(kps, np.zeros((1, 32), np.float32), (10, 10), 0, cv2.NORM_HAMMING)
    with pytest.raises(ValueError, match="shape"):
        to_image_features(kps, np.zeros((2, 32), np.float32), (10, 10), 0)
    with pytest.raises(ValueError, match="no descriptors"):
        to_image_features(kps, None, (10, 10), 0)
    with pytest.raises(ValueError, match="img_idx"):
        to_image_features(kps, np.zeros((1, 4), np.float32), (10, 10), -1)
    with pytest.raises(ValueError, match="image_size"):
        to_image_features(kps, np.zeros((1, 4), np.float32), (0, 10), 0)
    with pytest.raises(TypeError, match="KeyPoint"):
        to_image_features([(1.0, 1.0)], np.zeros((1, 4), np.float32), (10, 10), 0)
    with pytest.raises(TypeError, match="detectAndCompute"):
        image_features(object(), np.zeros((8, 8), np.uint8), 0)
    with pytest.raises(ValueError, match="image"):
        image_features(cvlearned.create("orb"), np.zeros((0, 8), np.uint8), 0)
    with pytest.raises(ValueError, match="non-empty"):
        compute_image_features(cvlearned.create("orb"), [])
    with pytest.raises(ValueError, match="masks"):
        compute_image_features(cvlearned.create("orb"), [np.zeros((8, 8), np.uint8)], masks=[None, None])


def test_list_variant_indices_and_masks(photo_bgr: np.ndarray) -> None:
    mask = np.zeros(photo_bgr.shape[:2], np.uint8)
    mask[:, 160:] = 255
    features = compute_image_features(cvlearned.create("sift"), [photo_bgr, photo_bgr], masks=[None, mask])
    assert [f.img_idx for f in features] == [0, 1]
    assert len(features[1].keypoints) < len(features[0].keypoints)
    assert min(kp.pt[0] for kp in features[1].keypoints) >= 159.0


@pytest.mark.parametrize(
    "make, tol_px",
    [(lambda: cvlearned.create("sift"), 1.0), (lambda: cvlearned.create("orb"), 5.0 if OPENCV_MAJOR >= 5 else 8.0),
     (cv2.SIFT_create, 1.0)],
    ids=["sift", "orb", "cv2-sift"],
)
def test_best_of_2_nearest_matcher_recovers_homography(homography_pair, make, tol_px: float) -> None:
    """End to end through OpenCV's C++ matcher (float32 → KD-tree, uint8 → LSH).

    Measured corner errors on this pair: sift 0.15 px, orb 2.2 px with OpenCV 5.1 and
    6.9 px with 4.8.1 (the same ORB features: OpenCV's LSH index and RANSAC differ).
    """
    image0, image1, H = homography_pair
    features = compute_image_features(make(), [image0, image1])
    pairwise = cv2.detail_BestOf2NearestMatcher(False, 0.3).apply2(features)
    info = pairwise[1]  # (src 0, dst 1); pairwise is indexed i * n + j
    assert (info.src_img_idx, info.dst_img_idx) == (0, 1)
    assert info.num_inliers > 50
    # the matcher's H works on image-centred coordinates
    h, w = image0.shape[:2]
    centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    H_est = np.linalg.inv(centre) @ info.H @ centre
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64).reshape(-1, 1, 2)
    err = np.abs(cv2.perspectiveTransform(corners, H_est) - cv2.perspectiveTransform(corners, H)).max()
    assert err < tol_px
