"""ONNX export of the learned matcher: OpenCV 5.1's cv2.LightGlueMatcher and onnxruntime
return PyTorch's matches on generated pairs (random-initialised network)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from cvlearned.adapters.onnx_matcher import export_matcher_onnx, run_onnxruntime  # noqa: E402
from cvlearned.matchers.config import LightGlueConfig  # noqa: E402
from cvlearned.matchers.learned import LightGlueMatcher  # noqa: E402
from cvlearned.matchers.lightglue import LightGlueNet  # noqa: E402

HAS_LIGHTGLUE = hasattr(cv2, "LightGlueMatcher_create")
SIZE0, SIZE1 = (640, 480), (500, 700)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[LightGlueMatcher, str]:
    torch.manual_seed(3)
    config = LightGlueConfig(filter_threshold=0.0, depth_confidence=-1, width_confidence=-1)
    matcher = LightGlueMatcher(LightGlueNet(config), "sift")
    path = tmp_path_factory.mktemp("onnx") / "lightglue-lite-sift.onnx"
    return matcher, str(export_matcher_onnx(matcher, path))


def _pair(n: int, m: int, seed: int):
    rng = np.random.default_rng(seed)
    p0 = (rng.random((n, 2)) * SIZE0).astype(np.float32)
    p1 = (rng.random((m, 2)) * SIZE1).astype(np.float32)
    d0 = rng.random((n, 128)).astype(np.float32)
    d1 = rng.random((m, 128)).astype(np.float32)
    shared = min(n, m) // 2
    d1[:shared] = d0[:shared] + 0.05 * rng.random((shared, 128)).astype(np.float32)
    return p0, d0, p1, d1


def _triples(matches: list[cv2.DMatch]) -> tuple[list[tuple[int, int]], np.ndarray]:
    return [(m.queryIdx, m.trainIdx) for m in matches], np.array([m.distance for m in matches])


@pytest.mark.skipif(not HAS_LIGHTGLUE, reason="cv2.LightGlueMatcher needs OpenCV >= 5.1")
@pytest.mark.parametrize("n, m, seed", [(60, 70, 0), (300, 200, 1), (5, 9, 2)])
def test_opencv_lightglue_matcher_equals_pytorch(exported, n, m, seed):
    matcher, path = exported
    p0, d0, p1, d1 = _pair(n, m, seed)
    ours = matcher.match(p0, d0, p1, d1, SIZE0, SIZE1)
    assert ours, "the generated pair should give matches"
    opencv = cv2.LightGlueMatcher_create(path)
    opencv.setPairInfo(p0, p1, SIZE0, SIZE1)
    theirs = opencv.match(d0, d1)
    assert _triples(theirs)[0] == _triples(ours)[0]
    np.testing.assert_allclose(_triples(theirs)[1], _triples(ours)[1], atol=1e-5)


@pytest.mark.skipif(not HAS_LIGHTGLUE, reason="cv2.LightGlueMatcher needs OpenCV >= 5.1")
def test_opencv_score_threshold_and_normalised_points(exported):
    matcher, path = exported
    p0, d0, p1, d1 = _pair(80, 90, 4)
    ours = matcher.match(p0, d0, p1, d1, SIZE0, SIZE1)
    threshold = float(np.median([1 - m.distance for m in ours]))
    opencv = cv2.LightGlueMatcher_create(path, threshold)
    opencv.setPairInfo(p0 / np.float32(SIZE0) * 2 - 1, p1 / np.float32(SIZE1) * 2 - 1)  # empty sizes: normalised
    kept = [(m.queryIdx, m.trainIdx) for m in ours if 1 - m.distance >= threshold]
    assert _triples(opencv.match(d0, d1))[0] == kept


def test_onnxruntime_equals_pytorch(exported):
    matcher, path = exported
    p0, d0, p1, d1 = _pair(120, 100, 5)
    pairs, scores = run_onnxruntime(path, p0 / np.float32(SIZE0) * 2 - 1, p1 / np.float32(SIZE1) * 2 - 1, d0, d1)
    ours = matcher.match(p0, d0, p1, d1, SIZE0, SIZE1)
    assert [tuple(p) for p in pairs.tolist()] == _triples(ours)[0]
    np.testing.assert_allclose(1 - scores, _triples(ours)[1], atol=1e-5)


def test_export_refuses_what_opencv_cannot_run(tmp_path):
    matcher = LightGlueMatcher(LightGlueNet(LightGlueConfig(scale_orientation=True)), "sift")
    with pytest.raises(ValueError, match=r"passes \(x, y\) only"):
        export_matcher_onnx(matcher, tmp_path / "x.onnx")
    with pytest.raises(TypeError, match="needs a LightGlueMatcher"):
        export_matcher_onnx(object(), tmp_path / "x.onnx")


@pytest.mark.skipif(not HAS_LIGHTGLUE, reason="cv2.LightGlueMatcher needs OpenCV >= 5.1")
def test_opencv_stitching_matcher_runs_the_file(exported, homography_pair):
    matcher, path = exported
    image0, image1, _ = homography_pair
    sift = cv2.SIFT_create(300)
    features0, features1 = (cv2.detail.computeImageFeatures2(sift, image) for image in (image0, image1))
    info = cv2.detail_LightGlueFeaturesMatcher(cv2.LightGlueMatcher_create(path)).apply(features0, features1)
    ours = matcher.match(features0.getKeypoints(), features0.descriptors, features1.getKeypoints(),
                         features1.descriptors, features0.img_size, features1.img_size)
    assert ours and sorted(_triples(info.matches)[0]) == _triples(ours)[0]
