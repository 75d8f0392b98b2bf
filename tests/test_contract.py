"""The Feature2D contract, tested once for every registered feature (learned ones join
automatically when they register)."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import torch

import cvlearned
from empty_result import assert_empty_result

FEATURES = cvlearned.list_features()
_DTYPES = {cv2.CV_32F: np.float32, cv2.CV_8U: np.uint8}


@pytest.fixture(scope="module", params=FEATURES)
def feature(request: pytest.FixtureRequest) -> cvlearned.Feature2D:
    return cvlearned.create(request.param)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """The registered name of the test's ``feature``."""
    return request.node.callspec.params["feature"]


def _kp_array(keypoints) -> np.ndarray:
    return np.array([kp.pt for kp in keypoints], float).reshape(-1, 2)


def _same(result_a, result_b) -> bool:
    (ka, da), (kb, db) = result_a, result_b
    if len(ka) != len(kb):
        return False
    if da is None or db is None or len(ka) == 0:
        return (da is None) == (db is None) and np.shape(da) == np.shape(db)
    return np.array_equal(_kp_array(ka), _kp_array(kb)) and np.array_equal(da, db)


def _close(result_a, result_b) -> bool:
    """:func:`_same` within float rounding: the list form of ``detectAndCompute`` runs network
    features in batches (README: same keypoints, positions within 1e-3 px, descriptors within 1e-5)."""
    (ka, da), (kb, db) = result_a, result_b
    if len(ka) != len(kb) or da is None or db is None or len(ka) == 0:
        return _same(result_a, result_b)
    return np.allclose(_kp_array(ka), _kp_array(kb), rtol=0, atol=1e-3) and np.allclose(da, db, rtol=0, atol=1e-5)


# ------------------------------------------------------------------ smoke / types
def test_detect_and_compute_types(feature, photo_bgr):
    keypoints, desc = feature.detectAndCompute(photo_bgr, None)
    assert isinstance(keypoints, tuple) and len(keypoints) > 20
    assert all(isinstance(kp, cv2.KeyPoint) for kp in keypoints)
    assert isinstance(desc, np.ndarray) and desc.flags["C_CONTIGUOUS"]
    assert desc.shape == (len(keypoints), feature.descriptorSize())
    assert desc.dtype == _DTYPES[feature.descriptorType()]
    assert feature.defaultNorm() in (cv2.NORM_L2, cv2.NORM_HAMMING)
    assert feature.getDefaultName().startswith("Feature2D.")
    assert not feature.empty()


def test_keypoint_semantics(feature, photo_bgr):
    keypoints = feature.detect(photo_bgr)
    h, w = photo_bgr.shape[:2]
    pts = _kp_array(keypoints)
    assert (pts >= -0.5).all() and (pts[:, 0] <= w - 0.5).all() and (pts[:, 1] <= h - 0.5).all()
    for kp in keypoints:
        assert kp.size > 0
        assert kp.angle == -1 or 0 <= kp.angle < 360


def test_blank_image_gives_what_opencv_gives(feature, name):
    blank = np.full((120, 160), 128, np.uint8)
    assert feature.detect(blank) == ()
    assert_empty_result(feature.detectAndCompute(blank, None), name, feature)
    assert_empty_result(feature.compute(blank, []), name, feature)


def test_mask_is_honoured(feature, photo_gray):
    mask = np.zeros_like(photo_gray)
    mask[:, : photo_gray.shape[1] // 2] = 255
    keypoints, desc = feature.detectAndCompute(photo_gray, mask)
    assert len(keypoints) > 0 and desc is not None
    pts = _kp_array(keypoints)
    assert (pts[:, 0] <= photo_gray.shape[1] // 2 + 1).all()


def test_deterministic(feature, photo_bgr):
    assert _same(feature.detectAndCompute(photo_bgr, None), feature.detectAndCompute(photo_bgr, None))


def test_color_and_gray_agree(feature, photo_bgr, photo_gray):
    bgra = cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2BGRA)
    reference = feature.detectAndCompute(photo_gray, None)
    assert _same(reference, feature.detectAndCompute(photo_bgr, None))
    assert _same(reference, feature.detectAndCompute(bgra, None))
    assert _same(reference, feature.detectAndCompute(photo_gray[:, :, None], None))


def test_uint16_and_float_follow_the_documented_rule(feature, photo_gray):
    reference = feature.detectAndCompute(photo_gray, None)
    assert _same(reference, feature.detectAndCompute(photo_gray.astype(np.uint16) * 257, None))
    assert _same(reference, feature.detectAndCompute(photo_gray.astype(np.float32) / 255.0, None))
    assert _same(reference, feature.detectAndCompute(torch.from_numpy(photo_gray)[None].float() / 255.0, None))


def test_list_variants(feature, photo_bgr, photo_gray):
    detected = feature.detect([photo_bgr, photo_gray])
    assert isinstance(detected, tuple) and len(detected) == 2
    half = np.zeros(photo_gray.shape, np.uint8)
    half[:, :160] = 255
    masked = feature.detect([photo_bgr, photo_gray], masks=[half, None])
    assert len(masked[0]) < len(detected[0]) and len(masked[1]) == len(detected[1])
    assert all(isinstance(k, tuple) for k in detected)
    keypoints, descriptors = feature.compute([photo_bgr, photo_gray], detected)
    assert len(keypoints) == len(descriptors) == 2
    assert all(d.shape[0] == len(k) for k, d in zip(keypoints, descriptors))
    both = feature.detectAndCompute([photo_bgr, photo_gray], [half, None])
    assert _close((both[0][0], both[1][0]), feature.detectAndCompute(photo_bgr, half))
    assert _close((both[0][1], both[1][1]), feature.detectAndCompute(photo_gray, None))
    with pytest.raises(ValueError, match="one entry per image"):
        feature.detectAndCompute([photo_bgr, photo_gray], [half])


# ------------------------------------------------------------ OpenCV interop
def test_bfmatcher_and_flann_accept_descriptors(feature, homography_pair):
    image0, image1, _ = homography_pair
    _, desc0 = feature.detectAndCompute(image0, None)
    _, desc1 = feature.detectAndCompute(image1, None)
    matcher = cv2.BFMatcher(feature.defaultNorm())
    assert len(matcher.match(desc0, desc1)) > 0
    assert all(len(m) <= 2 for m in matcher.knnMatch(desc0, desc1, k=2))
    if feature.descriptorType() == cv2.CV_32F:
        flann = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 32})
    else:
        flann = cv2.FlannBasedMatcher({"algorithm": 6, "table_number": 6, "key_size": 12, "multi_probe_level": 1}, {})
    assert len(flann.knnMatch(desc0, desc1, k=2)) > 0


def test_drawing_functions(feature, homography_pair):
    image0, image1, _ = homography_pair
    k0, d0 = feature.detectAndCompute(image0, None)
    k1, d1 = feature.detectAndCompute(image1, None)
    matches = cv2.BFMatcher(feature.defaultNorm(), crossCheck=True).match(d0, d1)
    assert cv2.drawKeypoints(image0, k0, None).shape == image0.shape
    canvas = cv2.drawMatches(image0, k0, image1, k1, matches[:20], None)
    assert canvas.shape[1] == image0.shape[1] + image1.shape[1]


@pytest.mark.parametrize("source", ["fast", "sift"])
def test_compute_on_another_detectors_keypoints(feature, photo_gray, source):
    if source == "fast":  # no octave / class_id, one size
        fast = cv2.FastFeatureDetector_create(30).detect(photo_gray)
        keypoints = [cv2.KeyPoint(kp.pt[0], kp.pt[1], 16.0) for kp in fast[:200]]
    else:  # OpenCV SIFT's own: packed octave field, sizes from ~2 px up
        keypoints = list(cv2.SIFT_create(300).detect(photo_gray, None))
    kept, desc = feature.compute(photo_gray, keypoints)
    assert 0.5 * len(keypoints) <= len(kept) <= len(keypoints)
    assert desc.shape == (len(kept), feature.descriptorSize())
    if desc.dtype != np.uint8:
        assert np.isfinite(desc).all()


@pytest.mark.parametrize("name", [*cvlearned.list_features("learned"), "daisy"])
def test_compute_gives_no_location_twin_descriptors(name, photo_gray):
    """SIFT repeats a location for each orientation peak; a descriptor that ignores the angle
    must keep one of them, or the twin makes every ratio test at that location fail. (The
    other classical wrappers describe exactly what OpenCV does: BRISK gives such twins.)"""
    feature = cvlearned.create(name)
    keypoints = list(cv2.SIFT_create(300).detect(photo_gray, None))
    assert len({kp.pt for kp in keypoints}) < len(keypoints)  # the photo has such twins
    kept, desc = feature.compute(photo_gray, keypoints)
    seen: dict[tuple[float, float], list[int]] = {}
    for i, kp in enumerate(kept):
        seen.setdefault(kp.pt, []).append(i)
    for rows in seen.values():
        assert len({desc[i].tobytes() for i in rows}) == len(rows)


def test_find_homography_recovers_the_warp(feature, homography_pair):
    image0, image1, H = homography_pair
    k0, d0 = feature.detectAndCompute(image0, None)
    k1, d1 = feature.detectAndCompute(image1, None)
    matches = cv2.BFMatcher(feature.defaultNorm(), crossCheck=True).match(d0, d1)
    src = np.float32([k0[m.queryIdx].pt for m in matches])
    dst = np.float32([k1[m.trainIdx].pt for m in matches])
    H_est, _ = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    assert H_est is not None
    h, w = image0.shape[:2]
    corners = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]).reshape(-1, 1, 2)
    error = np.linalg.norm(cv2.perspectiveTransform(corners, H_est) - cv2.perspectiveTransform(corners, H), axis=2)
    assert error.mean() < 3.0


# ----------------------------------------------------------- config / persistence
def test_unknown_parameter_lists_valid_ones(feature):
    name = feature.getDefaultName().split(".")[-1].lower()
    with pytest.raises(TypeError, match="valid parameters"):
        cvlearned.create(name, no_such_parameter=1)


@pytest.mark.parametrize("fmt", ["yml", "xml", "json"])
def test_write_read_round_trip(feature, tmp_path, fmt):
    name = feature.getDefaultName().split(".")[-1].lower()
    changed = cvlearned.create(name, max_side=1234)
    path = str(tmp_path / f"params.{fmt}")
    changed.write(path)
    restored = cvlearned.create(name)
    restored.read(path)
    assert restored.getParams() == changed.getParams()
    fs = cv2.FileStorage(str(tmp_path / "nested.yml"), cv2.FILE_STORAGE_WRITE)
    changed.write(fs, "feature")
    fs.release()
    fs = cv2.FileStorage(str(tmp_path / "nested.yml"), cv2.FILE_STORAGE_READ)
    other = cvlearned.create(name)
    other.read(fs.getNode("feature"))
    assert other.getParams() == changed.getParams()


def test_max_side_maps_keypoints_back(feature, photo_bgr):
    small = cvlearned.create(feature.getDefaultName().split(".")[-1].lower(), max_side=160)
    keypoints, desc = small.detectAndCompute(photo_bgr, None)
    assert len(keypoints) > 0 and desc.shape[0] == len(keypoints)
    pts = _kp_array(keypoints)
    assert pts[:, 0].max() > 160  # in original (320 px wide) coordinates


def test_thread_safety(feature, photo_bgr):
    reference = feature.detectAndCompute(photo_bgr, None)
    results: list = [None] * 8

    def work(i: int) -> None:
        results[i] = feature.detectAndCompute(photo_bgr, None)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(_same(reference, r) for r in results)


# -------------------------------------------------------------- bad input
BAD_IMAGES = [
    (None, ValueError),
    (np.zeros((0, 0), np.uint8), ValueError),
    (np.zeros((10,), np.uint8), ValueError),
    (np.zeros((8, 8, 2), np.uint8), ValueError),
    (np.zeros((4, 8, 8, 3), np.uint8), ValueError),
    (np.zeros((16, 16), bool), TypeError),
    (np.zeros((16, 16), np.int32), TypeError),
    (np.full((16, 16), np.nan, np.float32), ValueError),
    (np.full((16, 16), 200.0, np.float32), ValueError),
    ("image.png", TypeError),
]


@pytest.mark.parametrize("image,error", BAD_IMAGES, ids=[f"bad{i}" for i in range(len(BAD_IMAGES))])
def test_bad_images_raise_clear_errors(feature, image, error):
    with pytest.raises(error):
        feature.detectAndCompute(image, None)
    with pytest.raises(error):
        feature.detect(image)


def test_bad_masks_and_keypoints(feature, photo_gray):
    with pytest.raises(ValueError, match="shape"):
        feature.detect(photo_gray, np.ones((10, 10), np.uint8))
    with pytest.raises(TypeError):
        feature.detect(photo_gray, np.ones(photo_gray.shape, np.float32))
    with pytest.raises(TypeError):
        feature.compute(photo_gray, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError):
        feature.compute(photo_gray, [cv2.KeyPoint(float("nan"), 1.0, 5.0)])


def test_tiny_images_work(feature, name):
    for shape in [(1, 1), (3, 5), (7, 7), (1, 64), (64, 1), (5, 200), (200, 5)]:
        assert_empty_result(feature.detectAndCompute(np.full(shape, 90, np.uint8), None), name, feature)
